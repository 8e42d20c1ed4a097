import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/http/logger.js';
import { startGatehouse } from '../../src/http/server.js';
import { openStores } from '../../src/http/storage-selection.js';
import { defineTool } from '../../src/mcp/tool.js';
import { MemoryAuditSink } from '../../src/ops/audit.js';
import { createSecretBox } from '../../src/tokens/secret-box.js';
import { callTool, createTestApp, MCP_HEADERS, type TestApp } from '../helpers/test-app.js';

describe('HTTP basics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('/health answers ok', async () => {
    const response = await t.app.inject('/health');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('/ready checks storage', async () => {
    const response = await t.app.inject('/ready');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { sqlite: 'ok' } });
  });

  it('sets security headers', async () => {
    const response = await t.app.inject('/health');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
  });

  it('sets nosniff and no-store on MCP answers, without the HTML-page headers', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: MCP_HEADERS,
      payload: JSON.stringify(callTool('calculate_sum', { numbers: [1] })),
    });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-security-policy']).toBeUndefined();
  });

  it('returns a request id, reusing a well-formed incoming one', async () => {
    const generated = await t.app.inject('/health');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const given = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const hostile = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'a\u0000b<script>' } });
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with a coded 404 that points at /mcp', async () => {
    const response = await t.app.inject('/nope?x=1');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: 'GH_HTTP_NOT_FOUND',
      message: 'No route for GET /nope. The MCP endpoint is /mcp.',
    });
  });
});

describe('/ready when storage is down', () => {
  it('answers 503 naming the unreachable store', async () => {
    const config = loadConfig({
      env: {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
        REDIS_URL: 'redis://127.0.0.1:1',
        LOG_LEVEL: 'silent',
      },
    });
    const stores = openStores(config);
    const app = await buildApp({
      config,
      logger: createLogger(config),
      stores,
      audit: new MemoryAuditSink(),
      version: 'test',
      resolveCaller: () => {
        throw new Error('not used');
      },
      upstreamSecrets: createSecretBox(
        { value: 'test secret', source: 'GATEHOUSE_ENCRYPTION_KEY' },
        'gatehouse/upstream-secrets',
      ),
    });
    try {
      const response = await app.inject('/ready');
      expect(response.statusCode).toBe(503);
      const body = response.json();
      expect(body.status).toBe('unavailable');
      expect(body.checks.postgres).toContain('DATABASE_URL');
      expect(body.checks.redis).toContain('REDIS_URL');
    } finally {
      await app.close();
      await stores.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight tool call, then refuses new connections', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const slow = defineTool({
      name: 'slow_echo',
      title: 'Slow echo',
      description: 'Waits until released.',
      input: z.strictObject({ text: z.string() }),
      async run({ text }) {
        started();
        await gate;
        return { structured: {}, text };
      },
    });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-shutdown-'));
    const config = loadConfig({ env: { PORT: '0', GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' } });
    const server = await startGatehouse(config, { logger: createLogger(config), extraTools: [slow] });
    try {
      const inFlight = fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: MCP_HEADERS,
        body: JSON.stringify(callTool('slow_echo', { text: 'done' })),
      });
      await running;
      const closed = server.close();
      release();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(((await response.json()) as any).result.content[0].text).toBe('done');
      await closed;
      await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
