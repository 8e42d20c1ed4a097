import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type GatehouseConfig, isAuthorizationServer } from '../config/index.js';
import type { GatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import { type ChallengeContext, wwwAuthenticate } from './challenge.js';

export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/**
 * How scopes are named toward the authorization server, and the challenge every 401 carries.
 * `resourcePath` is the protected resource's path: /mcp, or /mcp/{server} for one upstream.
 */
export function challengeContext(
  config: GatehouseConfig,
  resourcePath = '/mcp',
): ChallengeContext | undefined {
  const entra = config.auth.entra;
  if (!config.auth.enabled || entra === undefined) return undefined;
  const advertise = scopeAdvertiser(config);
  const names = config.auth.scopeNames;
  return {
    resourceMetadataUrl: `${config.server.baseUrl}${RESOURCE_METADATA_PATH}${resourcePath}`,
    defaultScopes: [names.discover, names.toolsExecute].map(advertise),
    advertise,
  };
}

/**
 * How scopes are named toward the authorization server MCP clients use: Gatehouse's own (bare
 * names) when it is the authorization server, otherwise Entra (names under the identifier URI).
 */
export function scopeAdvertiser(config: GatehouseConfig): (scope: string) => string {
  const entra = config.auth.entra;
  if (isAuthorizationServer(config) || entra === undefined) return (scope) => scope;
  return (scope) => `${entra.identifierUri}/${scope}`;
}

/** The authorization server MCP clients are sent to. */
export function authorizationServer(config: GatehouseConfig): string {
  const entra = config.auth.entra;
  if (isAuthorizationServer(config) || entra === undefined) return config.server.baseUrl;
  return `${entra.authorityHost}/${entra.tenant}/v2.0`;
}

/** Seconds a client is asked to wait when PostgreSQL or Redis did not answer. */
export const STORAGE_RETRY_AFTER_SECONDS = '5';

/**
 * Sets WWW-Authenticate for an authentication failure, and Retry-After when keys or storage are
 * unavailable (503: the client may retry; PostgreSQL or Redis coming back needs no restart).
 */
export function authErrorDecorator(context: ChallengeContext | undefined) {
  return (reply: FastifyReply, error: GatehouseError): void => {
    if (error.code === 'GH_AUTH_KEYS_UNAVAILABLE') reply.header('retry-after', '30');
    if (error.code === 'GH_STORAGE_UNAVAILABLE') reply.header('retry-after', STORAGE_RETRY_AFTER_SECONDS);
    if (context === undefined) return;
    const header = wwwAuthenticate(error, context);
    if (header !== undefined) reply.header('www-authenticate', header);
  };
}

/**
 * RFC 9728 protected-resource metadata (at the path-inserted location for /mcp and at the root)
 * and /me, the caller's identity as Gatehouse sees it.
 */
export async function resourceServerRoutes(
  app: FastifyInstance,
  options: {
    config: GatehouseConfig;
    resolveCaller(request: FastifyRequest): Caller | Promise<Caller>;
    /** The title of the upstream served at /mcp/{server}, or undefined when there is none of that name. */
    upstreamTitle?(server: string): string | undefined;
  },
) {
  const { config } = options;
  const entra = config.auth.entra;
  if (config.auth.enabled && entra !== undefined) {
    const names = config.auth.scopeNames;
    const describe = (path: string, name: string) => ({
      resource: `${config.server.baseUrl}${path}`,
      authorization_servers: [authorizationServer(config)],
      scopes_supported: [names.discover, names.toolsRead, names.toolsExecute, names.chat].map(
        scopeAdvertiser(config),
      ),
      bearer_methods_supported: ['header'],
      resource_name: name,
      resource_documentation: `${config.server.baseUrl}/`,
    });
    const document = describe('/mcp', 'Gatehouse');
    const upstreamTitle = options.upstreamTitle;
    if (upstreamTitle !== undefined) {
      app.get(`${RESOURCE_METADATA_PATH}/mcp/:server`, { schema: { hide: true } }, async (request, reply) => {
        const { server } = request.params as { server: string };
        const title = upstreamTitle(server);
        if (title === undefined) {
          return reply.code(404).send({
            error: 'GH_GATEWAY_SERVER_NOT_FOUND',
            message: `No upstream server is named '${server}', so /mcp/${server} is not a protected resource here.`,
          });
        }
        return reply
          .header('cache-control', 'public, max-age=300')
          .send(describe(`/mcp/${server}`, `${title} (through Gatehouse)`));
      });
    }
    // The legacy HTTP+SSE transport at /sse: clients check that the URL lies under the resource.
    const legacySse = describe('/sse', 'Gatehouse (legacy HTTP+SSE transport)');
    app.get(`${RESOURCE_METADATA_PATH}/sse`, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').send(legacySse),
    );
    // /echo, the MCP endpoint under another name, is its own resource too.
    const echo = describe('/echo', 'Gatehouse');
    app.get(`${RESOURCE_METADATA_PATH}/echo`, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').send(echo),
    );
    for (const url of [
      `${RESOURCE_METADATA_PATH}/mcp`,
      RESOURCE_METADATA_PATH,
      `${RESOURCE_METADATA_PATH}/mcp/http`,
    ]) {
      app.get(url, async (_request, reply) =>
        reply.header('cache-control', 'public, max-age=3600').send(document),
      );
    }
  }

  app.get('/me', async (request) => {
    const caller = await options.resolveCaller(request);
    return {
      user: {
        id: caller.userId,
        tenantId: caller.tenantId,
        objectId: caller.objectId,
        name: caller.displayName,
        preferredUsername: caller.preferredUsername,
      },
      tenantId: caller.tenantId,
      tokenKind: caller.kind,
      clientAppId: caller.clientAppId,
      roles: caller.roles,
      scopes: caller.scopesApply ? caller.scopes : 'unrestricted (roles decide)',
      expiresAt: caller.expiresAt === null ? null : new Date(caller.expiresAt * 1000).toISOString(),
    };
  });
}
