import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { MCP_JSON_HEADERS } from '../helpers/auth-fixture.js';
import { eventually, startTestUpstream, type TestUpstream } from '../helpers/gateway-fixture.js';
import { createTestDatabase } from '../helpers/services.js';

// The registry is durable and shared: a server registered through one instance is served by every
// instance within the sync interval, survives a restart, and is gone everywhere once deleted.
const SECRET = 'shared-registry-secret-9f2c';

async function toolNames(gatehouse: RunningGatehouse): Promise<string[]> {
  const response = await fetch(`${gatehouse.url}/mcp`, {
    method: 'POST',
    headers: MCP_JSON_HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  return ((await response.json()) as { result: { tools: { name: string }[] } }).result.tools.map(
    (tool) => tool.name,
  );
}

async function echo(gatehouse: RunningGatehouse): Promise<string | undefined> {
  const response = await fetch(`${gatehouse.url}/mcp`, {
    method: 'POST',
    headers: MCP_JSON_HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'shared__echo', arguments: { message: 'hi' } },
    }),
  });
  return ((await response.json()) as { result?: { content: { text: string }[] } }).result?.content[0]?.text;
}

function register(gatehouse: RunningGatehouse, upstream: TestUpstream) {
  return fetch(`${gatehouse.url}/api/servers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'shared', url: upstream.url, headers: { 'X-Api-Key': SECRET } }),
  });
}

describe('the registry on PostgreSQL, two instances and a restart', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let upstream: TestUpstream;
  let dataDir: string;
  let a: RunningGatehouse;
  let b: RunningGatehouse;
  let config: ReturnType<typeof loadConfig>;

  beforeAll(async () => {
    database = await createTestDatabase();
    upstream = await startTestUpstream();
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-instances-'));
    config = loadConfig({
      env: {
        PORT: '0',
        MCP_ENABLE_AUTH: 'false',
        DATABASE_URL: database.url,
        GATEHOUSE_DATA_DIR: dataDir,
        // Every instance must open the other's sealed secrets: the same key, as in production.
        GATEHOUSE_ENCRYPTION_KEY: 'instances-test-key-0123456789abcdefghijklmnop',
        GATEHOUSE_GATEWAY_SYNC_INTERVAL: '200',
        LOG_LEVEL: 'silent',
      },
    });
    [a, b] = await Promise.all([
      startGatehouse(config, { logger: createLogger(config) }),
      startGatehouse(config, { logger: createLogger(config) }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await upstream?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a server registered through one instance is served by the other within seconds', async () => {
    expect((await register(a, upstream)).status).toBe(201);
    await eventually(async () => (await echo(b)) === 'echo: hi');
    expect(await toolNames(b)).toContain('shared__echo');
    // Instance b sent the stored header it could only have decrypted with the shared key.
    expect((await upstream.recorded()).every((request) => request.headers['x-api-key'] === SECRET)).toBe(
      true,
    );
  });

  it('the stored header is ciphertext in PostgreSQL', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query('select * from upstream_servers');
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(SECRET);
    } finally {
      await client.end();
    }
  });

  it('the registry survives a restart', async () => {
    await a.close();
    a = await startGatehouse(config, { logger: createLogger(config) });
    expect(await echo(a)).toBe('echo: hi');
  });

  it('a server deleted through one instance disappears from the other', async () => {
    expect((await fetch(`${b.url}/api/servers/shared`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => !(await toolNames(a)).includes('shared__echo'));
    const answer = await fetch(`${a.url}/mcp`, {
      method: 'POST',
      headers: MCP_JSON_HEADERS,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'shared__echo', arguments: {} },
      }),
    });
    expect(((await answer.json()) as { error: { data: { code: string } } }).error.data.code).toBe(
      'GH_TOOL_UNKNOWN',
    );
  });
});

describe('the registry on SQLite survives a restart', () => {
  let upstream: TestUpstream;
  let dataDir: string;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-restart-'));
  });
  afterAll(async () => {
    await upstream?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('registered, restarted, still served with its secret header', async () => {
    const config = loadConfig({
      env: { PORT: '0', MCP_ENABLE_AUTH: 'false', GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
    });
    let gatehouse = await startGatehouse(config, { logger: createLogger(config) });
    try {
      expect((await register(gatehouse, upstream)).status).toBe(201);
      await gatehouse.close();
      gatehouse = await startGatehouse(config, { logger: createLogger(config) });
      expect(await echo(gatehouse)).toBe('echo: hi');
      expect((await upstream.recorded()).at(-1)?.headers['x-api-key']).toBe(SECRET);
    } finally {
      await gatehouse.close();
    }
  });
});
