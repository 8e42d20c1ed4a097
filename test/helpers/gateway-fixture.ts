import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { MemoryAuditSink } from '../../src/ops/audit.js';
import { MCP_JSON_HEADERS } from './auth-fixture.js';
import { freePort } from './ports.js';
import { createTestDatabase } from './services.js';

/** The durable backends every gateway test runs on. */
export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

/** test/fixtures/test-upstream.mjs: an upstream that can be slow, die, fail, hang, and records headers. */
export const TEST_UPSTREAM = fileURLToPath(new URL('../fixtures/test-upstream.mjs', import.meta.url));

export interface TestUpstream {
  url: string;
  child: ChildProcess;
  /** The requests it received, headers included. */
  recorded(): Promise<
    {
      method: string;
      url: string;
      headers: Record<string, string>;
      rpc: string | null;
      id: unknown;
      params: any;
    }[]
  >;
  /** 'ok', 'fail' (503 to every MCP request) or 'hang' (never answers). */
  behave(mode: 'ok' | 'fail' | 'hang'): Promise<void>;
  close(options?: { kill?: boolean }): Promise<void>;
}

/** The test upstream over Streamable HTTP, as a child process on a free port. */
export async function startTestUpstream(port?: number): Promise<TestUpstream> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, [TEST_UPSTREAM, '--http', String(chosen)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`test upstream exited with ${code}: ${output}`)));
  });
  const base = `http://127.0.0.1:${chosen}`;
  return {
    url: `${base}/mcp`,
    child,
    recorded: async () => (await fetch(`${base}/recorded`)).json() as never,
    behave: async (mode) => {
      await fetch(`${base}/control`, { method: 'POST', body: JSON.stringify({ mode }) });
    },
    close: ({ kill = false } = {}) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(kill ? 'SIGKILL' : 'SIGTERM');
      }),
  };
}

export interface GatewayFixture {
  gatehouse: RunningGatehouse;
  audit: MemoryAuditSink;
  mcpUrl: string;
  /** A JSON-RPC request to /mcp (development mode: no token needed). */
  rpc(
    method: string,
    params?: Record<string, unknown>,
    path?: string,
  ): Promise<{ status: number; body: any }>;
  toolNames(): Promise<string[]>;
  close(): Promise<void>;
}

let nextId = 1;

/** Gatehouse in development mode (no sign-in) with `mcpServers` in its config file. */
export async function startGatewayFixture(
  mcpServers: Record<string, unknown>,
  env: Record<string, string> = {},
  /** Other sections of the config file ("tools", …). */
  file: Record<string, unknown> = {},
  /** PostgreSQL: a fresh database, dropped by close(). */
  backend: Backend = 'sqlite',
): Promise<GatewayFixture> {
  const database = backend === 'postgres' ? await createTestDatabase() : undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-gateway-'));
  const configFile = path.join(dataDir, 'gatehouse.json');
  writeFileSync(configFile, JSON.stringify({ ...file, mcpServers }));
  const config = loadConfig({
    env: {
      PORT: '0',
      GATEHOUSE_DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      MCP_ENABLE_AUTH: 'false',
      GATEHOUSE_CONFIG_FILE: configFile,
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...env,
    },
  });
  const audit = new MemoryAuditSink();
  const gatehouse = await startGatehouse(config, { logger: createLogger(config), audit });
  const fixture: GatewayFixture = {
    gatehouse,
    audit,
    mcpUrl: `${gatehouse.url}/mcp`,
    async rpc(method, params, at = '/mcp') {
      const response = await fetch(`${gatehouse.url}${at}`, {
        method: 'POST',
        headers: MCP_JSON_HEADERS,
        body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, ...(params ? { params } : {}) }),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
    },
    async toolNames() {
      const { body } = await fixture.rpc('tools/list');
      return (body.result.tools as { name: string }[]).map((tool) => tool.name);
    },
    async close() {
      await gatehouse.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** Polls `check` until it returns true (each attempt after `everyMs`); throws after `attempts`. */
export async function eventually(check: () => Promise<boolean> | boolean, attempts = 100, everyMs = 100) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error('the condition did not become true');
}
