import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatehouseError } from '../../../src/errors/index.js';
import { type AuditEvent, MemoryAuditSink } from '../../../src/ops/audit.js';
import { installRateLimits, type RateLimitSettings, WindowCounter } from '../../../src/ops/rate-limit.js';

// The per-IP limits on one instance (the plugin's memory store), through inject(): routes join a
// limit by their path or by naming it in their config, as the break-glass login form does.
const OFF = { max: 0, windowMs: 60_000 };
const settings = (overrides: Partial<RateLimitSettings['perIp']> = {}): RateLimitSettings => ({
  mcp: OFF,
  tools: {},
  perIp: { register: OFF, token: OFF, authorize: OFF, auth: OFF, login: OFF, ...overrides },
});

describe('per-IP limits attached to the routes they guard', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function build(limits: RateLimitSettings, redis?: Redis) {
    const audit = new MemoryAuditSink();
    const limited: string[] = [];
    app = Fastify();
    await installRateLimits(app, {
      settings: limits,
      audit,
      onLimited: (scope) => limited.push(scope),
      ...(redis ? { redis } : {}),
    });
    app.setErrorHandler((error: GatehouseError, _request, reply) =>
      reply.code(error.status).type('text/html').send(`<p>${error.code}: ${error.message}</p>`),
    );
    app.post('/admin/login', { config: { gatehouseRateLimit: 'login' } }, async () => 'welcome');
    app.get('/auth/login', async () => 'sign in');
    app.get('/elsewhere', async () => 'free');
    await app.ready();
    return { app, audit, limited };
  }

  const from = (ip: string, url: string, method: 'GET' | 'POST' = 'GET') =>
    app!.inject({ method, url, remoteAddress: ip });

  it('counts the login form by its route config, per address, and answers a page error past the budget', async () => {
    const { audit, limited } = await build(settings({ login: { max: 2, windowMs: 60_000 } }));
    const first = await from('192.0.2.1', '/admin/login', 'POST');
    expect(first.statusCode).toBe(200);
    expect(first.headers['ratelimit-limit']).toBe('2');
    expect(first.headers['ratelimit-remaining']).toBe('1');
    expect((await from('192.0.2.1', '/admin/login', 'POST')).statusCode).toBe(200);
    const refused = await from('192.0.2.1', '/admin/login', 'POST');
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toContain('GH_RATE_LIMITED: Too many requests to /admin/login from this address');
    // Another address has its own budget; routes outside every limit are not counted.
    expect((await from('192.0.2.2', '/admin/login', 'POST')).statusCode).toBe(200);
    for (let index = 0; index < 5; index++)
      expect((await from('192.0.2.1', '/elsewhere')).statusCode).toBe(200);
    expect(audit.events).toEqual([
      expect.objectContaining({
        type: 'rate.limited',
        scope: 'login',
        ip: '192.0.2.1',
        userId: null,
        limit: { max: 2, windowMs: 60_000 },
      } satisfies Partial<AuditEvent>),
    ]);
    expect(limited).toEqual(['login']);
  });

  it('counts /auth/* by path, and leaves limits set to 0 off', async () => {
    await build(settings({ auth: { max: 1, windowMs: 60_000 } }));
    expect((await from('192.0.2.3', '/auth/login')).statusCode).toBe(200);
    expect((await from('192.0.2.3', '/auth/login')).statusCode).toBe(429);
    for (let index = 0; index < 3; index++)
      expect((await from('192.0.2.3', '/admin/login', 'POST')).statusCode).toBe(200);
  });

  it('lets requests through, and logs, when Redis does not answer', async () => {
    const unreachable = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      await build(settings({ login: { max: 1, windowMs: 60_000 } }), unreachable);
      for (let index = 0; index < 3; index++)
        expect((await from('192.0.2.4', '/admin/login', 'POST')).statusCode).toBe(200);
    } finally {
      unreachable.disconnect();
    }
  });
});

describe('per-caller windows in memory (one instance)', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('lets max requests through per window, then tells how long until the window ends', () => {
    const time = clock();
    const counter = new WindowCounter({ max: 3, windowMs: 60_000 }, 100, time.now);
    expect([counter.hit('bob'), counter.hit('bob'), counter.hit('bob')]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    time.advance(20_000);
    expect(counter.hit('bob')).toBe(40_000);
    expect(counter.hit('alice')).toBeUndefined();
    time.advance(39_999);
    expect(counter.hit('bob')).toBe(1);
    time.advance(1);
    expect(counter.hit('bob')).toBeUndefined();
  });

  it('keeps at most its capacity of callers, forgetting the window that began first', () => {
    const time = clock();
    const counter = new WindowCounter({ max: 1, windowMs: 60_000 }, 2, time.now);
    counter.hit('a');
    time.advance(1);
    counter.hit('b');
    expect(counter.hit('b')).toBeDefined();
    counter.hit('c');
    expect(counter.size).toBe(2);
    // b and c are still counted; a was forgotten, so its next request starts a new window.
    expect(counter.hit('b')).toBeDefined();
    expect(counter.hit('c')).toBeDefined();
    expect(counter.hit('a')).toBeUndefined();
  });

  it('answers admit without a promise while under the limit, and refuses past it with the headers and an audit event', async () => {
    const app = Fastify();
    const audit = new MemoryAuditSink();
    const limits = await installRateLimits(app, {
      settings: { ...settings(), mcp: { max: 2, windowMs: 60_000 } },
      audit,
    });
    let refusal: unknown;
    app.get('/', async (request, reply) => {
      const caller = { kind: 'entra-user', userId: 'user-1' } as never;
      const first = limits.admit(request, reply, caller);
      const second = limits.admit(request, reply, caller);
      const third = limits.admit(request, reply, caller);
      refusal = await third?.catch((error: GatehouseError) => error);
      return { first: first === undefined, second: second === undefined };
    });
    const response = await app.inject({ method: 'GET', url: '/' });
    await app.close();
    expect(response.json()).toEqual({ first: true, second: true });
    expect((refusal as GatehouseError).code).toBe('GH_RATE_LIMITED');
    expect((refusal as GatehouseError).message).toContain(
      '2 MCP requests within 1 minute (RATE_LIMIT_MCP_PER_MINUTE); try again in 60 s',
    );
    expect(response.headers['retry-after']).toBe('60');
    expect(response.headers['ratelimit-limit']).toBe('2');
    expect(response.headers['ratelimit-remaining']).toBe('0');
    expect(audit.events).toContainEqual(
      expect.objectContaining({
        type: 'rate.limited',
        scope: 'mcp',
        userId: 'user-1',
        limit: { max: 2, windowMs: 60_000 },
      }),
    );
  });
});
