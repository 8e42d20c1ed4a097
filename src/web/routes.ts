import { createHash, randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { checkSignInWithGraph } from '../entra/delegated-access.js';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import { MCP_PATHS } from '../mcp/endpoint.js';
import { adminRoutes } from './admin/routes.js';
import { localPath, WebContext, type WebOptions } from './context.js';
import { listGrants, revokeGrant } from './grants.js';
import { WEB_PAGE_HEADERS } from './html.js';
import { landingPage } from './landing-page.js';
import { csrfRefusal, errorPage, requireViewer, sendPage } from './responses.js';

export type { CheckBreakGlassLogin, WebOptions } from './context.js';

const LOGIN_STATE_TTL_MS = 10 * 60 * 1000;

/**
 * Gatehouse's own browser pages: the landing page at /, the browser sign-in (/auth/login, the
 * shared /auth/callback through `browserCallback`, /auth/logout) and the admin console at /admin.
 */
export function webPages(options: WebOptions) {
  const ctx = new WebContext(options);
  const bindingCookie = ctx.cookieName('gh_web_signin');

  async function routes(app: FastifyInstance) {
    await app.register(cookie);
    await app.register(formbody);
    app.addHook('onSend', async (_request, reply) => {
      const { 'content-type': _type, ...headers } = WEB_PAGE_HEADERS;
      reply.headers(headers);
    });
    app.setErrorHandler((error, request, reply) => {
      const known = isGatehouseError(error) ? error : undefined;
      if (known === undefined) request.log.error({ err: error }, 'page failed');
      // A program (no text/html in Accept) gets the JSON error every other route answers with.
      if (!wantsHtml(request))
        return reply.code(known?.status ?? 500).send({
          error: known?.code ?? 'GH_INTERNAL',
          message: known?.message ?? 'The request failed; the server log has the details.',
          requestId: request.id,
        });
      return sendPage(
        reply,
        known?.status ?? 500,
        errorPage(
          known?.status === 403 ? 'Not allowed' : 'Something went wrong',
          known?.message ?? 'The page could not be shown; the server log has the details.',
          known?.code ?? 'GH_INTERNAL',
        ),
      );
    });

    app.get('/', { schema: { hide: true } }, async (request, reply) => {
      const mcp = `${options.config.server.baseUrl}${MCP_PATHS[0]}`;
      if (!wantsHtml(request)) {
        return {
          name: 'Gatehouse',
          version: options.version,
          mcp,
          authentication: options.config.auth.enabled ? 'entra' : 'development (off)',
        };
      }
      const viewer = await ctx.viewer(request);
      const grants =
        viewer?.session.userId == null
          ? []
          : await listGrants(options.durable, options.config, { accountId: viewer.session.userId });
      return sendPage(
        reply,
        200,
        landingPage({
          version: options.version,
          mcpUrl: mcp,
          signInAvailable: options.entra !== undefined,
          viewer,
          grants,
          revoked: (request.query as { revoked?: string }).revoked === '1',
        }),
      );
    });

    app.get('/auth/login', { schema: { hide: true } }, async (request, reply) => {
      const entra = options.entra;
      if (entra === undefined) {
        throw new GatehouseError(
          'GH_WEB_SIGN_IN_UNAVAILABLE',
          'Signing in with Entra ID needs Gatehouse to hold its Entra credential (MCP_AZURE_CLIENT_SECRET, a certificate or a federated credential). Administrators can use the break-glass login at /admin/login when it is enabled.',
        );
      }
      const state = randomBytes(24).toString('base64url');
      const nonce = randomBytes(24).toString('base64url');
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const binding = randomBytes(24).toString('base64url');
      const returnTo = localPath((request.query as { return?: unknown }).return);
      await options.ephemeral.set(
        `web-login:${state}`,
        JSON.stringify({ nonce, codeVerifier, binding: sha256(binding), returnTo }),
        LOGIN_STATE_TTL_MS,
      );
      reply.setCookie(bindingCookie, binding, { ...ctx.cookieOptions, maxAge: LOGIN_STATE_TTL_MS / 1000 });
      const url = await entra.authorizationUrl({
        state,
        nonce,
        codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      });
      return reply.redirect(url.toString(), 303);
    });

    app.post('/auth/logout', { schema: { hide: true } }, async (request, reply) => {
      const viewer = await ctx.viewer(request);
      if (viewer !== undefined && !ctx.formIsValid(viewer, request.body)) throw csrfRefusal();
      await ctx.endSession(request, reply);
      return reply.redirect('/', 303);
    });

    // A signed-in user ends one of their own grants from the landing page.
    app.post('/grants/:grantId/revoke', { schema: { hide: true } }, async (request, reply) => {
      const viewer = await requireViewer(ctx, request);
      if (!ctx.formIsValid(viewer, request.body)) throw csrfRefusal();
      const { grantId } = request.params as { grantId: string };
      const own = await listGrants(options.durable, options.config, {
        accountId: viewer.session.userId ?? '',
      });
      if (!own.some((grant) => grant.id === grantId)) {
        throw new GatehouseError(
          'GH_WEB_INPUT_INVALID',
          'You have no such grant: it may have ended already.',
        );
      }
      await revokeGrant(options.durable, grantId, options.onGrantRevoked);
      return reply.redirect('/?revoked=1', 303);
    });

    await app.register(adminRoutes, { ctx });
  }

  /**
   * Finishes a browser sign-in on Entra's callback (the redirect URI Gatehouse's app registration
   * has, shared with the MCP clients' sign-in). False when the state is not a browser sign-in's.
   */
  async function browserCallback(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const query = request.query as Record<string, string | undefined>;
    const entra = options.entra;
    if (query.state === undefined || entra === undefined) return false;
    const stored = await options.ephemeral.take(`web-login:${query.state}`);
    if (stored === undefined) return false;
    const login = JSON.parse(stored) as {
      nonce: string;
      codeVerifier: string;
      binding: string;
      returnTo: string;
    };
    const binding = request.cookies[bindingCookie];
    reply.clearCookie(bindingCookie, ctx.cookieOptions);
    if (binding === undefined || sha256(binding) !== login.binding) {
      throw new GatehouseError(
        'GH_SIGN_IN_STATE_INVALID',
        'This sign-in was started in another browser. Sign in again from the browser you use.',
      );
    }
    if (query.error) {
      const description = (query.error_description ?? '').split('\r\n')[0] ?? '';
      throw new GatehouseError('GH_ENTRA_SIGN_IN_FAILED', `Entra ID: ${description || query.error}`);
    }
    const signIn = await entra.processCallback(
      entra.callbackUrl(new URL(request.url, 'http://callback.invalid').search),
      {
        state: query.state,
        nonce: login.nonce,
        codeVerifier: login.codeVerifier,
      },
    );
    const user = await options.durable.users.upsert({
      tenantId: signIn.tenantId,
      objectId: signIn.objectId,
      displayName: signIn.name,
      preferredUsername: signIn.preferredUsername,
    });
    // The same checks and groups as a sign-in through the authorization server: one identity.
    const groups = await checkSignInWithGraph(options.delegated, signIn, user.id, {
      validateWithGraph: options.config.auth.validateWithGraph,
      warn: (error, message) => request.log.warn({ err: error }, message),
    });
    await ctx.startSession(reply, {
      via: 'entra',
      userId: user.id,
      name: signIn.preferredUsername ?? signIn.name ?? signIn.objectId,
      appRoles: signIn.roles,
      groups,
      createdAt: ctx.now(),
    });
    reply.redirect(login.returnTo, 303);
    return true;
  }

  return { routes, browserCallback };
}

/** A browser navigating asks for HTML first; API clients ask for JSON or anything. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /\btext\/html\b/.test(accept) && !/^\s*application\/json/.test(accept);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
