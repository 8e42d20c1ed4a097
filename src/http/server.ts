import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { type GatehouseConfig, isAuthorizationServer } from '../config/index.js';
import { identityAssertions } from '../gateway/identity-assertion.js';
import type { Caller } from '../identity/caller.js';
import { developmentCaller } from '../identity/development-caller.js';
import type { ToolDefinition } from '../mcp/tool.js';
import { type AuditSink, MemoryAuditSink } from '../ops/audit.js';
import { readVersion } from '../ops/build-info.js';
import { Metrics, type TokenCacheStats } from '../ops/metrics.js';
import { startMetricsListener } from '../ops/metrics-routes.js';
import type { ToolPolicy } from '../policy/tool-policy.js';
import { Authenticator } from '../resource-server/authenticator.js';
import { openKeyring } from '../tokens/key-store.js';
import type { Keyring } from '../tokens/keyring.js';
import { resolveMasterSecret } from '../tokens/master-secret.js';
import { createSecretBox } from '../tokens/secret-box.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';
import { openStores, type Stores } from './storage-selection.js';

export interface RunningGatehouse {
  app: FastifyInstance;
  stores: Stores;
  logger: Logger;
  audit: AuditSink;
  keyring: Keyring;
  /** What /metrics reports. */
  metrics: Metrics;
  /** The metrics listener's URL (METRICS_PORT), when there is one. */
  metricsUrl: string | undefined;
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
  /** Gatehouse's signing keys; read from storage (the first start creates one) when not given. */
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
  let closeKeyring = () => {};
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
    const version = readVersion();
    const metrics = new Metrics(version);
    const { metricsToken, metricsListener } = config.observability;
    if (metricsToken !== undefined || metricsListener !== undefined) metrics.collectProcessMetrics();
    const master = resolveMasterSecret(config, progress);
    let keyring = options.keyring;
    if (keyring === undefined) {
      const stored = await openKeyring({
        keys: stores.durable.signingKeys,
        box: createSecretBox(master, 'gatehouse/signing-keys'),
        onRefreshError: (error) => logger.warn({ err: error }, 'signing keys could not be re-read'),
      });
      closeKeyring = stored.close;
      keyring = stored;
    }
    progress(`Signing keys: ${keyring.current().kid} signs; ${keyring.jwks().keys.length} published`);
    const { resolveCaller, grantRevoked, tokenCacheStats } = await callerResolver(
      config,
      stores,
      metrics.auditing(audit),
      keyring,
      options.fetch,
    );
    metrics.observeTokenCache(tokenCacheStats);
    const authServer = isAuthorizationServer(config)
      ? {
          keyring,
          entraTokens: createSecretBox(master, 'gatehouse/entra-tokens'),
          masterSecret: master.value,
          onGrantRevoked: grantRevoked,
          registrationLimit: { perWindow: config.auth.registrationsPerHour, windowMs: 60 * 60 * 1000 },
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }
      : undefined;
    if (authServer)
      progress(
        `Authorization server: ${config.server.baseUrl} (sign-in federated to Entra ID with ${credentialText(config)})`,
      );
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
      metrics,
      version,
      resolveCaller,
      upstreamSecrets: createSecretBox(master, 'gatehouse/upstream-secrets'),
      identityFor: identityAssertions(keyring, config.server.baseUrl),
      jwks: () => keyring.jwks(),
      ...(authServer ? { authServer } : {}),
      toolPolicies: { ...config.toolPolicies, ...options.toolPolicies },
      promptPolicies: config.promptPolicies,
      resourcePolicies: config.resourcePolicies,
      ...(options.extraTools ? { extraTools: options.extraTools } : {}),
    });
    let inFlight = 0;
    app.server.on('request', (_request, response) => {
      inFlight++;
      response.once('close', () => inFlight--);
    });
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    const port = (app.server.address() as { port: number }).port;
    const url = config.server.port === 0 ? address.replace(/:\d+$/, `:${port}`) : address;
    let metricsServer: { url: string; close(): Promise<void> } | undefined;
    if (metricsListener !== undefined) {
      try {
        metricsServer = await startMetricsListener(
          metrics,
          { ...metricsListener, token: metricsToken },
          (error) => logger.error({ err: error }, 'collecting metrics failed'),
        );
      } catch (error) {
        await app.close();
        throw error;
      }
      progress(`Metrics: ${metricsServer.url}`);
    }
    let closing: Promise<void> | undefined;
    return {
      app,
      stores,
      logger,
      audit,
      keyring,
      metrics,
      metricsUrl: metricsServer?.url,
      url,
      close() {
        closing ??= (async () => {
          // Stop accepting, let the requests in flight finish (up to the shutdown timeout), then close
          // every connection left: keep-alive connections would otherwise hold the close open until
          // their keep-alive timeout, and some (behind hijacked replies) are never seen as idle.
          const closed = app.close();
          await metricsServer?.close();
          const deadline = Date.now() + config.server.shutdownTimeoutMs;
          while (inFlight > 0 && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 20));
          app.server.closeAllConnections();
          await closed;
          closeKeyring();
          await stores.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    closeKeyring();
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
): Promise<{
  resolveCaller: (request: FastifyRequest, resourcePath?: string) => Caller | Promise<Caller>;
  grantRevoked: (grantId: string) => void;
  tokenCacheStats: () => TokenCacheStats;
}> {
  if (!config.auth.enabled) {
    const caller = await developmentCaller(stores.durable.users);
    return {
      resolveCaller: () => caller,
      grantRevoked: () => {},
      tokenCacheStats: () => ({ hits: 0, misses: 0, entries: 0 }),
    };
  }
  const authenticator = new Authenticator({
    config,
    durable: stores.durable,
    audit,
    keyring,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  return {
    resolveCaller: (request, resourcePath) => {
      const params = request.params as { token?: string; server?: string } | undefined;
      if (params?.token !== undefined) return authenticate(request, undefined);
      // /mcp/{server} and /sse are protected resources of their own (RFC 9728): tokens bound to them are accepted there.
      const resource =
        params?.server !== undefined
          ? `${config.server.baseUrl}/mcp/${params.server}`
          : resourcePath === undefined
            ? undefined
            : `${config.server.baseUrl}${resourcePath}`;
      return authenticator.cached(request.headers.authorization, resource) ?? authenticate(request, resource);
    },
    grantRevoked: (grantId) => authenticator.grantRevoked(grantId),
    tokenCacheStats: () => authenticator.tokenCacheStats(),
  };

  function authenticate(request: FastifyRequest, resource: string | undefined) {
    return authenticator.authenticate({
      authorization: request.headers.authorization,
      pathToken: (request.params as { token?: string } | undefined)?.token,
      requestId: request.id,
      ip: request.ip,
      resource,
    });
  }
}

/** How the Entra credential is named in the start-up progress (never its value). */
function credentialText(config: GatehouseConfig): string {
  const credential = config.auth.entraCredential;
  switch (credential?.kind) {
    case 'secret':
      return 'a client secret';
    case 'certificate':
      return `the certificate in ${credential.path}`;
    case 'federated':
      return `the federated token in ${credential.tokenFile}`;
    default:
      return 'no credential';
  }
}
