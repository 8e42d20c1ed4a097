import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatehouseError } from '../../../src/errors/index.js';
import { type AuditEvent, MemoryAuditSink } from '../../../src/ops/audit.js';
import { installRateLimits, type RateLimitSettings } from '../../../src/ops/rate-limit.js';

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
