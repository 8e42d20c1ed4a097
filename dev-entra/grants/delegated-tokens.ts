import { grantedScopes } from '../directory/consent.js';
import {
  describeScopes,
  oidcScopes,
  parseScopes,
  parseV1Resource,
  type ResourceRequest,
  singleResource,
} from '../directory/scopes.js';
import { AadstsError } from '../errors/aadsts-error.js';
import { randomString } from '../lib/encoding.js';
import type { SeedUser } from '../seed.js';
import type { RedirectKind, SignIn } from '../state.js';
import { issueAccessToken } from '../tokens/access-token.js';
import { clientInfo, issueIdToken } from '../tokens/id-token.js';
import { REFRESH_TOKEN_LIFETIME_MS, SPA_REFRESH_TOKEN_LIFETIME_MS } from '../tokens/lifetimes.js';
import type { TokenRequest, TokenResponseBody } from './token-request.js';

export interface DelegatedGrant {
  user: SeedUser;
  signIn: SignIn;
  /** v2: the effective scope string. v1: only its OIDC part matters. */
  scope: string;
  /** v1 `resource=`. */
  resource: string | undefined;
  nonce: string | undefined;
  redirectKind: RedirectKind;
  /** Refresh accepts several APIs and uses the first; the other grants refuse them (AADSTS28000). */
  multipleResources: 'reject' | 'first';
  /** An inherited refresh-token deadline (spa). */
  refreshDeadline?: number;
  /** OBO never returns an ID token. */
  idToken: boolean;
}

function resolveResource(
  request: TokenRequest,
  grant: DelegatedGrant,
): { resource: ResourceRequest; oidc: Set<string> } {
  const { ctx, version } = request;
  if (version === 'v1') {
    const resourceId = grant.resource ?? ctx.directory.graph?.identifierUris[0];
    if (!resourceId)
      throw new AadstsError(900144, {
        detail: "The request body must contain the following parameter: 'resource'.",
      });
    // v1 always answers a user grant with a refresh token and an ID token.
    return {
      resource: parseV1Resource(resourceId, ctx.directory),
      oidc: new Set([...oidcScopes(grant.scope), 'openid', 'offline_access']),
    };
  }
  const parsed = parseScopes(grant.scope, ctx.directory);
  const named =
    grant.multipleResources === 'first' ? parsed.resources[0] : singleResource(parsed, grant.scope);
  if (named) return { resource: named, oidc: parsed.oidc };
  // Only OIDC scopes: Entra still returns an access token, for Microsoft Graph.
  const graph = ctx.directory.graph;
  if (!graph)
    throw new AadstsError(70011, {
      detail: "The provided value for the input parameter 'scope' is not valid.",
    });
  return {
    resource: {
      app: graph,
      audience: graph.identifierUris[0] ?? graph.appId,
      form: 'bare',
      scopes: ['User.Read'],
      isDefault: false,
    },
    oidc: parsed.oidc,
  };
}

/** Issues the access, refresh and ID tokens of a user grant and shapes the response for v1 or v2. */
export async function issueDelegatedTokens(
  request: TokenRequest,
  grant: DelegatedGrant,
): Promise<TokenResponseBody> {
  const { ctx, client, version, params } = request;
  const { resource, oidc } = resolveResource(request, grant);
  if (resource.app.appId === client.app.appId && resource.form === 'uri') {
    throw new AadstsError(90009, {
      detail: `Application '${client.app.appId}'(${client.app.displayName}) is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.`,
    });
  }
  const scopes = grantedScopes(ctx, client.app, resource, grant.user.id);
  const access = await issueAccessToken(ctx, {
    kind: 'user',
    client: client.app,
    clientAcr: client.acr,
    resource,
    user: grant.user,
    signIn: grant.signIn,
    scopes,
    oidc,
  });
  const body: TokenResponseBody = { token_type: 'Bearer' };
  let refreshToken: string | undefined;
  if (oidc.has('offline_access')) {
    refreshToken = `1.A${randomString(96)}`;
    const lifetime = grant.redirectKind === 'spa' ? SPA_REFRESH_TOKEN_LIFETIME_MS : REFRESH_TOKEN_LIFETIME_MS;
    ctx.state.saveRefreshToken(refreshToken, {
      clientId: client.app.appId,
      signIn: grant.signIn,
      scope: grant.scope,
      redirectKind: grant.redirectKind,
      expiresAt: grant.refreshDeadline ?? ctx.now() + lifetime,
    });
  }
  const idToken =
    grant.idToken && oidc.has('openid')
      ? await issueIdToken(ctx, {
          version,
          client: client.app,
          user: grant.user,
          signIn: grant.signIn,
          oidc,
          nonce: grant.nonce,
        })
      : undefined;
  if (version === 'v2') {
    body.scope = describeScopes(resource, scopes, oidc);
    body.expires_in = access.expiresIn;
    body.ext_expires_in = access.expiresIn;
    body.access_token = access.token;
  } else {
    // v1 sends numbers as strings and names the resource.
    body.scope = scopes.join(' ');
    body.expires_in = String(access.expiresIn);
    body.ext_expires_in = String(access.expiresIn);
    body.expires_on = String(access.claims.exp);
    body.not_before = String(access.claims.nbf);
    body.resource = resource.audience;
    body.access_token = access.token;
  }
  if (refreshToken) body.refresh_token = refreshToken;
  if (idToken) body.id_token = idToken;
  if (params.get('client_info') === '1') body.client_info = clientInfo(ctx, grant.user);
  return body;
}
