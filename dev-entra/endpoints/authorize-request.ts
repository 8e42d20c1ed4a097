import type { EmulatorContext, ProtocolVersion } from '../context.js';
import { defaultRedirectUri, findRedirectKind } from '../directory/redirect-uris.js';
import { parseScopes, parseV1Resource } from '../directory/scopes.js';
import { AadstsError } from '../errors/aadsts-error.js';
import { guid } from '../lib/encoding.js';
import type { PendingAuthorization } from '../state.js';
import { SIGN_IN_PAGE_LIFETIME_MS } from '../tokens/lifetimes.js';
import { checkResourceParameter } from './resource-parameter.js';

/**
 * An /authorize failure. `redirectTo` is set only once client and redirect URI are validated;
 * before that Entra shows its own error page and never redirects (AADSTS700016, AADSTS50011).
 */
export class AuthorizeError extends Error {
  constructor(
    readonly aadsts: AadstsError,
    readonly redirectTo?: PendingAuthorization,
  ) {
    super(aadsts.message);
  }
}

const RESPONSE_MODES = new Set(['query', 'fragment', 'form_post']);

/** The ordered checks of an authorization request; each throws on the first problem it finds. */
export function validateAuthorizeRequest(
  ctx: EmulatorContext,
  params: URLSearchParams,
  version: ProtocolVersion,
  tenantSegment: string,
): PendingAuthorization {
  const clientId = params.get('client_id');
  if (!clientId) {
    throw new AuthorizeError(
      new AadstsError(900144, {
        detail: "The request body must contain the following parameter: 'client_id'.",
      }),
    );
  }
  const app = ctx.directory.app(clientId);
  if (!app) {
    throw new AuthorizeError(
      new AadstsError(700016, {
        detail: `Application with identifier '${clientId}' was not found in the directory '${ctx.seed.tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      }),
    );
  }
  const redirectUri = params.get('redirect_uri') ?? defaultRedirectUri(app);
  if (!redirectUri) {
    throw new AuthorizeError(
      new AadstsError(500113, {
        detail: `No reply address is registered for the application '${app.appId}'.`,
      }),
    );
  }
  const redirectKind = findRedirectKind(app, redirectUri);
  if (!redirectKind) {
    throw new AuthorizeError(
      new AadstsError(50011, {
        detail: `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.appId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
      }),
    );
  }
  const mode = params.get('response_mode');
  const pending: PendingAuthorization = {
    id: guid(),
    tenantSegment,
    version,
    clientId: app.appId,
    redirectUri,
    redirectKind,
    responseMode: mode && RESPONSE_MODES.has(mode) ? (mode as PendingAuthorization['responseMode']) : 'query',
    state: params.get('state') ?? undefined,
    nonce: params.get('nonce') ?? undefined,
    scope: params.get('scope') ?? '',
    resource: params.get('resource') ?? undefined,
    codeChallenge: params.get('code_challenge') ?? undefined,
    codeChallengeMethod: 'plain',
    loginHint: params.get('login_hint') ?? undefined,
    domainHint: params.get('domain_hint') ?? undefined,
    prompt: params.get('prompt') ?? undefined,
    claims: params.get('claims') ?? undefined,
    clientInfo: params.get('client_info') === '1',
    expiresAt: ctx.now() + SIGN_IN_PAGE_LIFETIME_MS,
  };
  try {
    checkParameters(ctx, params, pending);
  } catch (e) {
    if (e instanceof AadstsError) throw new AuthorizeError(e, pending);
    throw e;
  }
  return pending;
}

function checkParameters(ctx: EmulatorContext, params: URLSearchParams, pending: PendingAuthorization): void {
  const responseType = params.get('response_type');
  if (!responseType) {
    throw new AadstsError(900144, {
      detail: "The request body must contain the following parameter: 'response_type'.",
    });
  }
  if (responseType !== 'code') {
    // Hybrid and implicit need `oauth2AllowIdTokenImplicitFlow`/`oauth2AllowImplicitFlow`, which no seeded app enables.
    throw new AadstsError(700054, {
      detail: `response_type '${responseType}' is not enabled for the application.`,
    });
  }
  if (pending.version === 'v2') {
    if (!pending.scope) {
      throw new AadstsError(900144, {
        detail: "The request body must contain the following parameter: 'scope'.",
      });
    }
    checkResourceParameter(ctx, params);
    parseScopes(pending.scope, ctx.directory);
  } else if (pending.resource) {
    parseV1Resource(pending.resource, ctx.directory);
  }
  const method = params.get('code_challenge_method');
  if (method !== null && method !== 'S256' && method !== 'plain') {
    throw new AadstsError(9002313, {
      error: 'invalid_request',
      detail: `Invalid request. The code_challenge_method '${method}' is not supported.`,
    });
  }
  // Entra assumes `plain` when the method is omitted.
  pending.codeChallengeMethod = method === 'S256' ? 'S256' : 'plain';
  if (pending.redirectKind === 'spa' && !pending.codeChallenge) throw new AadstsError(9002325);
}
