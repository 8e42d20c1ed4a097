import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { createTestDatabase, createTestRedisPrefix, TEST_REDIS_URL } from '../helpers/services.js';
import { MCP_HEADERS } from '../helpers/test-app.js';

// Two instances behind one load balancer: PostgreSQL for durable data, Redis for sessions.
describe('Gatehouse on PostgreSQL and Redis, two instances', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const redis = createTestRedisPrefix();
  let a: RunningGatehouse;
  let b: RunningGatehouse;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      PORT: '0',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      LOG_LEVEL: 'silent',
    };
    const config = loadConfig({ env });
    // Both start at once: migrations must be safe to run concurrently.
    [a, b] = await Promise.all([
      startGatehouse(config, { logger: createLogger(config) }),
      startGatehouse(config, { logger: createLogger(config) }),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await database?.drop();
    await redis.cleanup();
  });

  it('reports postgres + redis and is ready', async () => {
    const ready = await fetch(`${a.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { postgres: 'ok', redis: 'ok', audit: 'ok' },
      audit: { queued: expect.any(Number), dropped: 0, written: expect.any(Number), lastError: null },
    });
  });

  it('serves a session opened on one instance from the other, and saves notes in PostgreSQL', async () => {
    const client = new Client({ name: 'lb-test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${a.url}/mcp`));
    await client.connect(transport);
    const sessionId = transport.sessionId!;
    try {
      const info = await client.callTool({ name: 'get_server_info', arguments: {} });
      expect(info.structuredContent).toMatchObject({ storage: { durable: 'postgres', ephemeral: 'redis' } });
      const saved = await client.callTool({
        name: 'save_user_note',
        arguments: { note: 'stored in postgres' },
      });
      const noteId = (saved.structuredContent as { id: string }).id;

      const onB = await fetch(`${b.url}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 9,
          method: 'tools/call',
          params: { name: 'get_user_notes', arguments: {} },
        }),
      });
      expect(onB.status).toBe(200);
      expect(((await onB.json()) as any).result.structuredContent.notes).toContainEqual(
        expect.objectContaining({ id: noteId }),
      );

      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      const rows = await db.query('SELECT text FROM notes WHERE id = $1', [noteId]);
      await db.end();
      expect(rows.rows).toEqual([{ text: 'stored in postgres' }]);

      // Ending the session on B ends it everywhere.
      const ended = await fetch(`${b.url}/mcp`, {
        method: 'DELETE',
        headers: { 'mcp-session-id': sessionId },
      });
      expect(ended.status).toBe(204);
    } finally {
      await client.close();
    }
  });
});
