import { copySwitches, type EmulatorContext } from './context.js';
import { REFRESH_REFUSAL_CODES, SeedError, type Switches } from './seed.js';

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string');
}

/** Applies a partial switch update after checking each value, so a typo fails loudly. */
export function updateSwitches(ctx: EmulatorContext, patch: Partial<Switches>): Switches {
  const next = { ...ctx.switches, ...patch };
  if (!Number.isInteger(next.groupsOverageLimit) || next.groupsOverageLimit < 0) {
    throw new SeedError('groupsOverageLimit must be a non-negative integer');
  }
  if (!isStringList(next.mfaChallengeUsers)) {
    throw new SeedError('mfaChallengeUsers must be an array of userName, UPN or object id strings');
  }
  if (!['reject', 'ignore', 'match'].includes(next.resourceParameter)) {
    throw new SeedError("resourceParameter must be 'reject', 'ignore' or 'match'");
  }
  if (typeof next.clockOffsetSeconds !== 'number' || !Number.isFinite(next.clockOffsetSeconds)) {
    throw new SeedError('clockOffsetSeconds must be a number');
  }
  if (!isStringList(next.refreshRefusalUsers)) {
    throw new SeedError('refreshRefusalUsers must be an array of userName, UPN or object id strings');
  }
  if (!isStringList(next.disabledUsers)) {
    throw new SeedError('disabledUsers must be an array of userName, UPN or object id strings');
  }
  if (!REFRESH_REFUSAL_CODES.includes(next.refreshRefusalCode)) {
    throw new SeedError(`refreshRefusalCode must be one of ${REFRESH_REFUSAL_CODES.join(', ')}`);
  }
  Object.assign(ctx.switches, copySwitches(next));
  // The policy applies to sign-ins made before it was set; later sign-ins satisfy it.
  if ('refreshRefusalUsers' in patch || 'refreshRefusalCode' in patch) ctx.refreshRefusalSince = ctx.now();
  return copySwitches(ctx.switches);
}
