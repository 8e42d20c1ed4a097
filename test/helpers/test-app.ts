import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type GatehouseConfig, loadConfig } from '../../src/config/index.js';
import { type AppOptions, buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/http/logger.js';
import { openStores, type Stores } from '../../src/http/storage-selection.js';
import type { Caller } from '../../src/identity/caller.js';
import { developmentCaller } from '../../src/identity/development-caller.js';
import type { ToolDefinition } from '../../src/mcp/tool.js';
import { MemoryAuditSink } from '../../src/ops/audit.js';
import { resolveMasterSecret } from '../../src/tokens/master-secret.js';
import { createSecretBox } from '../../src/tokens/secret-box.js';

export interface TestApp {
  app: FastifyInstance;
  stores: Stores;
  config: GatehouseConfig;
  dataDir: string;
  audit: MemoryAuditSink;
  close(): Promise<void>;
}

/**
 * A real Gatehouse app on a fresh SQLite file. With `multiUser`, the `x-test-user` header names
 * the caller (a user with that object id is created on first sight) so isolation between users
 * can be tested before authentication exists.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  options: {
    multiUser?: boolean;
    extraTools?: ToolDefinition[];
    /** More of buildApp's options (the admin console's searchAudit, checkBreakGlassLogin, …). */
    appOptions?: Partial<Pick<AppOptions, 'searchAudit' | 'checkBreakGlassLogin' | 'webSecret'>>;
  } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-test-'));
  const config = loadConfig({ env: { GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env } });
  const stores = openStores(config);
  await stores.durable.migrate();
  const devCaller = await developmentCaller(stores.durable.users);
  const resolveCaller = options.multiUser
    ? async (request: FastifyRequest): Promise<Caller> => {
        const name = String(request.headers['x-test-user'] ?? 'dev');
        const user = await stores.durable.users.upsert({
          tenantId: devCaller.tenantId,
          objectId: `test-${name}`,
          displayName: name,
        });
        return { ...devCaller, userId: user.id, objectId: user.objectId, displayName: name };
      }
    : () => devCaller;
  const audit = new MemoryAuditSink();
  const app = await buildApp({
    ...options.appOptions,
    config,
    logger: createLogger(config),
    stores,
    audit,
    version: 'test',
    resolveCaller,
    upstreamSecrets: createSecretBox(
      resolveMasterSecret(config, () => {}),
      'gatehouse/upstream-secrets',
    ),
    ...(options.extraTools ? { extraTools: options.extraTools } : {}),
  });
  await app.ready();
  return {
    app,
    stores,
    config,
    dataDir,
    audit,
    async close() {
      await app.close();
      await stores.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

let nextId = 1;
export function rpc(method: string, params?: Record<string, unknown>) {
  return { jsonrpc: '2.0', id: nextId++, method, ...(params === undefined ? {} : { params }) };
}

export function callTool(name: string, args?: Record<string, unknown>) {
  return rpc('tools/call', { name, ...(args === undefined ? {} : { arguments: args }) });
}
