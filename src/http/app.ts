import { randomBytes, randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { type AuthServerOptions, gatehouseEntraClient, registerAuthServer } from '../auth-server/index.js';
import { createChatBackend } from '../chat/backend.js';
import type { GatehouseConfig } from '../config/index.js';
import type { DelegatedAccess } from '../entra/delegated-access.js';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import { Gateway } from '../gateway/gateway.js';
import { ServerRegistry } from '../gateway/registry.js';
import { gatewayRoutes } from '../gateway/routes.js';
import { serverSummary } from '../gateway/status.js';
import { GatewaySurface, type IdentityFor } from '../gateway/surface.js';
import { REGISTRY_TOOLS } from '../gateway/tools/index.js';
import type { Caller } from '../identity/caller.js';
import { BuiltInSurface } from '../mcp/built-in-surface.js';
import { McpDispatcher } from '../mcp/dispatcher.js';
import { ECHO_PATH, MCP_PATHS, MCP_SERVER_PATH, mcpEndpoint } from '../mcp/endpoint.js';
import { legacySseTransport } from '../mcp/legacy-sse.js';
import { BUILT_IN_PROMPTS } from '../mcp/prompts/index.js';
import { NoteEvents } from '../mcp/resources/note-events.js';
import { SessionManager } from '../mcp/sessions.js';
import type { ToolDefinition } from '../mcp/tool.js';
import { ToolAccess } from '../mcp/tool-access.js';
import { ToolRegistry } from '../mcp/tool-registry.js';
import { BUILT_IN_TOOLS, CHAT_TOOLS } from '../mcp/tools/index.js';
import { createTransportPolicy } from '../mcp/transport-checks.js';
import type { AuditSink } from '../ops/audit.js';
import type { SearchAudit } from '../ops/audit-log.js';
import { auditRoutes, auditSearch } from '../ops/audit-routes.js';
import { healthRoutes } from '../ops/health.js';
import { Metrics } from '../ops/metrics.js';
import { metricsRoute } from '../ops/metrics-routes.js';
import { installRateLimits, type RateLimitScope } from '../ops/rate-limit.js';
import { rateLimitSettings } from '../ops/rate-limit-policy.js';
import type { ToolPolicy } from '../policy/tool-policy.js';
import { authErrorDecorator, challengeContext, resourceServerRoutes } from '../resource-server/routes.js';
import type { SecretBox } from '../tokens/secret-box.js';
import { type CheckBreakGlassLogin, webPages } from '../web/routes.js';
import { registerApiDocs } from './api-docs.js';
import { refuseForeignHosts, trustProxyOption } from './front-door.js';
import { deferredChildLogger, redactUrl } from './logger.js';
import type { Stores } from './storage-selection.js';

export interface AppOptions {
  config: GatehouseConfig;
  logger: Logger;
  stores: Stores;
  version: string;
  audit: AuditSink;
  /** What /metrics reports; a fresh set when not given. Audit events are counted through it. */
  metrics?: Metrics;
  startedAt?: number;
  /**
   * Who is calling: the authenticator, or the development user. Throws to refuse. `resourcePath`
   * names the protected resource when the route is not under /mcp (the legacy /sse).
   */
  resolveCaller(request: FastifyRequest, resourcePath?: string): Caller | Promise<Caller>;
  /** Per-tool requirements overriding the built-in defaults. */
  toolPolicies?: Readonly<Record<string, ToolPolicy>>;
  /** Per-prompt requirements overriding the built-in prompts' defaults. */
  promptPolicies?: Readonly<Record<string, ToolPolicy>>;
  /** Per-resource requirements (by resource family, e.g. "notes") overriding the defaults. */
  resourcePolicies?: Readonly<Record<string, ToolPolicy>>;
  /** Tools served besides the built-in ones. */
  extraTools?: readonly ToolDefinition[];
  /** Seals the secret values (headers, env) of upstream servers registered at runtime. */
  upstreamSecrets: SecretBox;
  /** What upstreams configured with "identity": "assertion" receive about the caller. */
  identityFor?: IdentityFor;
  /** Gatehouse's public signing keys, served at /jwks (the authorization server serves them when mounted). */
  jwks?: () => { keys: unknown[] };
  /** Told of every request a rate limit refused (the metrics counter); nothing by default. */
  onRateLimited?(scope: RateLimitScope): void;
  /** On-behalf-of toward Graph and other Entra-protected APIs (when Gatehouse holds an Entra credential). */
  delegated?: DelegatedAccess;
  /** When set, Gatehouse is also the OAuth authorization server MCP clients sign in through. */
  authServer?: Pick<
    AuthServerOptions,
    'keyring' | 'entraTokens' | 'masterSecret' | 'fetch' | 'onGrantRevoked'
  >;
  /** Secret behind the browser pages' CSRF tokens; the same on every instance (derived from the master secret). */
  webSecret?: string;
  /** Searches the durable audit log for the admin console; without it the audit page says it is not available. */
  searchAudit?: SearchAudit;
  /** Checks a break-glass login (password hash and throttle); without it /admin/login is not enabled. */
  checkBreakGlassLogin?: CheckBreakGlassLogin;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

function authorizationHeaders(raw: readonly string[]): number {
  let count = 0;
  for (let index = 0; index < raw.length; index += 2)
    if ((raw[index] as string).length === 13 && (raw[index] as string).toLowerCase() === 'authorization')
      count++;
  return count;
}

/** Assembles the Fastify application; it does not listen (tests use inject() or listen on port 0). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, logger, stores } = options;
  const metrics = options.metrics ?? new Metrics(options.version);
  const audit = metrics.auditing(options.audit);
  const traces = config.observability.traces;
  // The OpenTelemetry SDK is loaded only when traces are exported.
  const tracing =
    traces === undefined
      ? undefined
      : (await import('../ops/tracing.js')).createTracing(traces, options.version);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One debug line per request (below) instead of Fastify's two info lines: logging is not free on the hot path.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    // Each request's child logger is made only when the request logs something.
    childLoggerFactory: (parent, bindings, childOptions) =>
      deferredChildLogger(
        parent as unknown as Logger,
        bindings,
        childOptions,
      ) as unknown as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimit,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: trustProxyOption(config.server.trustedProxies),
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Node keeps the first of several Authorization headers; which one counts must not be a guess.
    if (request.headers.authorization !== undefined && authorizationHeaders(request.raw.rawHeaders) > 1) {
      throw new GatehouseError(
        'GH_AUTH_DUPLICATE_CREDENTIALS',
        'The request has more than one Authorization header: send exactly one (Authorization: Bearer <access token>).',
      );
    }
  });
  refuseForeignHosts(app, config.server.baseUrl);
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpResponse(request.routeOptions.url, reply.statusCode);
    done();
  });
  if (logger.isLevelEnabled('debug')) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        {
          method: request.method,
          url: redactUrl(request.url),
          status: reply.statusCode,
          ms: reply.elapsedTime,
        },
        'request',
      );
    });
  }

  // Before any route is declared: the per-IP limits attach themselves to the routes they guard.
  const limits = await installRateLimits(app, {
    settings: rateLimitSettings(config, options.toolPolicies),
    ...(stores.redis ? { redis: stores.redis } : {}),
    audit,
    onLimited: (scope) => {
      metrics.rateLimited(scope);
      options.onRateLimited?.(scope);
    },
  });

  const decorateAuthError = authErrorDecorator(challengeContext(config));
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: 'GH_HTTP_NOT_FOUND',
      message: `No route for ${request.method} ${request.url.split('?')[0]}. The MCP endpoint is ${MCP_PATHS[0]}.`,
    });
  });
  app.setErrorHandler((error: FastifyError | GatehouseError, request, reply) => {
    const known = isGatehouseError(error) ? error : fromFastifyError(error);
    if (known.code === 'GH_INTERNAL') request.log.error({ err: error }, 'request failed');
    decorateAuthError(reply, known);
    reply.code(known.status).send({ error: known.code, message: known.message, requestId: request.id });
  });

  const startedAt = options.startedAt ?? Date.now();
  // Without a chat backend the chat tools are not served at all (the start output says how to enable them).
  const chat = createChatBackend(config);
  const tools = [
    ...BUILT_IN_TOOLS,
    ...(chat === undefined ? [] : CHAT_TOOLS),
    ...REGISTRY_TOOLS,
    ...(options.extraTools ?? []),
  ];
  const serverRegistry = new ServerRegistry(
    config.gateway.servers,
    config.gateway.definitions,
    stores.durable.upstreamServers,
    options.upstreamSecrets,
    {
      logger,
      allowRuntimeStdio: config.gateway.runtimeStdio,
      builtInNames: new Set(tools.map((tool) => tool.name)),
    },
  );
  const gateway = new Gateway(serverRegistry, {
    logger,
    audit: audit,
    version: options.version,
    listTtlMs: config.gateway.listTtlMs,
  });
  const toolPolicies = options.toolPolicies ?? {};
  const surfaceOptions = {
    listWaitMs: config.gateway.listWaitMs,
    overrides: toolPolicies,
    ...(options.identityFor ? { identityFor: options.identityFor } : {}),
  };
  // The surface and the policy need each other: the policy asks the surface for an upstream tool's
  // requirements, the surface asks the policy for every decision.
  let surface: GatewaySurface | undefined;
  let builtIns: BuiltInSurface | undefined;
  const access = new ToolAccess(
    config.auth.scopeNames,
    toolPolicies,
    audit,
    (tool) => surface?.toolPolicyOf(tool),
    (method, params) => builtIns?.policyOfUse(method, params),
  );
  surface = new GatewaySurface(gateway, access, audit, surfaceOptions);
  const noteEvents = new NoteEvents();
  const searchAudit = options.searchAudit ?? auditSearch(stores.durable.auditLog);
  const services = {
    config,
    durable: stores.durable,
    ephemeral: stores.ephemeral,
    version: options.version,
    startedAt,
    gateway,
    gatewaySurface: surface,
    ...(options.delegated ? { delegated: options.delegated } : {}),
    chat,
    notesChanged: (userId: string, noteId: string, change: 'created' | 'deleted') =>
      noteEvents.changed(userId, noteId, change),
    /** The audit log's search (the admin console's audit page). */
    searchAudit,
  };
  const registry = new ToolRegistry(
    tools,
    (error, tool) => logger.error({ err: error, tool }, 'tool failed'),
    audit,
  );
  const logMethodFailure = (error: unknown, method: string) =>
    logger.error({ err: error, method }, 'MCP method failed');
  const identity = {
    name: 'gatehouse',
    title: 'Gatehouse',
    version: options.version,
    instructions:
      'Gatehouse serves tools behind Microsoft Entra ID sign-in, its own and those of the MCP servers behind it ({server}__{tool}). Call whoami to see who you are signed in as.',
  };
  builtIns = new BuiltInSurface(
    BUILT_IN_PROMPTS,
    stores.durable.notes,
    access,
    { prompts: options.promptPolicies ?? {}, resources: options.resourcePolicies ?? {} },
    noteEvents,
  );
  const dispatcher = new McpDispatcher(
    registry,
    access,
    services,
    identity,
    logMethodFailure,
    surface,
    builtIns,
    metrics,
  );

  // /mcp/{server}: one upstream under its own names, without Gatehouse's own tools.
  const noTools = new ToolRegistry([], () => {});
  // By definition: a redefined server (new title, new policy) gets a fresh dispatcher.
  const perServer = new WeakMap<object, { dispatcher: McpDispatcher; access: ToolAccess }>();
  const selectServer = (request: FastifyRequest) => {
    const name = (request.params as { server?: string }).server ?? '';
    const runtime = gateway.runtime(name);
    if (runtime === undefined) {
      throw new GatehouseError(
        'GH_GATEWAY_SERVER_NOT_FOUND',
        `No enabled upstream server is named '${name}': /mcp/{server} serves one server of /api/servers; /mcp serves them all.`,
      );
    }
    let entry = perServer.get(runtime.server);
    if (entry === undefined) {
      let single: GatewaySurface | undefined;
      const singleAccess = new ToolAccess(config.auth.scopeNames, {}, audit, (tool) =>
        single?.toolPolicyOf(tool),
      );
      single = new GatewaySurface(gateway, singleAccess, audit, { ...surfaceOptions, single: name });
      entry = {
        access: singleAccess,
        dispatcher: new McpDispatcher(
          noTools,
          singleAccess,
          services,
          {
            name: `gatehouse/${name}`,
            title: runtime.server.title,
            version: options.version,
            instructions: runtime.server.description ?? `The MCP server '${name}' behind Gatehouse.`,
          },
          logMethodFailure,
          single,
          undefined,
          metrics,
        ),
      };
      perServer.set(runtime.server, entry);
    }
    return entry;
  };
  await serverRegistry.start(config.gateway.syncIntervalMs);
  gateway.start();
  metrics.observeGateway(gateway);
  app.addHook('onClose', async () => {
    serverRegistry.stop();
    await gateway.close();
    await tracing?.shutdown();
  });

  await app.register(metricsRoute, { metrics, token: config.observability.metricsToken });
  await registerApiDocs(app, { version: options.version, baseUrl: config.server.baseUrl });
  // The browser pages sign in through the same Entra client as the authorization server's sign-in.
  const entra = options.authServer ? gatehouseEntraClient(config, options.authServer.fetch) : undefined;
  const pages = webPages({
    config,
    durable: stores.durable,
    ephemeral: stores.ephemeral,
    audit,
    version: options.version,
    startedAt,
    secret: options.webSecret ?? randomBytes(32).toString('base64url'),
    entra,
    ...(options.delegated ? { delegated: options.delegated } : {}),
    servers: () => serverRegistry.views().map((view) => serverSummary(gateway, view)),
    ...(options.authServer?.onGrantRevoked ? { onGrantRevoked: options.authServer.onGrantRevoked } : {}),
    searchAudit,
    ...(options.checkBreakGlassLogin ? { checkBreakGlassLogin: options.checkBreakGlassLogin } : {}),
  });
  // Browser-facing routes get helmet's full set of headers. The MCP endpoint answers JSON-RPC to
  // programs, sets the two headers that matter there itself, and skips ~1 KB of headers per call.
  await app.register(async (web) => {
    await web.register(helmet, { global: true });
    await web.register(healthRoutes, {
      durable: stores.durable,
      ephemeral: stores.ephemeral,
      ...(options.audit.stats ? { audit: options.audit as Required<AuditSink> } : {}),
    });
    await web.register(resourceServerRoutes, {
      config,
      resolveCaller: options.resolveCaller,
      upstreamTitle: (name) => gateway.runtime(name)?.server.title,
    });
    await web.register(gatewayRoutes, { gateway, access, resolveCaller: options.resolveCaller });
    await web.register(auditRoutes, { search: searchAudit, access, resolveCaller: options.resolveCaller });
    await web.register(pages.routes);
  });
  const jwks = options.jwks;
  if (options.authServer === undefined && jwks !== undefined) {
    // Upstreams verify Gatehouse's identity assertions with these keys, authorization server or not.
    app.get('/jwks', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('application/jwk-set+json; charset=utf-8').send(jwks()),
    );
  }
  if (options.authServer !== undefined) {
    await app.register(registerAuthServer, {
      config,
      durable: stores.durable,
      ephemeral: stores.ephemeral,
      ...options.authServer,
      audit,
      ...(options.delegated ? { delegated: options.delegated } : {}),
      ...(entra ? { entra } : {}),
      browserCallback: pages.browserCallback,
      onTokenIssued: (grantType) => metrics.tokenIssued(grantType),
      onAuthorizationCompleted: () => metrics.authorizationCompleted(),
      acceptsResource: (resource) => {
        const prefix = `${config.server.baseUrl}/mcp/`;
        if (
          resource === `${config.server.baseUrl}/sse` ||
          resource === `${config.server.baseUrl}${ECHO_PATH}`
        )
          return true;
        return resource.startsWith(prefix) && gateway.runtime(resource.slice(prefix.length)) !== undefined;
      },
    });
  }
  const endpoint = {
    dispatcher,
    access,
    sessions: new SessionManager(stores.ephemeral, config.mcp.sessionTtlMs),
    transport: createTransportPolicy({
      baseUrl: config.server.baseUrl,
      bindHost: config.server.host,
      allowedOrigins: config.mcp.allowedOrigins,
    }),
    sessionMode: config.mcp.sessionMode,
    responseMode: config.mcp.responseMode,
    bodyLimit: config.server.bodyLimit,
    resolveCaller: options.resolveCaller,
    decorateAuthError,
    limits,
    tracing,
    observer: metrics,
  };
  const sessionHooks = {
    provideSessionNotifier: (notify: (sessionId: string, message: unknown) => boolean) =>
      gateway.subscriptions.addNotifier(notify),
    onSessionEnded: (sessionId: string) => gateway.subscriptions.sessionEnded(sessionId),
  };
  await app.register(mcpEndpoint, {
    ...endpoint,
    // The note resources are served at /mcp only: their notifications go to its streams.
    provideSessionNotifier: (notify) => {
      sessionHooks.provideSessionNotifier(notify);
      noteEvents.addSessionNotifier(notify);
    },
    provideUserNotifier: (notify) => noteEvents.addUserNotifier(notify),
    onSessionEnded: (sessionId) => {
      sessionHooks.onSessionEnded(sessionId);
      noteEvents.sessionEnded(sessionId);
    },
    subscribeListChanged: (notify) =>
      gateway.onListChanged((kind) => notify(kind === 'resourceTemplates' ? 'resources' : kind)),
  });
  // /echo: the MCP endpoint under the name some clients were configured with; its own protected
  // resource (RFC 9728), so its challenge and metadata name /echo and tokens bound to it are accepted.
  const echoChallenge = authErrorDecorator(challengeContext(config, ECHO_PATH));
  await app.register(mcpEndpoint, {
    ...endpoint,
    ...sessionHooks,
    paths: [ECHO_PATH],
    resolveCaller: (request) => options.resolveCaller(request, ECHO_PATH),
    decorateAuthError: echoChallenge,
  });
  // The 2024-11-05 HTTP+SSE transport for old clients: the same dispatcher, policy and sign-in.
  const sseChallenge = authErrorDecorator(challengeContext(config, '/sse'));
  await app.register(legacySseTransport, {
    dispatcher,
    access,
    transport: endpoint.transport,
    store: stores.ephemeral,
    noteTtlMs: config.mcp.sessionTtlMs,
    bodyLimit: config.server.bodyLimit,
    maxStreamsPerUser: config.mcp.sseMaxStreamsPerUser,
    limits,
    resolveCaller: (request, resourcePath) =>
      options.resolveCaller(request, resourcePath === '/mcp' ? undefined : resourcePath),
    decorateAuthError: (reply, error, resourcePath) =>
      (resourcePath === '/sse' ? sseChallenge : decorateAuthError)(reply, error),
    ...sessionHooks,
    subscribeListChanged: (notify) =>
      gateway.onListChanged((kind) => notify(kind === 'resourceTemplates' ? 'resources' : kind)),
  });
  // Each /mcp/{server} challenges with its own resource metadata (RFC 9728 §5.1).
  const serverChallenges = new Map<string, ReturnType<typeof authErrorDecorator>>();
  await app.register(mcpEndpoint, {
    ...endpoint,
    ...sessionHooks,
    paths: [MCP_SERVER_PATH],
    select: selectServer,
    decorateAuthError: (reply, error) => {
      const name = (reply.request.params as { server?: string }).server ?? '';
      let decorate = serverChallenges.get(name);
      if (decorate === undefined) {
        decorate = authErrorDecorator(challengeContext(config, `/mcp/${name}`));
        if (gateway.runtime(name) !== undefined) serverChallenges.set(name, decorate);
      }
      decorate(reply, error);
    },
  });
  return app;
}

function fromFastifyError(error: FastifyError): GatehouseError {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new GatehouseError(
      'GH_HTTP_BODY_TOO_LARGE',
      'The request body is too large (see HTTP_BODY_LIMIT).',
    );
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new GatehouseError('GH_HTTP_BAD_REQUEST', error.message);
  }
  return new GatehouseError('GH_INTERNAL', 'Internal error; the server log has the details.');
}
