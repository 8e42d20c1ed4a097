import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { chatStatusLine } from '../chat/backend.js';
import { type GatehouseConfig, isAuthorizationServer } from '../config/index.js';
import { DelegatedAccess } from '../entra/delegated-access.js';
import { EntraClient } from '../entra/entra-client.js';
import { withDelegatedAuth } from '../gateway/delegated-identity.js';
import { identityAssertions } from '../gateway/identity-assertion.js';
import type { Caller } from '../identity/caller.js';
import { developmentCaller } from '../identity/development-caller.js';
import type { ToolDefinition } from '../mcp/tool.js';
import type { AuditSink } from '../ops/audit.js';
import { DurableAuditSink } from '../ops/audit-writer.js';
import { createBreakGlassLogin } from '../ops/break-glass.js';
import { readVersion } from '../ops/build-info.js';
import { Metrics, type TokenCacheStats } from '../ops/metrics.js';
import { startMetricsListener } from '../ops/metrics-routes.js';
import type { RateLimitScope } from '../ops/rate-limit.js';
import type { ToolPolicy } from '../policy/tool-policy.js';
import { Authenticator } from '../resource-server/authenticator.js';
import { openKeyring } from '../tokens/key-store.js';
import type { Keyring } from '../tokens/keyring.js';
import { resolveMasterSecret } from '../tokens/master-secret.js';
import { createSecretBox, deriveKey } from '../tokens/secret-box.js';
import { type AppOptions, buildApp } from './app.js';
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
  /** Told of every request a rate limit refused (by its scope). */
  onRateLimited?: (scope: RateLimitScope) => void;
  /** The durable audit log's search, for the admin console. */
  searchAudit?: AppOptions['searchAudit'];
  /** Enables the admin console's break-glass login. */
  checkBreakGlassLogin?: AppOptions['checkBreakGlassLogin'];
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
  // Created here, so closed here: a sink given in the options belongs to whoever gave it.
  let durableAudit: DurableAuditSink | undefined;
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

    if (options.audit === undefined) durableAudit = durableAuditSink(config, stores, logger).start();
    const audit = options.audit ?? durableAudit!;
    const version = readVersion();
    const metrics = new Metrics(version);
    const { metricsToken, metricsListener } = config.observability;
    if (metricsToken !== undefined || metricsListener !== undefined) metrics.collectProcessMetrics();
    if (durableAudit !== undefined) {
      const sink = durableAudit;
      metrics.observeAudit(() => sink.stats());
    }
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
    const entraTokens = createSecretBox(master, 'gatehouse/entra-tokens');
    const delegated = delegatedAccess(config, stores, entraTokens, options.fetch);
    const { resolveCaller, grantRevoked, tokenCacheStats } = await callerResolver(
      config,
      stores,
      metrics.auditing(audit),
      keyring,
      options.fetch,
      delegated,
      (error, message) => logger.warn({ err: error }, message),
    );
    metrics.observeTokenCache(tokenCacheStats);
    const authServer = isAuthorizationServer(config)
      ? {
          keyring,
          entraTokens,
          masterSecret: master.value,
          onGrantRevoked: grantRevoked,
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
    progress(chatStatusLine(config));
    const checkBreakGlassLogin =
      options.checkBreakGlassLogin ??
      createBreakGlassLogin({
        config: config.breakGlass,
        store: stores.ephemeral,
        audit: metrics.auditing(audit),
      })?.checkBreakGlassLogin;
    if (checkBreakGlassLogin !== undefined)
      progress(
        `Break-glass login: enabled at ${config.server.baseUrl}/admin/login (${config.breakGlass.username})`,
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
      identityFor: withDelegatedAuth(identityAssertions(keyring, config.server.baseUrl), delegated),
      jwks: () => keyring.jwks(),
      webSecret: deriveKey(master.value, 'gatehouse/web pages').toString('base64url'),
      ...(options.searchAudit ? { searchAudit: options.searchAudit } : {}),
      ...(checkBreakGlassLogin ? { checkBreakGlassLogin } : {}),
      ...(authServer ? { authServer } : {}),
      ...(delegated ? { delegated } : {}),
      toolPolicies: { ...config.toolPolicies, ...options.toolPolicies },
      promptPolicies: config.promptPolicies,
      resourcePolicies: config.resourcePolicies,
      ...(options.extraTools ? { extraTools: options.extraTools } : {}),
      ...(options.onRateLimited ? { onRateLimited: options.onRateLimited } : {}),
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
          // After the app: the requests that just finished have emitted their events.
          await durableAudit?.close();
          await stores.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    closeKeyring();
    await durableAudit?.close();
    await stores.close();
    throw error;
  }
}

/** The audit log as configured (AUDIT_*): the audit_log table, optionally mirrored to stdout. */
export function durableAuditSink(config: GatehouseConfig, stores: Stores, logger: Logger): DurableAuditSink {
  return new DurableAuditSink({
    log: stores.durable.auditLog,
    logger,
    bufferSize: config.audit.bufferSize,
    whenFull: config.audit.whenFull,
    flushIntervalMs: config.audit.flushIntervalMs,
    logArguments: config.audit.logArguments,
    retentionDays: config.audit.retentionDays,
    ...(config.audit.stdout ? { mirror: (line: string) => void process.stdout.write(line) } : {}),
  });
}

/** The authenticator when authentication is on; otherwise every request is the development user. */
export async function callerResolver(
  config: GatehouseConfig,
  stores: Stores,
  audit: AuditSink,
  keyring: Keyring,
  fetchImpl?: typeof fetch,
  delegated?: DelegatedAccess,
  warn?: (error: unknown, message: string) => void,
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
    ...(delegated ? { delegated } : {}),
    ...(warn ? { warn } : {}),
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
      return (
        authenticator.cached(request.headers.authorization, resource, request.raw.socket) ??
        authenticate(request, resource)
      );
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

/**
 * On-behalf-of toward Graph and other Entra-protected APIs, when Gatehouse holds an Entra credential
 * (the same app registration and credential as its sign-in).
 */
function delegatedAccess(
  config: GatehouseConfig,
  stores: Stores,
  entraTokens: ReturnType<typeof createSecretBox>,
  fetchImpl: typeof fetch | undefined,
): DelegatedAccess | undefined {
  const entra = config.auth.entra;
  const credential = config.auth.entraCredential;
  if (!config.auth.enabled || entra === undefined || credential === undefined) return undefined;
  const names = config.auth.scopeNames;
  return new DelegatedAccess({
    entra: new EntraClient(
      {
        authorityHost: entra.authorityHost,
        tenant: entra.tenant,
        clientId: entra.clientId,
        credential,
        redirectUri: `${config.server.baseUrl}/auth/callback`,
        scopes: [names.discover, names.toolsRead, names.toolsExecute, names.chat],
      },
      fetchImpl,
    ),
    durable: stores.durable,
    ephemeral: stores.ephemeral,
    entraTokens,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
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
