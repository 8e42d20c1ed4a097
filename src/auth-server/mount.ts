import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { EphemeralStore } from '../storage/contract.js';
import type { Keyring } from '../tokens/keyring.js';
import { AUTH_SERVER_ROUTES } from './provider.js';
import {
  DEFAULT_REGISTRATION_LIMIT,
  type RegistrationLimit,
  registrationLimiter,
} from './registration-limit.js';

/**
 * Serves oidc-provider's endpoints from the Fastify app. Their bodies are left unread for
 * oidc-provider to parse, except registration, which is adjusted first (see registrationDefaults).
 */
export async function mountProvider(
  app: FastifyInstance,
  options: {
    provider: Provider;
    /** Served at the JWKS route: every published key, so rotations show without a restart. */
    keyring: Keyring;
    ephemeral: EphemeralStore;
    registrationLimit?: RegistrationLimit;
    /** Told when a request is refused by a rate limit, with the limit's scope (metrics). */
    onRateLimited?: (scope: string) => void;
    /** Scopes granted when an authorization request names none (OAuth 2.1 lets it omit scope). */
    defaultScope: string;
    /** MCP_SERVER_BASE_URL: every URL the authorization server publishes is built from it. */
    publicUrl: string;
    /** Every scope an authorization request may name; others are left out of the request. */
    knownScopes: readonly string[];
  },
) {
  const callback = options.provider.callback();
  const publicUrl = new URL(options.publicUrl);
  const publicProto = publicUrl.protocol.slice(0, -1);
  const withinRegistrationLimit = registrationLimiter(
    options.ephemeral,
    options.registrationLimit ?? DEFAULT_REGISTRATION_LIMIT,
  );
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    if (
      request.method === 'POST' &&
      request.routeOptions.url === AUTH_SERVER_ROUTES.registration &&
      !(await withinRegistrationLimit(request, reply))
    ) {
      options.onRateLimited?.('register');
      return reply;
    }
    if (request.method === 'GET' && request.routeOptions.url === AUTH_SERVER_ROUTES.authorization) {
      const url = new URL(request.raw.url ?? '/', 'http://gatehouse.invalid');
      const requested = url.searchParams.get('scope');
      const scope = authorizationScope(requested, options.knownScopes, options.defaultScope);
      if (scope !== requested) {
        url.searchParams.set('scope', scope);
        request.raw.url = `${url.pathname}${url.search}`;
      }
    }
    // oidc-provider builds its endpoints' URLs from the request's host (and, behind a proxy, its
    // X-Forwarded-* headers): it sees Gatehouse's public URL instead, whatever the request said, so
    // that a forged Host cannot put another server's endpoints into the metadata.
    const headers = request.raw.headers;
    headers.host = publicUrl.host;
    headers['x-forwarded-host'] = publicUrl.host;
    headers['x-forwarded-proto'] = publicProto;
    delete headers.forwarded;
    if (request.method === 'GET' && DISCOVERY_PATHS.has(request.routeOptions.url ?? '')) {
      // Metadata may be cached by clients and shared caches, for a short while (keys rotate).
      reply.raw.setHeader('cache-control', 'public, max-age=300');
      reply.raw.setHeader('vary', 'Origin');
    }
    reply.hijack();
    await callback(request.raw, reply.raw);
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  // JSON bodies are read here (Fastify reads them once parseAs is set), so all of them are handed
  // to oidc-provider as req.body; only a new registration is adjusted on the way.
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (request, body, done) => {
      let text = body as string;
      if (request.method === 'POST' && request.routeOptions.url === AUTH_SERVER_ROUTES.registration) {
        try {
          text = JSON.stringify(registrationDefaults(JSON.parse(text)));
        } catch {
          // Malformed JSON goes through unchanged: oidc-provider answers it with invalid_client_metadata.
        }
      }
      (request.raw as { body?: string }).body = text;
      done(null);
    },
  );

  // oidc-provider would serve the keys it was built with; Gatehouse's keyring has the live set.
  app.route({
    method: ['GET', 'OPTIONS'],
    url: AUTH_SERVER_ROUTES.jwks,
    handler: async (request, reply) => {
      reply.header('access-control-allow-origin', '*');
      if (request.method === 'OPTIONS') {
        return reply.code(204).header('access-control-allow-methods', 'GET').send();
      }
      return reply.type('application/jwk-set+json; charset=utf-8').send(options.keyring.jwks());
    },
  });

  const paths = [
    ...Object.values(AUTH_SERVER_ROUTES).filter((route) => route !== AUTH_SERVER_ROUTES.jwks),
    `${AUTH_SERVER_ROUTES.authorization}/:uid`,
    `${AUTH_SERVER_ROUTES.registration}/:clientId`,
    '/.well-known/openid-configuration',
  ];
  for (const url of paths)
    app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'], url, handler: forward });

  // RFC 8414 metadata: the same document as OpenID discovery, at the path MCP clients try first.
  app.route({
    method: ['GET', 'OPTIONS'],
    url: '/.well-known/oauth-authorization-server',
    handler: async (request, reply) => {
      request.raw.url = '/.well-known/openid-configuration';
      return forward(request, reply);
    },
  });
}

const DISCOVERY_PATHS = new Set([
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
]);

/**
 * The scope of an authorization request as Gatehouse serves it. Values it does not know are left
 * out (RFC 6749 §3.3 lets the server ignore part of a request): some clients ask for a scope of
 * their own whatever the server advertises (claude.ai's `claudeai`, others' `read write`), which
 * would otherwise end the sign-in in access_denied after the user allowed it. A request left with
 * no scope Gatehouse knows gets the default, like one that named none; the token response's
 * `scope` says what was granted.
 */
export function authorizationScope(
  requested: string | null,
  knownScopes: readonly string[],
  defaultScope: string,
): string {
  if (requested === null) return defaultScope;
  const values = requested.split(' ').filter(Boolean);
  const known = values.filter((scope) => knownScopes.includes(scope));
  if (known.length === 0) return defaultScope;
  // Unchanged when nothing is left out, so oidc-provider sees the client's own request.
  return known.length === values.length ? requested : known.join(' ');
}

/**
 * What MCP clients leave out of their registration: most send no token_endpoint_auth_method (they
 * are public clients). The application type they leave out is settled with the redirect URIs, for
 * registered and metadata-document clients alike (application-type.ts).
 */
export function registrationDefaults(metadata: Record<string, unknown>): Record<string, unknown> {
  const result = { ...metadata };
  if (result.token_endpoint_auth_method === undefined) result.token_endpoint_auth_method = 'none';
  return result;
}
