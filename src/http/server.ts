import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { GatehouseConfig } from '../config/index.js';
import type { Caller } from '../identity/caller.js';
import { developmentCaller } from '../identity/development-caller.js';
import type { ToolDefinition } from '../mcp/tool.js';
import { type AuditSink, MemoryAuditSink } from '../ops/audit.js';
import { readVersion } from '../ops/build-info.js';
import type { ToolPolicy } from '../policy/tool-policy.js';
import { Authenticator } from '../resource-server/authenticator.js';
import { generateSigningKey, type Keyring, keyringOf } from '../tokens/keyring.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';
import { openStores, type Stores } from './storage-selection.js';

export interface RunningGatehouse {
  app: FastifyInstance;
  stores: Stores;
  logger: Logger;
  audit: AuditSink;
  keyring: Keyring;
  /** The URL the server listens on (the real port when PORT=0). */
  url: string;
  /** Stops accepting requests, lets in-flight ones finish, then closes storage. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  extraTools?: readonly ToolDefinition[];
  toolPolicies?: Readonly<Record<string, ToolPolicy>>;
  audit?: AuditSink;
  /** Gatehouse's signing keys; generated in memory when not given. */
  keyring?: Keyring;
  /** Used to reach Entra (discovery, JWKS). */
  fetch?: typeof fetch;
  /** Progress lines for a person watching the start. */
  onProgress?: (line: string) => void;
}

/** Opens storage, migrates it, builds the app and listens. */
export async function startGatehouse(
  config: GatehouseConfig,
  options: StartOptions = {},
): Promise<RunningGatehouse> {
  const logger = options.logger ?? createLogger(config);
  const progress = options.onProgress ?? (() => {});
  const stores = openStores(config);
  try {
    progress(
      `Storage: ${stores.durable.backend}${stores.ephemeral.backend !== stores.durable.backend ? ` + ${stores.ephemeral.backend} for short-lived state` : ''}`,
    );
    await stores.durable.ping();
    await stores.ephemeral.ping();
    const report = await stores.durable.migrate();
    progress(
      report.applied.length > 0
        ? `Migrations applied: ${report.applied.join(', ')}`
        : `Database schema is up to date (${report.current ?? 'no migrations'})`,
    );

    const audit = options.audit ?? new MemoryAuditSink();
    const keyring = options.keyring ?? keyringOf([await generateSigningKey()]);
    const resolveCaller = await callerResolver(config, stores, audit, keyring, options.fetch);
    progress(
      config.auth.enabled
        ? `Authentication: Entra ID tenant ${config.auth.entra?.tenant}`
        : 'Authentication: OFF (development mode)',
    );
    const app = await buildApp({
      config,
      logger,
      stores,
      audit,
      version: readVersion(),
      resolveCaller,
      toolPolicies: { ...config.toolPolicies, ...options.toolPolicies },
      ...(options.extraTools ? { extraTools: options.extraTools } : {}),
    });
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    const port = (app.server.address() as { port: number }).port;
    const url = config.server.port === 0 ? address.replace(/:\d+$/, `:${port}`) : address;
    let closing: Promise<void> | undefined;
    return {
      app,
      stores,
      logger,
      audit,
      keyring,
      url,
      close() {
        closing ??= (async () => {
          await app.close();
          await stores.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/** The authenticator when authentication is on; otherwise every request is the development user. */
export async function callerResolver(
  config: GatehouseConfig,
  stores: Stores,
  audit: AuditSink,
  keyring: Keyring,
  fetchImpl?: typeof fetch,
): Promise<(request: FastifyRequest) => Caller | Promise<Caller>> {
  if (!config.auth.enabled) {
    const caller = await developmentCaller(stores.durable.users);
    return () => caller;
  }
  const authenticator = new Authenticator({
    config,
    durable: stores.durable,
    audit,
    keyring,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  return (request) =>
    (request.params as { token?: string } | undefined)?.token === undefined
      ? (authenticator.cached(request.headers.authorization) ?? authenticate(request))
      : authenticate(request);

  function authenticate(request: FastifyRequest) {
    return authenticator.authenticate({
      authorization: request.headers.authorization,
      pathToken: (request.params as { token?: string } | undefined)?.token,
      requestId: request.id,
      ip: request.ip,
    });
  }
}
