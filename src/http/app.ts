import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { type AuthServerOptions, registerAuthServer } from '../auth-server/index.js';
import type { GatehouseConfig } from '../config/index.js';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import { McpDispatcher } from '../mcp/dispatcher.js';
import { MCP_PATHS, mcpEndpoint } from '../mcp/endpoint.js';
import { SessionManager } from '../mcp/sessions.js';
import type { ToolDefinition } from '../mcp/tool.js';
import { ToolAccess } from '../mcp/tool-access.js';
import { ToolRegistry } from '../mcp/tool-registry.js';
import { BUILT_IN_TOOLS } from '../mcp/tools/index.js';
import { createTransportPolicy } from '../mcp/transport-checks.js';
import type { AuditSink } from '../ops/audit.js';
import { healthRoutes } from '../ops/health.js';
import type { ToolPolicy } from '../policy/tool-policy.js';
import { authErrorDecorator, challengeContext, resourceServerRoutes } from '../resource-server/routes.js';
import type { Stores } from './storage-selection.js';

export interface AppOptions {
  config: GatehouseConfig;
  logger: Logger;
  stores: Stores;
  version: string;
  audit: AuditSink;
  startedAt?: number;
  /** Who is calling: the authenticator, or the development user. Throws to refuse. */
  resolveCaller(request: FastifyRequest): Caller | Promise<Caller>;
  /** Per-tool requirements overriding the built-in defaults. */
  toolPolicies?: Readonly<Record<string, ToolPolicy>>;
  /** Tools served besides the built-in ones. */
  extraTools?: readonly ToolDefinition[];
  /** When set, Gatehouse is also the OAuth authorization server MCP clients sign in through. */
  authServer?: Pick<
    AuthServerOptions,
    'keyring' | 'entraTokens' | 'masterSecret' | 'fetch' | 'onGrantRevoked' | 'registrationLimit'
  >;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Assembles the Fastify application; it does not listen (tests use inject() or listen on port 0). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, logger, stores } = options;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One debug line per request (below) instead of Fastify's two info lines: logging is not free on the hot path.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: config.server.bodyLimit,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  if (logger.isLevelEnabled('debug')) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
        'request',
      );
    });
  }

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
  const services = {
    config,
    durable: stores.durable,
    ephemeral: stores.ephemeral,
    version: options.version,
    startedAt,
  };
  const registry = new ToolRegistry([...BUILT_IN_TOOLS, ...(options.extraTools ?? [])], (error, tool) =>
    logger.error({ err: error, tool }, 'tool failed'),
  );
  const access = new ToolAccess(config.auth.scopeNames, options.toolPolicies ?? {}, options.audit);
  const dispatcher = new McpDispatcher(
    registry,
    access,
    services,
    {
      name: 'gatehouse',
      title: 'Gatehouse',
      version: options.version,
      instructions:
        'Gatehouse serves tools behind Microsoft Entra ID sign-in. Call whoami to see who you are signed in as.',
    },
    (error, method) => logger.error({ err: error, method }, 'MCP method failed'),
  );

  // Browser-facing routes get helmet's full set of headers. The MCP endpoint answers JSON-RPC to
  // programs, sets the two headers that matter there itself, and skips ~1 KB of headers per call.
  await app.register(async (web) => {
    await web.register(helmet, { global: true });
    await web.register(healthRoutes, { durable: stores.durable, ephemeral: stores.ephemeral });
    await web.register(resourceServerRoutes, { config, resolveCaller: options.resolveCaller });
    web.get('/', async () => ({
      name: 'Gatehouse',
      version: options.version,
      mcp: `${config.server.baseUrl}${MCP_PATHS[0]}`,
      authentication: config.auth.enabled ? 'entra' : 'development (off)',
    }));
  });
  if (options.authServer !== undefined) {
    await app.register(registerAuthServer, {
      config,
      durable: stores.durable,
      ephemeral: stores.ephemeral,
      ...options.authServer,
    });
  }
  await app.register(mcpEndpoint, {
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
