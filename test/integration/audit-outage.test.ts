/**
 * The audit log while PostgreSQL is unreachable. The shared server is never stopped: Gatehouse
 * reaches it through a TCP forwarder the test cuts (every connection dropped, new ones refused)
 * and restores. Requests must keep succeeding; afterwards every event is either in the table or
 * counted as dropped, exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import type { DurableAuditSink } from '../../src/ops/audit-writer.js';
import { createTestDatabase, createTestRedisPrefix, TEST_REDIS_URL } from '../helpers/services.js';
import { startTcpCut, type TcpCut } from '../helpers/tcp-cut.js';

const BUFFER = 100;

describe('audit log during a PostgreSQL outage', () => {
  let database: { url: string; drop(): Promise<void> };
  let redis: { prefix: string; cleanup(): Promise<void> };
  let proxy: TcpCut;
  let dataDir: string;
  let gatehouse: RunningGatehouse;
  let client: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedisPrefix();
    const target = new URL(database.url);
    proxy = await startTcpCut(Number(target.port || 5432), target.hostname);
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-audit-outage-'));
    const config = loadConfig({
      env: {
        PORT: '0',
        GATEHOUSE_DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        // Development mode: the caller is resolved without the database, so only the audit log
        // and readiness depend on it; sessions live in Redis.
        MCP_ENABLE_AUTH: 'false',
        DATABASE_URL: viaProxy.toString(),
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: redis.prefix,
        AUDIT_BUFFER_SIZE: String(BUFFER),
        AUDIT_FLUSH_INTERVAL: '60000',
      },
    });
    gatehouse = await startGatehouse(config, { logger: createLogger(config) });
    client = new Client({ name: 'audit-outage', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gatehouse.url}/mcp`)));
  });

  afterAll(async () => {
    await client?.close();
    await gatehouse?.close();
    await proxy?.close();
    await database?.drop();
    await redis?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const sink = () => gatehouse.audit as DurableAuditSink;
  let calls = 0;
  async function callTools(count: number): Promise<void> {
    for (let index = 0; index < count; index++) {
      const result = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [index, 1] } });
      expect(result.structuredContent).toEqual({ sum: index + 1 });
      calls++;
    }
  }
  /** Rows in the table, read past the forwarder. */
  async function stored(): Promise<{ calls: number; all: number }> {
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ calls: string; all: string }>(
        `select count(*) filter (where type = 'tool.call') as calls, count(*) as all from audit_log`,
      );
      return { calls: Number(rows[0]!.calls), all: Number(rows[0]!.all) };
    } finally {
      await db.end();
    }
  }
  const ready = async () => {
    const response = await fetch(`${gatehouse.url}/ready`);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('keeps serving, keeps what fits, counts exactly what does not, and writes it all once the database is back', async () => {
    await callTools(10);
    await sink().flush();
    // Each call is audited once: its tool.call row (an allowed decision adds none).
    const perCall = (await stored()).all / calls;
    expect(perCall).toBe(1);
    expect(await stored()).toEqual({ calls: 10, all: 10 });

    await proxy.cut();
    await callTools(30);
    await sink().flush();
    expect(sink().stats()).toMatchObject({ queued: 30, dropped: 0, written: 10 });
    expect(sink().stats().lastError).toEqual(expect.any(String));
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.checks.audit).toMatch(/^writes failing \(30 events queued, retrying\)/);
    expect(down.body.audit).toMatchObject({ queued: 30, dropped: 0 });

    // Past the buffer: 100 more calls are 100 more events, of which 70 fit.
    await callTools(100);
    expect(sink().stats()).toMatchObject({ queued: BUFFER, dropped: 30 });

    await proxy.restore();
    for (let attempt = 0; attempt < 20 && sink().stats().queued > 0; attempt++) await sink().flush();
    expect(sink().stats()).toEqual({ queued: 0, dropped: 30, written: 110, lastError: null });
    // Nothing lost silently: every event emitted is either stored or counted.
    expect((await stored()).all + sink().stats().dropped).toBe(calls * perCall);
    // drop-newest: the events queued first (the start of the outage) were kept.
    expect((await stored()).calls).toBe(10 + 30 + 70);

    await callTools(5);
    await sink().flush();
    expect(await stored()).toEqual({ calls: 115, all: 115 });
    const up = await ready();
    expect(up.status).toBe(200);
    expect(up.body.checks.audit).toBe('30 events dropped since start');
    expect(up.body.audit).toEqual({ queued: 0, dropped: 30, written: 115, lastError: null });
  });
});
