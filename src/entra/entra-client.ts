import * as oidc from 'openid-client';
import type { EntraCredentialConfig } from '../config/index.js';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import { clientAuthentication } from './client-credential.js';
import { type OnBehalfOfToken, onBehalfOfRequest } from './on-behalf-of.js';

export interface EntraAppSettings {
  authorityHost: string;
  tenant: string;
  clientId: string;
  credential: EntraCredentialConfig;
  /** Where Entra sends the browser back: Gatehouse's /auth/callback. */
  redirectUri: string;
  /** Gatehouse scope names to ask for; sent as {client-id}/{scope}. */
  scopes: readonly string[];
  /**
   * Extra delegated scopes (OAUTH_SCOPES, e.g. User.Read email) asked for on the authorization
   * request only, so the user consents to them at sign-in; the code exchange and refreshes still
   * ask for this API alone (Entra issues a token for one resource: AADSTS28000).
   */
  additionalScopes?: readonly string[];
}

export interface EntraSignIn {
  tenantId: string;
  objectId: string;
  name: string | null;
  preferredUsername: string | null;
  roles: string[];
  groups: string[];
  /**
   * True when the groups did not fit in the token (`_claim_names.groups` or `hasgroups`): they must
   * be read from Graph.
   */
  groupsOverage: boolean;
  accessToken: string;
  refreshToken: string | undefined;
  /** Epoch seconds. */
  accessTokenExpiresAt: number;
}

/** Entra's token-endpoint errors that mean the user must sign in again interactively. */
const SIGN_IN_AGAIN = new Set([
  'invalid_grant',
  'interaction_required',
  'login_required',
  'consent_required',
]);

/**
 * The Entra leg of sign-in, as pairs: build the authorization request, then process what comes
 * back. The app asks Entra for tokens for itself, which Entra allows only with scopes in the
 * {client-id}/{scope} form (AADSTS90009 otherwise); `resource` is never sent (AADSTS901002).
 */
export class EntraClient {
  #configuration: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly settings: EntraAppSettings,
    private readonly fetchImpl?: typeof fetch,
  ) {}

  /** The callback URL as Entra called it: the registered redirect URI with the query received. */
  callbackUrl(search: string): URL {
    const url = new URL(this.settings.redirectUri);
    url.search = search;
    return url;
  }

  scopeString(): string {
    return [
      ...this.settings.scopes.map((scope) => `${this.settings.clientId}/${scope}`),
      'openid',
      'profile',
      'offline_access',
    ].join(' ');
  }

  async authorizationUrl(input: {
    state: string;
    nonce: string;
    codeChallenge: string;
    loginHint?: string;
    /** A claims challenge Entra returned earlier (e.g. to on-behalf-of), passed back as `claims`. */
    claims?: string;
  }): Promise<URL> {
    const configuration = await this.configuration();
    const scope = [...new Set([...this.scopeString().split(' '), ...(this.settings.additionalScopes ?? [])])];
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.settings.redirectUri,
      scope: scope.join(' '),
      state: input.state,
      nonce: input.nonce,
      code_challenge: input.codeChallenge,
      code_challenge_method: 'S256',
      response_mode: 'query',
      ...(input.loginHint ? { login_hint: input.loginHint } : {}),
      ...(input.claims ? { claims: input.claims } : {}),
    });
  }

  /** Exchanges the code from the callback URL and validates the ID token (nonce, issuer, audience). */
  async processCallback(
    callbackUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<EntraSignIn> {
    const configuration = await this.configuration();
    let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      tokens = await oidc.authorizationCodeGrant(
        configuration,
        callbackUrl,
        {
          pkceCodeVerifier: expected.codeVerifier,
          expectedNonce: expected.nonce,
          expectedState: expected.state,
          idTokenExpected: true,
        },
        // With extra scopes on the authorization request, the exchange names the one API wanted.
        (this.settings.additionalScopes?.length ?? 0) > 0 ? { scope: this.scopeString() } : undefined,
      );
    } catch (error) {
      throw entraFailure(error);
    }
    const claims = tokens.claims();
    if (claims === undefined || typeof claims.tid !== 'string' || typeof claims.oid !== 'string') {
      throw new GatehouseError(
        'GH_ENTRA_SIGN_IN_FAILED',
        'Entra ID returned an ID token without tid and oid.',
      );
    }
    // The access token is for this very app and came straight from Entra's token endpoint over the
    // back channel: its roles and groups can be read without checking its signature again.
    const access = decodePayload(tokens.access_token);
    return {
      tenantId: claims.tid.toLowerCase(),
      objectId: claims.oid,
      name: typeof claims.name === 'string' ? claims.name : null,
      preferredUsername: typeof claims.preferred_username === 'string' ? claims.preferred_username : null,
      roles: stringArray(claims.roles ?? access.roles),
      groups: stringArray(claims.groups ?? access.groups),
      groupsOverage: hasGroupsOverage(claims) || hasGroupsOverage(access),
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      accessTokenExpiresAt: expiryOf(access, tokens.expires_in),
    };
  }

  /**
   * New Entra tokens from a refresh token. An answer that the user must sign in again is
   * GH_ENTRA_SIGN_IN_ENDED: `invalid_grant` (token revoked or expired, user disabled, password
   * reset, Conditional Access sign-in frequency AADSTS70043) and `interaction_required`,
   * `login_required` or `consent_required` (MFA required or to be registered, AADSTS50076/50079).
   */
  async refresh(
    refreshToken: string,
  ): Promise<
    Pick<
      EntraSignIn,
      'accessToken' | 'refreshToken' | 'accessTokenExpiresAt' | 'roles' | 'groups' | 'groupsOverage'
    >
  > {
    const configuration = await this.configuration();
    let tokens: oidc.TokenEndpointResponse;
    try {
      tokens = await oidc.refreshTokenGrant(configuration, refreshToken, { scope: this.scopeString() });
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError && SIGN_IN_AGAIN.has(error.error)) {
        const description = String(error.error_description ?? '').split('\r\n')[0] ?? '';
        throw new GatehouseError(
          'GH_ENTRA_SIGN_IN_ENDED',
          `the Entra ID sign-in behind this grant has ended (${description}); sign in again`,
        );
      }
      throw new GatehouseError(
        'GH_ENTRA_UNAVAILABLE',
        `Entra ID could not refresh the sign-in: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const access = decodePayload(tokens.access_token);
    return {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token ?? refreshToken,
      accessTokenExpiresAt: expiryOf(access, tokens.expires_in),
      roles: stringArray(access.roles),
      groups: stringArray(access.groups),
      groupsOverage: hasGroupsOverage(access),
    };
  }

  /** A delegated token for `scope` (one API) in exchange for the user's token addressed to this app. */
  async onBehalfOf(assertion: string, scope: string): Promise<OnBehalfOfToken> {
    return onBehalfOfRequest(await this.configuration(), assertion, scope);
  }

  /**
   * Microsoft Graph's base URL for this authority: discovery's `msgraph_host` (graph.microsoft.com,
   * a national cloud's host, or the emulator), on the authority's scheme.
   */
  async graphBaseUrl(): Promise<string> {
    const metadata = (await this.configuration()).serverMetadata() as { msgraph_host?: unknown };
    const scheme = new URL(this.settings.authorityHost).protocol;
    const host = typeof metadata.msgraph_host === 'string' ? metadata.msgraph_host : 'graph.microsoft.com';
    return `${scheme}//${host}`;
  }

  private configuration(): Promise<oidc.Configuration> {
    this.#configuration ??= this.discover().catch((error: unknown) => {
      this.#configuration = undefined;
      throw error;
    });
    return this.#configuration;
  }

  private async discover(): Promise<oidc.Configuration> {
    const issuer = new URL(`${this.settings.authorityHost}/${this.settings.tenant}/v2.0`);
    const insecure = issuer.protocol === 'http:';
    try {
      let tokenEndpoint: string | undefined;
      const configuration = await oidc.discovery(
        issuer,
        this.settings.clientId,
        undefined,
        await clientAuthentication(this.settings.credential, () => tokenEndpoint),
        {
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
          timeout: 10,
        },
      );
      tokenEndpoint = configuration.serverMetadata().token_endpoint;
      if (this.fetchImpl) configuration[oidc.customFetch] = this.fetchImpl as never;
      return configuration;
    } catch (error) {
      throw new GatehouseError(
        'GH_ENTRA_UNAVAILABLE',
        `Entra ID's discovery document at ${issuer}/.well-known/openid-configuration could not be read (${(error as Error).message}). Check MCP_AZURE_AUTHORITY_HOST and MCP_AZURE_TENANT_ID.`,
        { cause: error },
      );
    }
  }
}

/** Entra's own error (AADSTS…) as Gatehouse's, keeping Entra's words for the user. */
function entraFailure(error: unknown): GatehouseError {
  if (error instanceof oidc.ResponseBodyError) {
    const description = String(error.error_description ?? '').split('\r\n')[0] ?? '';
    return new GatehouseError(
      'GH_ENTRA_SIGN_IN_FAILED',
      `Entra ID refused the sign-in: ${error.error}: ${description}`,
      {
        detail: { error: error.error, description: error.error_description },
      },
    );
  }
  // openid-client wraps what the client authentication throws ("something went wrong", with a cause).
  const own = isGatehouseError(error) ? error : (error as Error | undefined)?.cause;
  if (isGatehouseError(own) && own.code === 'GH_CONFIG_INVALID') {
    // Gatehouse's own credential (its file) is at fault: the operator reads why in the log; the
    // MCP client, which cannot fix it, is not shown server paths.
    return new GatehouseError(
      'GH_ENTRA_SIGN_IN_FAILED',
      "Gatehouse could not authenticate to Entra ID: its credential is not usable right now; the server's log says why.",
      { cause: own, detail: { problem: own.message } },
    );
  }
  return new GatehouseError(
    'GH_ENTRA_SIGN_IN_FAILED',
    `Signing in with Entra ID failed: ${(error as Error).message}`,
    { cause: error },
  );
}

function decodePayload(jwt: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return {};
  }
}

function hasGroupsOverage(claims: Record<string, unknown>): boolean {
  const names = claims._claim_names as { groups?: unknown } | undefined;
  return (
    (typeof names === 'object' && names !== null && names.groups !== undefined) || claims.hasgroups === true
  );
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Epoch seconds: the token's own exp when it has one (Entra's clock), else now + expires_in. */
function expiryOf(payload: Record<string, unknown>, expiresIn: number | undefined): number {
  return typeof payload.exp === 'number' ? payload.exp : Math.floor(Date.now() / 1000) + (expiresIn ?? 3600);
}
