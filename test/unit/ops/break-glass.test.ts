import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEvent, MemoryAuditSink } from '../../../src/ops/audit.js';
import { type BreakGlassLogin, createBreakGlassLogin, hashPassword } from '../../../src/ops/break-glass.js';
import { parsePasswordHash, verifyPassword } from '../../../src/ops/password-hash.js';
import type { EphemeralStore } from '../../../src/storage/contract.js';
import { createRedisEphemeralStore } from '../../../src/storage/redis/index.js';
import { createTestRedisPrefix, TEST_REDIS_URL } from '../../helpers/services.js';

// DESIGN §2 Operations: local-login brute-force protection — progressive delay 0, 1, 2, 4, 8 s and
// a lockout after 5 failures for 5 minutes, per account and per IP, shared through Redis.
// The clock is the test's: no assertion waits for real time.
const PASSWORD = 'correct horse battery staple';
const CHEAP = { ln: 10, r: 8, p: 1 };

describe('password hashes for the break-glass administrator', () => {
  it('are self-describing scrypt strings that verify only the password they were made from', async () => {
    const hash = await hashPassword(PASSWORD, CHEAP);
    expect(hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const parsed = parsePasswordHash(hash);
    expect(parsed).toBeDefined();
    expect(await verifyPassword(PASSWORD, parsed!)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}!`, parsed!)).toBe(false);
    // A fresh salt each time.
    expect(await hashPassword(PASSWORD, CHEAP)).not.toBe(hash);
  });

  it('refuses strings that are not such a hash, or ask for absurd costs', () => {
    expect(parsePasswordHash('hunter2')).toBeUndefined();
    expect(parsePasswordHash('$2b$10$abcdefghijklmnopqrstuv')).toBeUndefined();
    expect(parsePasswordHash(`$scrypt$ln=31,r=8,p=1$${'A'.repeat(22)}$${'A'.repeat(43)}`)).toBeUndefined();
  });
});

describe('the break-glass login and its throttle', () => {
  const redis = createTestRedisPrefix();
  const stores: EphemeralStore[] = [];
  let hash: string;
  let clock = 1_800_000_000_000;
  const now = () => clock;

  const instance = (audit = new MemoryAuditSink()) => {
    // Each instance its own Redis connection, as two Gatehouse processes would have.
    const store = createRedisEphemeralStore({ url: TEST_REDIS_URL, keyPrefix: redis.prefix });
    stores.push(store);
    const login = createBreakGlassLogin({
      config: { username: 'admin', passwordHash: hash },
      store,
      audit,
      now,
    }) as BreakGlassLogin;
    return { login, audit };
  };

  beforeAll(async () => {
    hash = await hashPassword(PASSWORD, CHEAP);
  });
  // An hour on: whatever an earlier test left (failures, locks) is forgotten or over.
  beforeEach(() => {
    clock += 60 * 60_000;
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await redis.cleanup();
  });

  it('is off without a password hash', () => {
    expect(
      createBreakGlassLogin({
        config: { username: 'admin', passwordHash: undefined },
        store: {} as EphemeralStore,
        audit: new MemoryAuditSink(),
      }),
    ).toBeUndefined();
  });

  it('lets the right credentials in, and answers a wrong name or password alike', async () => {
    const { login } = instance();
    expect(
      await login.checkBreakGlassLogin({ username: 'admin', password: PASSWORD, ip: '192.0.2.1' }),
    ).toEqual({
      ok: true,
    });
    const wrongPassword = await login.checkBreakGlassLogin({
      username: 'admin',
      password: 'nope',
      ip: '192.0.2.1',
    });
    clock += 60_000;
    const wrongName = await login.checkBreakGlassLogin({
      username: 'root',
      password: PASSWORD,
      ip: '192.0.2.1',
    });
    expect(wrongPassword).toEqual({
      ok: false,
      code: 'GH_BREAK_GLASS_INVALID_CREDENTIALS',
      message: 'The user name or the password is wrong.',
    });
    expect(wrongName).toEqual(wrongPassword);
  });

  it('makes each attempt after a failure wait 1, 2, 4 and 8 s, then locks for 5 minutes after the fifth failure', async () => {
    const { login, audit } = instance();
    const attempt = (password = 'guess', ip = '192.0.2.10') =>
      login.checkBreakGlassLogin({ username: 'admin', password, ip, requestId: 'req-1' });

    const start = clock;
    expect((await attempt()).ok).toBe(false);
    const waited: number[] = [0];
    for (const expected of [1, 2, 4, 8]) {
      // One millisecond early: refused, saying how long to wait, and not counted as a failure.
      clock += expected * 1000 - 1;
      const early = await attempt(PASSWORD);
      expect(early).toMatchObject({ ok: false, code: 'GH_BREAK_GLASS_TOO_EARLY', retryAfterSeconds: 1 });
      clock += 1;
      const result = await attempt();
      expect(result).toMatchObject({ ok: false, code: 'GH_BREAK_GLASS_INVALID_CREDENTIALS' });
      waited.push(expected);
    }
    expect(waited).toEqual([0, 1, 2, 4, 8]);
    expect(clock - start).toBe(15_000);

    // Five failures: locked for 5 minutes, even with the right password.
    const locked = await attempt(PASSWORD);
    expect(locked).toEqual({
      ok: false,
      code: 'GH_BREAK_GLASS_LOCKED',
      message: expect.stringContaining('locked for this account or address for 300 s more'),
      retryAfterSeconds: 300,
    });
    clock += 5 * 60_000 - 1000;
    expect(await attempt(PASSWORD)).toMatchObject({ code: 'GH_BREAK_GLASS_LOCKED', retryAfterSeconds: 1 });
    clock += 1000;
    expect(await attempt(PASSWORD)).toEqual({ ok: true });

    const outcomes = audit.events
      .filter(
        (event): event is Extract<AuditEvent, { type: 'auth.break-glass' }> =>
          event.type === 'auth.break-glass',
      )
      .map((event) => event.outcome);
    expect(outcomes).toEqual([
      'wrong-credentials',
      ...Array(4).fill(['too-early', 'wrong-credentials']).flat(),
      'locked',
      'locked',
      'success',
    ]);
    expect(audit.events[0]).toMatchObject({
      type: 'auth.break-glass',
      requestId: 'req-1',
      username: 'admin',
      ip: '192.0.2.10',
      retryAfterSeconds: null,
    });
  });

  it('keeps a locked account locked on another instance sharing Redis', async () => {
    const first = instance();
    const second = instance();
    // Failures from five addresses: the account locks, whichever address tries next.
    for (let index = 1; index <= 5; index++) {
      const result = await first.login.checkBreakGlassLogin({
        username: 'admin',
        password: 'guess',
        ip: `198.51.100.${index}`,
      });
      expect(result.ok).toBe(false);
      clock += 8_000;
    }
    const elsewhere = await second.login.checkBreakGlassLogin({
      username: 'admin',
      password: PASSWORD,
      ip: '198.51.100.99',
    });
    expect(elsewhere).toMatchObject({ ok: false, code: 'GH_BREAK_GLASS_LOCKED' });
    expect(second.audit.events).toEqual([
      expect.objectContaining({ type: 'auth.break-glass', outcome: 'locked', ip: '198.51.100.99' }),
    ]);
    clock += 5 * 60_000;
    expect(
      await second.login.checkBreakGlassLogin({ username: 'admin', password: PASSWORD, ip: '198.51.100.99' }),
    ).toEqual({ ok: true });
  });

  it('locks an address that fails five times whatever the names it tries, and not the account', async () => {
    const { login } = instance();
    for (const username of ['root', 'administrator', 'sa', 'admin1', 'operator']) {
      const result = await login.checkBreakGlassLogin({ username, password: PASSWORD, ip: '203.0.113.7' });
      expect(result).toMatchObject({ code: 'GH_BREAK_GLASS_INVALID_CREDENTIALS' });
      clock += 8_000;
    }
    expect(
      await login.checkBreakGlassLogin({ username: 'admin', password: PASSWORD, ip: '203.0.113.7' }),
    ).toMatchObject({ ok: false, code: 'GH_BREAK_GLASS_LOCKED' });
    expect(
      await login.checkBreakGlassLogin({ username: 'admin', password: PASSWORD, ip: '203.0.113.8' }),
    ).toEqual({ ok: true });
  });

  it('checks only one of many simultaneous attempts on the same state', async () => {
    const first = instance();
    const second = instance();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        (index % 2 === 0 ? first : second).login.checkBreakGlassLogin({
          username: 'admin',
          password: 'guess',
          ip: '192.0.2.200',
        }),
      ),
    );
    const codes = results.map((result) => (result.ok ? 'ok' : result.code));
    expect(codes.filter((code) => code === 'GH_BREAK_GLASS_INVALID_CREDENTIALS')).toHaveLength(1);
    expect(codes.filter((code) => code === 'GH_BREAK_GLASS_TOO_EARLY')).toHaveLength(9);
  });
});
