import type { EphemeralStore } from '../storage/contract.js';

/**
 * Brute-force protection for a local login (DESIGN §2 Operations): after a failure the next
 * attempt must wait 1, 2, 4, then 8 seconds, and the fifth failure locks for 5 minutes. It is
 * counted per account AND per IP address (an attempt must be allowed by both, and a failure counts
 * against both), in the ephemeral store, so every instance sees the same state through Redis.
 *
 * The delay is enforced by refusing an attempt that comes too early, never by sleeping on the
 * server: a sleeping request would hold a connection per attempt, and many of them would be a
 * cheaper attack than the guessing they slow down. A refused attempt is not checked against the
 * password and does not count as a failure; its answer says when to come back.
 */

/** Seconds the next attempt must wait after 0, 1, 2, 3 and 4 failures. */
export const DELAYS_SECONDS = [0, 1, 2, 4, 8] as const;
/** The failure that locks. */
export const LOCK_AFTER_FAILURES = 5;
export const LOCKOUT_MS = 5 * 60_000;
/** Failures older than this (with no lock) are forgotten: a typo last week costs nothing today. */
export const FORGET_AFTER_MS = 15 * 60_000;

/** The state of one account or address. `generation` changes on every reset, so claims of an old state never match a new one. */
export interface ThrottleState {
  generation: number;
  failures: number;
  /** Epoch ms of the last failure (0 when none). */
  lastFailureAt: number;
  /** Epoch ms until which attempts are refused (0 when not locked). */
  lockedUntil: number;
}

export type Assessment =
  | { kind: 'open'; state: ThrottleState }
  | { kind: 'wait'; locked: boolean; until: number };

const FRESH: ThrottleState = { generation: 0, failures: 0, lastFailureAt: 0, lockedUntil: 0 };

/** Whether an attempt may be made now, and from which state (a lock or old failures that ended reset it). */
export function assess(state: ThrottleState | undefined, now: number): Assessment {
  if (state === undefined) return { kind: 'open', state: FRESH };
  if (state.lockedUntil > now) return { kind: 'wait', locked: true, until: state.lockedUntil };
  if (state.lockedUntil > 0 || (state.failures > 0 && now - state.lastFailureAt >= FORGET_AFTER_MS))
    return { kind: 'open', state: reset(state) };
  const delay = DELAYS_SECONDS[Math.min(state.failures, DELAYS_SECONDS.length - 1)] as number;
  const allowedAt = state.lastFailureAt + delay * 1000;
  if (state.failures > 0 && now < allowedAt) return { kind: 'wait', locked: false, until: allowedAt };
  return { kind: 'open', state };
}

export function afterFailure(state: ThrottleState, now: number): ThrottleState {
  const failures = state.failures + 1;
  return {
    generation: state.generation,
    failures,
    lastFailureAt: now,
    lockedUntil: failures >= LOCK_AFTER_FAILURES ? now + LOCKOUT_MS : 0,
  };
}

export function reset(state: ThrottleState): ThrottleState {
  return { ...FRESH, generation: state.generation + 1 };
}

export type ThrottleOutcome =
  | { outcome: 'success' | 'wrong-credentials' }
  | { outcome: 'too-early' | 'locked'; retryAfterSeconds: number };

/** A claim on one state outlives any attempt's password check; it only guards against a crash mid-attempt. */
const CLAIM_TTL_MS = 60_000;
/** States are kept (real time) as long as they can matter: forgotten failures, then a lock. */
const STATE_TTL_MS = FORGET_AFTER_MS + LOCKOUT_MS;

export class LoginThrottle {
  private readonly now: () => number;
  private readonly prefix: string;

  constructor(
    private readonly store: EphemeralStore,
    options: { now?: () => number; prefix?: string } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.prefix = options.prefix ?? 'login-throttle:';
  }

  /**
   * Runs `verify` when both the account and the address allow an attempt now, and records its
   * result against both. Of concurrent attempts on the same state (on any instance) only one is
   * verified — each claims its state atomically first — so parallel guesses gain nothing.
   */
  async attempt(
    keys: { account: string; ip: string },
    verify: () => Promise<boolean>,
  ): Promise<ThrottleOutcome> {
    const now = this.now();
    const names = [`${this.prefix}account:${keys.account}`, `${this.prefix}ip:${keys.ip}`];
    const states = await Promise.all(names.map((name) => this.read(name)));
    const assessed = states.map((state) => assess(state, now));

    const waits = assessed.filter(
      (item): item is Extract<Assessment, { kind: 'wait' }> => item.kind === 'wait',
    );
    if (waits.length > 0) {
      const locked = waits.filter((item) => item.locked);
      const until = Math.max(...(locked.length > 0 ? locked : waits).map((item) => item.until));
      return {
        outcome: locked.length > 0 ? 'locked' : 'too-early',
        retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)),
      };
    }
    const open = assessed.map((item) => (item as Extract<Assessment, { kind: 'open' }>).state);

    const claims = names.map((name, index) => {
      const state = open[index] as ThrottleState;
      return `${name}:claim:${state.generation}:${state.failures}`;
    });
    const won = await Promise.all(claims.map((claim) => this.store.setIfAbsent(claim, '1', CLAIM_TTL_MS)));
    if (won.some((claimed) => !claimed)) {
      // Another attempt on the same state is being checked: this one comes too early for it.
      await Promise.all(claims.filter((_, index) => won[index]).map((claim) => this.store.delete(claim)));
      return { outcome: 'too-early', retryAfterSeconds: 1 };
    }

    const ok = await verify();
    const checkedAt = this.now();
    await Promise.all(
      names.map((name, index) => {
        const state = open[index] as ThrottleState;
        const next = ok ? reset(state) : afterFailure(state, checkedAt);
        return this.store.set(name, JSON.stringify(next), STATE_TTL_MS);
      }),
    );
    return { outcome: ok ? 'success' : 'wrong-credentials' };
  }

  private async read(name: string): Promise<ThrottleState | undefined> {
    const text = await this.store.get(name);
    if (text === undefined) return undefined;
    try {
      const value = JSON.parse(text) as Partial<ThrottleState>;
      if (
        typeof value.generation === 'number' &&
        typeof value.failures === 'number' &&
        typeof value.lastFailureAt === 'number' &&
        typeof value.lockedUntil === 'number'
      )
        return value as ThrottleState;
    } catch {
      // An unreadable state is treated as none; the next attempt's result replaces it.
    }
    return undefined;
  }
}
