import Provider, { errors, interactionPolicy } from 'oidc-provider';
import type { Keyring } from '../tokens/keyring.js';
import { applicationTypeFor, applicationTypeProblem } from './application-type.js';
import { errorPage as pageForError } from './interactions/pages.js';
import { KeyringSigningKey } from './keyring-signing-key.js';
import { publicFetch } from './public-fetch.js';
import { compileRedirectPattern, type RedirectPattern, redirectUrisProblem } from './redirect-policy.js';

export interface AuthServerSettings {
  /** Gatehouse's issuer: its public base URL. */
  issuer: string;
  /** The canonical MCP resource URL access tokens are bound to by default (RFC 8707). */
  resource: string;
  /** Other resources tokens may be requested for (the gateway's /mcp/{server} endpoints). */
  acceptsResource?: ((resource: string) => boolean) | undefined;
  /** Scope names as tokens carry them. */
  scopes: readonly string[];
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Secrets that sign the authorization server's cookies (newest first). */
  cookieKeys: readonly string[];
  /** Whether cookies need HTTPS (the issuer is https). */
  secureCookies: boolean;
  /** Clients registered in advance (RFC 7591 metadata); they never expire. */
  clients: readonly Readonly<Record<string, unknown>>[];
  /** MCP_AZURE_REDIRECT_URIS: patterns every registered redirect URI must match (none: no allow-list). */
  redirectUriPatterns?: readonly string[] | undefined;
}

export interface ProviderHooks {
  /** oidc-provider's persistence, one adapter per model name. */
  adapter: new (
    name: string,
  ) => unknown;
  /** The account behind an accountId (Gatehouse's user id), or undefined when it is gone. */
  findAccount(accountId: string): Promise<{ claims: Record<string, unknown> } | undefined>;
  /** Claims added to access tokens for this account (tid, oid, roles); may refuse the token by throwing. */
  accessTokenClaims(accountId: string, grantId: string | undefined): Promise<Record<string, unknown>>;
  /** Whether the user approved sending this client's codes to this redirect URI (consent-memory.ts). */
  approvedRedirect(accountId: string, clientId: string, redirectUri: string): Promise<boolean>;
}

export const AUTH_SERVER_ROUTES = {
  authorization: '/authorize',
  token: '/token',
  registration: '/register',
  revocation: '/revoke',
  jwks: '/jwks',
  userinfo: '/userinfo',
  end_session: '/logout',
} as const;

/**
 * oidc-provider configured as the OAuth 2.1 authorization server MCP clients talk to:
 * authorization code with PKCE S256 only, open dynamic registration and client ID metadata
 * documents, JWT access tokens whose audience is the MCP resource, rotating refresh tokens for
 * public clients, revocation, and `iss` in authorization responses. Sign-in and consent are
 * interactions served by Gatehouse itself (see interactions/).
 */
export async function createProvider(
  settings: AuthServerSettings,
  keyring: Keyring,
  hooks: ProviderHooks,
): Promise<Provider> {
  const jwks = { keys: [new KeyringSigningKey(keyring)] };
  const scopes = ['openid', 'offline_access', 'profile', ...settings.scopes];
  const allowList = (settings.redirectUriPatterns ?? []).map((source) => {
    const pattern = compileRedirectPattern(source);
    if (typeof pattern === 'string') throw new Error(`MCP_AZURE_REDIRECT_URIS: ${pattern}`);
    return pattern;
  }) satisfies RedirectPattern[];
  const provider = new Provider(settings.issuer, {
    adapter: hooks.adapter as never,
    clients: settings.clients.map((client) => ({ token_endpoint_auth_method: 'none', ...client })) as never,
    jwks: jwks as never,
    cookies: {
      keys: [...settings.cookieKeys],
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: settings.secureCookies },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: settings.secureCookies },
    },
    routes: AUTH_SERVER_ROUTES,
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes,
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
      // Stands for "not named by the client" until the validator below replaces it with the type
      // the redirect URIs fit: OpenID Connect's own default, web, cannot be told apart from a
      // client that said web.
      application_type: APPLICATION_TYPE_UNNAMED,
    } as never,
    // The redirect-URI policy (redirect-policy.ts, application-type.ts) for every client
    // oidc-provider builds: registered (RFC 7591 §3.2.2 invalid_redirect_uri), fetched as a client
    // ID metadata document, or stored. It runs before oidc-provider's own checks of the metadata.
    extraClientMetadata: {
      properties: ['redirect_uris'],
      validator: (_ctx, key, value, metadata) => {
        if (key !== 'redirect_uris') return;
        const problem = redirectUrisProblem(value, allowList);
        if (problem !== undefined) throw invalidRedirectUri(problem);
        const client = metadata as { application_type?: string };
        if (client.application_type === APPLICATION_TYPE_UNNAMED)
          client.application_type = applicationTypeFor(value);
        const mismatch = applicationTypeProblem(client.application_type, value);
        if (mismatch !== undefined) throw invalidRedirectUri(mismatch);
      },
    },
    features: {
      devInteractions: { enabled: false },
      // Not mounted, so not advertised.
      pushedAuthorizationRequests: { enabled: false },
      registration: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: true },
      clientIdMetadataDocument: { enabled: true, ack: 'draft-02' },
      // Signing goes through Gatehouse's keyring (keyring-signing-key.ts), so rotations apply live.
      externalSigningSupport: { enabled: true, ack: 'experimental-01' },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => settings.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== settings.resource && !settings.acceptsResource?.(resource)) {
            throw new errors.InvalidTarget(
              `resource ${resource} is not served here; use ${settings.resource}`,
            );
          }
          return {
            scope: settings.scopes.join(' '),
            audience: resource,
            accessTokenTTL: settings.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // Public clients (every MCP client) get refresh tokens whether or not they asked for
    // offline_access: most follow the WWW-Authenticate scope, which never lists it.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: settings.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      RefreshToken: settings.refreshTokenTtlSeconds,
      Grant: settings.refreshTokenTtlSeconds,
      Interaction: 60 * 60,
      Session: 14 * 24 * 60 * 60,
      IdToken: 60 * 60,
    },
    findAccount: async (_ctx, accountId) => {
      const account = await hooks.findAccount(accountId);
      if (account === undefined) return undefined;
      return { accountId, claims: async () => ({ sub: accountId, ...account.claims }) };
    },
    extraTokenClaims: async (ctx, token) => {
      const { accountId, grantId } = token as { accountId?: string; grantId?: string };
      if (token.kind !== 'AccessToken' || !accountId) return undefined;
      // May refuse the token (and end the grant) when the Entra sign-in behind it has ended.
      const claims = await hooks.accessTokenClaims(accountId, grantId);
      await keepGrantWhileUsed(ctx);
      // The grant lets the resource server refuse tokens of a revoked grant before they expire.
      return { ...claims, ...(grantId ? { gh_grant: grantId } : {}) };
    },
    // Outgoing requests (client ID metadata documents, clients' JWKS) reach public addresses only,
    // refused before any connection otherwise (public-fetch.ts).
    fetch: publicFetch as never,
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: consentPolicy(hooks),
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(out as unknown as Record<string, string>);
    },
  });
  provider.proxy = true;
  return provider;
}

const APPLICATION_TYPE_UNNAMED = 'unnamed';

/**
 * A refresh saves the grant again, so it lives GATEHOUSE_REFRESH_TOKEN_TTL from its last use, like
 * the rotated refresh token, instead of from the sign-in: a client in use (claude.ai refreshing
 * every few days or weeks) is not sent back to the browser once a month. How long a sign-in may
 * last in all is Entra's to say: its refusal to refresh ends the grant (entra-session-refresh.ts).
 */
async function keepGrantWhileUsed(ctx: unknown): Promise<void> {
  const oidc = (
    ctx as
      | {
          oidc?: {
            route?: string;
            params?: { grant_type?: unknown };
            entities?: { Grant?: { exp?: number | undefined; save(): Promise<unknown> } };
          };
        }
      | undefined
  )?.oidc;
  const grant = oidc?.entities?.Grant;
  if (oidc?.route !== 'token' || oidc.params?.grant_type !== 'refresh_token' || grant === undefined) return;
  // Without `exp`, oidc-provider dates the grant from now with ttl.Grant.
  grant.exp = undefined;
  await grant.save();
}

function invalidRedirectUri(description: string): Error {
  const error = new errors.InvalidRedirectUri();
  // The class has a fixed description; RFC 7591 §3.2.2 wants the reason, naming the URI.
  Object.assign(error, { error_description: description });
  return error;
}

function errorPage(out: Record<string, string>): string {
  return pageForError('Sign-in could not continue', `${out.error}: ${out.error_description ?? ''}`);
}

/**
 * oidc-provider's prompts, with one more reason to ask for consent: an existing grant covers the
 * scopes, but its codes would go to a redirect URI the user never approved (another port of a
 * loopback redirect, another URI of the client). Without it, a grant made for one URI would hand
 * codes to any other URI of that client with no page shown.
 */
function consentPolicy(hooks: ProviderHooks) {
  const policy = interactionPolicy.base();
  policy.get('consent')?.checks.add(
    new interactionPolicy.Check(
      'redirect_uri_not_approved',
      'the redirect URI was not approved by the End-User',
      async (ctx) => {
        const { oidc } = ctx;
        const accountId = oidc.session?.accountId;
        const redirectUri = oidc.params?.redirect_uri;
        if (accountId === undefined || typeof redirectUri !== 'string' || oidc.client === undefined)
          return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        return (await hooks.approvedRedirect(accountId, oidc.client.clientId, redirectUri))
          ? interactionPolicy.Check.NO_NEED_TO_PROMPT
          : interactionPolicy.Check.REQUEST_PROMPT;
      },
    ),
  );
  return policy;
}
