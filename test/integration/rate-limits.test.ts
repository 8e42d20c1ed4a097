import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { type AuditEvent, MemoryAuditSink } from '../../src/ops/audit.js';
import { IDS } from '../dev-entra/helpers.js';
import { emulatorBackedConfig, mcpPost, vscodeToken } from '../helpers/auth-fixture.js';
import { createTestDatabase, createTestRedisPrefix, TEST_REDIS_URL } from '../helpers/services.js';

// DESIGN §2 Operations: 100 requests per minute per user on MCP, shared by every instance through
// Redis; a tool may have a limit of its own. Two instances on one PostgreSQL and one Redis, signed
// in through the Entra emulator.
describe('per-user and per-tool rate limits on MCP, across two instances sharing Redis', () => {
  let entra: DevEntra;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const redis = createTestRedisPrefix();
  const dirs: string[] = [];
  const audits = [new MemoryAuditSink(), new MemoryAuditSink()];
  const limited: string[] = [];
  let a: RunningGatehouse;
  let b: RunningGatehouse;
  let alice: string;
  let bob: string;

  const list = { jsonrpc: '2.0', id: 7, method: 'tools/list' };
  const sum = {
    jsonrpc: '2.0',
    id: 8,
    method: 'tools/call',
    params: { name: 'calculate_sum', arguments: { numbers: [1, 2] } },
  };
  const refusals = (): Extract<AuditEvent, { type: 'rate.limited' }>[] =>
    audits.flatMap((audit) =>
      audit.events.filter(
        (event): event is Extract<AuditEvent, { type: 'rate.limited' }> => event.type === 'rate.limited',
      ),
    );

  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
    database = await createTestDatabase();
    const configFile = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-limits-')), 'gatehouse.json');
    dirs.push(path.dirname(configFile));
    writeFileSync(
      configFile,
      JSON.stringify({ tools: { calculate_sum: { rateLimit: { max: 3, windowSeconds: 60 } } } }),
    );
    const start = async (audit: MemoryAuditSink) => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-limits-'));
      dirs.push(dataDir);
      const config = await emulatorBackedConfig(entra, dataDir, {
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: redis.prefix,
        GATEHOUSE_CONFIG_FILE: configFile,
        // Both instances read the same signing keys from the shared database.
        MCP_AZURE_JWT_SIGNING_KEY: 'rate-limit-test-secret-0123456789-abcdefghijklmnop',
      });
      return startGatehouse(config, {
        logger: createLogger(config),
        audit,
        onRateLimited: (scope) => limited.push(scope),
      });
    };
    a = await start(audits[0] as MemoryAuditSink);
    b = await start(audits[1] as MemoryAuditSink);
    const scope = ['discover', 'tools.execute'].map((name) => `api://${IDS.api}/${name}`).join(' ');
    alice = await vscodeToken(entra, 'alice', scope);
    bob = await vscodeToken(entra, 'bob', scope);
  });

  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await entra?.close();
    await database?.drop();
    await redis.cleanup();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the 101st request of one user within a minute with 429, Retry-After and a JSON-RPC error, whichever instance it reaches', async () => {
    for (let index = 0; index < 100; index++) {
      const instance = index % 2 === 0 ? a : b;
      const response = await mcpPost(`${instance.url}/mcp`, list, alice);
      expect(response.status, `request ${index + 1}`).toBe(200);
    }
    for (const instance of [a, b]) {
      const refused = await mcpPost(`${instance.url}/mcp`, list, alice);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get('ratelimit-limit')).toBe('100');
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter));
      expect(refused.body).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32029,
          message: expect.stringContaining('you made 100 MCP requests within 1 minute'),
          data: { code: 'GH_RATE_LIMITED', retryAfter },
        },
      });
    }

    // The counter is one, in Redis, under the deployment's prefix.
    const client = new Redis(TEST_REDIS_URL);
    try {
      const keys = await client.keys(`${redis.prefix}rate-limit:mcp:*`);
      expect(keys).toHaveLength(1);
      expect(Number(await client.get(keys[0] as string))).toBe(102);
    } finally {
      client.disconnect();
    }

    const aliceRefusals = refusals().filter((event) => event.scope === 'mcp');
    expect(aliceRefusals).toHaveLength(2);
    const aliceId = aliceRefusals[0]?.userId;
    expect(aliceId).toEqual(expect.any(String));
    for (const event of aliceRefusals) {
      expect(event).toMatchObject({
        userId: aliceId,
        ip: expect.any(String),
        requestId: expect.any(String),
        limit: { max: 100, windowMs: 60_000 },
      });
    }
    expect(limited.filter((scope) => scope === 'mcp')).toEqual(['mcp', 'mcp']);
  });

  it('refuses the same user on the 2026-07-28 form (keeping the request id) and on the legacy SSE transport', async () => {
    const stateless = await mcpPost(
      `${b.url}/mcp`,
      {
        jsonrpc: '2.0',
        id: 'stateless-1',
        method: 'tools/list',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 'limits-test', version: '1.0.0' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      },
      alice,
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
    );
    expect(stateless.status).toBe(429);
    expect(stateless.body).toMatchObject({
      id: 'stateless-1',
      error: { code: -32029, data: { code: 'GH_RATE_LIMITED' } },
    });
    expect(Number(stateless.headers.get('retry-after'))).toBeGreaterThan(0);

    const sse = await fetch(`${a.url}/sse`, {
      headers: { authorization: `Bearer ${alice}`, accept: 'text/event-stream' },
    });
    expect(sse.status).toBe(429);
    expect(Number(sse.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await sse.json()) as { error: { data: { code: string } } }).error.data.code).toBe(
      'GH_RATE_LIMITED',
    );
  });

  it('leaves other users unaffected', async () => {
    for (const instance of [a, b]) {
      const response = await mcpPost(`${instance.url}/mcp`, list, bob);
      expect(response.status).toBe(200);
      expect(response.body.result.tools.length).toBeGreaterThan(0);
    }
  });

  it("refuses a call past a tool's own limit, and only calls of that tool", async () => {
    for (const instance of [a, b, a]) {
      const response = await mcpPost(`${instance.url}/mcp`, sum, bob);
      expect(response.status).toBe(200);
      expect(response.body.result.structuredContent).toEqual({ sum: 3 });
    }
    const refused = await mcpPost(`${b.url}/mcp`, sum, bob);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-limit')).toBe('3');
    expect(refused.body.error).toMatchObject({
      code: -32029,
      message: expect.stringContaining('you called calculate_sum 3 times within 1 minute'),
      data: { code: 'GH_RATE_LIMITED' },
    });
    const whoami = { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'whoami', arguments: {} } };
    expect((await mcpPost(`${b.url}/mcp`, whoami, bob)).status).toBe(200);
    expect(refusals().filter((event) => event.scope === 'tool:calculate_sum')).toHaveLength(1);
    expect(limited).toContain('tool:calculate_sum');
  });

  it('does not count requests that fail authentication against anyone', async () => {
    const anonymous = await mcpPost(`${a.url}/mcp`, list);
    expect(anonymous.status).toBe(401);
    expect(refusals().every((event) => event.userId !== null)).toBe(true);
  });
});
