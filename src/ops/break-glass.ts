import { createHash, timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../errors/index.js';
import type { EphemeralStore } from '../storage/contract.js';
import type { AuditSink } from './audit.js';
import { LoginThrottle } from './login-throttle.js';
import { type PasswordHash, parsePasswordHash, verifyPassword } from './password-hash.js';

export { hashPassword, parsePasswordHash, verifyPassword } from './password-hash.js';

export type BreakGlassResult =
  | { ok: true }
  | { ok: false; code: ErrorCode; message: string; retryAfterSeconds?: number };

export interface BreakGlassLogin {
  /** The configured user name (GATEHOUSE_ADMIN_USERNAME). */
  readonly username: string;
  /**
   * What the login form calls with what was typed. Every attempt is audited (auth.break-glass).
   * A refusal by the throttle (`GH_BREAK_GLASS_TOO_EARLY`, `GH_BREAK_GLASS_LOCKED`) carries
   * retryAfterSeconds: answer it with 429 and Retry-After. Wrong credentials are one answer,
   * whichever of the two was wrong.
   */
  checkBreakGlassLogin(input: {
    username: string;
    password: string;
    ip: string;
    requestId?: string;
  }): Promise<BreakGlassResult>;
}

/**
 * The break-glass administrator, for when Entra ID is unavailable: on only when
 * GATEHOUSE_ADMIN_PASSWORD_HASH is set (undefined otherwise, so there is no login to attack).
 */
export function createBreakGlassLogin(options: {
  config: { username: string; passwordHash: string | undefined };
  store: EphemeralStore;
  audit: AuditSink;
  /** The clock the throttle counts delays and lockouts with. */
  now?: () => number;
}): BreakGlassLogin | undefined {
  const { config, audit } = options;
  if (config.passwordHash === undefined) return undefined;
  const stored = parsePasswordHash(config.passwordHash);
  // The configuration was validated at start; a hash that does not parse here is a programming error.
  if (stored === undefined) throw new Error('GATEHOUSE_ADMIN_PASSWORD_HASH is not a valid password hash');
  const throttle = new LoginThrottle(options.store, {
    ...(options.now ? { now: options.now } : {}),
    prefix: 'break-glass:',
  });
  const expectedName = digest(config.username);

  return {
    username: config.username,
    async checkBreakGlassLogin(input) {
      const outcome = await throttle.attempt(
        { account: digest(input.username.trim().toLowerCase()).toString('hex').slice(0, 32), ip: input.ip },
        () => credentialsMatch(input.username, input.password, expectedName, stored),
      );
      audit.emit({
        type: 'auth.break-glass',
        at: new Date().toISOString(),
        requestId: input.requestId ?? null,
        username: input.username.slice(0, 200),
        ip: input.ip,
        outcome: outcome.outcome,
        retryAfterSeconds: 'retryAfterSeconds' in outcome ? outcome.retryAfterSeconds : null,
      });
      switch (outcome.outcome) {
        case 'success':
          return { ok: true };
        case 'wrong-credentials':
          return {
            ok: false,
            code: 'GH_BREAK_GLASS_INVALID_CREDENTIALS',
            message: 'The user name or the password is wrong.',
          };
        case 'too-early':
          return {
            ok: false,
            code: 'GH_BREAK_GLASS_TOO_EARLY',
            message: `Wait ${outcome.retryAfterSeconds} s before the next attempt: each failed login makes the next one wait longer (1, 2, 4, 8 s), and 5 failures lock the login for 5 minutes.`,
            retryAfterSeconds: outcome.retryAfterSeconds,
          };
        case 'locked':
          return {
            ok: false,
            code: 'GH_BREAK_GLASS_LOCKED',
            message: `Too many failed logins: the login is locked for this account or address for ${outcome.retryAfterSeconds} s more (5 failures lock it for 5 minutes).`,
            retryAfterSeconds: outcome.retryAfterSeconds,
          };
      }
    },
  };
}

/**
 * The password is checked whatever the user name, so a wrong name costs the same time as a wrong
 * password; both comparisons take the same time wherever the values differ.
 */
async function credentialsMatch(
  username: string,
  password: string,
  expectedName: Buffer,
  stored: PasswordHash,
): Promise<boolean> {
  const passwordOk = await verifyPassword(password, stored);
  const nameOk = timingSafeEqual(digest(username), expectedName);
  return passwordOk && nameOk;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text.normalize('NFC')).digest();
}
