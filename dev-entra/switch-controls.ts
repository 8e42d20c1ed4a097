import type { EmulatorContext } from './context.js';
import { SeedError, type Switches } from './seed.js';

/** Applies a partial switch update after checking each value, so a typo fails loudly. */
export function updateSwitches(ctx: EmulatorContext, patch: Partial<Switches>): Switches {
  const next = { ...ctx.switches, ...patch };
  if (!Number.isInteger(next.groupsOverageLimit) || next.groupsOverageLimit < 0) {
    throw new SeedError('groupsOverageLimit must be a non-negative integer');
  }
  if (!Array.isArray(next.mfaChallengeUsers) || next.mfaChallengeUsers.some((u) => typeof u !== 'string')) {
    throw new SeedError('mfaChallengeUsers must be an array of userName, UPN or object id strings');
  }
  if (!['reject', 'ignore', 'match'].includes(next.resourceParameter)) {
    throw new SeedError("resourceParameter must be 'reject', 'ignore' or 'match'");
  }
  if (typeof next.clockOffsetSeconds !== 'number' || !Number.isFinite(next.clockOffsetSeconds)) {
    throw new SeedError('clockOffsetSeconds must be a number');
  }
  Object.assign(ctx.switches, next, { mfaChallengeUsers: [...next.mfaChallengeUsers] });
  return { ...ctx.switches };
}
