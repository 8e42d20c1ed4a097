import type { FastifyInstance } from 'fastify';
import type Provider from 'oidc-provider';
import type { GatehouseConfig } from '../config/index.js';
import { checkClientCredential } from '../entra/client-credential.js';
import { EntraClient } from '../entra/entra-client.js';
import type { DurableStore, EphemeralStore } from '../storage/contract.js';
import type { Keyring } from '../tokens/keyring.js';
import { deriveKey, type SecretBox } from '../tokens/secret-box.js';
import { ConsentMemory } from './consent-memory.js';
import { entraSessionKeeper } from './entra-session-refresh.js';
import { interactionRoutes } from './interactions/routes.js';
import { mountProvider } from './mount.js';
import { createProvider } from './provider.js';
import type { RegistrationLimit } from './registration-limit.js';
import { adapterFactory } from './storage-adapter.js';

export interface AuthServerOptions {
  config: GatehouseConfig;
  durable: DurableStore;
  ephemeral: EphemeralStore;
  /** Gatehouse's signing keys: the current one signs, every published one is served at /jwks. */
  keyring: Keyring;
  /** Seals the Entra tokens kept for each signed-in user. */
  entraTokens: SecretBox;
  /** Secret from which cookie and CSRF keys are derived. */
  masterSecret: string;
  fetch?: typeof fetch;
  /** Registrations per IP address and window (DEFAULT_REGISTRATION_LIMIT otherwise). */
  registrationLimit?: RegistrationLimit;
  /** Told when a grant is revoked (revocation endpoint, refresh-token reuse), so its tokens stop at once. */
  onGrantRevoked?: (grantId: string) => void;
  /** Told when a request is refused by a rate limit, with the limit's scope (metrics). */
  onRateLimited?: (scope: string) => void;
  /** Told of each token issued (by grant type) and each completed authorization (metrics). */
  onTokenIssued?: (grantType: string) => void;
  onAuthorizationCompleted?: () => void;
  /** Resources besides /mcp that tokens may be bound to (the gateway's /mcp/{server}). */
  acceptsResource?: (resource: string) => boolean;
}

/**
 * Gatehouse as the authorization server MCP clients sign in through: oidc-provider for the OAuth
 * endpoints, Gatehouse's pages for consent, and Entra ID (one fixed app registration) for the
 * sign-in itself. Registers its routes on the app; returns nothing else callers need.
 */
export async function registerAuthServer(app: FastifyInstance, options: AuthServerOptions): Promise<void> {
  const { config } = options;
  const entraSettings = config.auth.entra;
  const credential = config.auth.entraCredential;
  if (entraSettings === undefined || credential === undefined) {
    throw new Error('the authorization server needs Entra settings and an Entra credential');
  }
  checkClientCredential(credential);
  const issuer = config.server.baseUrl;
  const resource = `${issuer}/mcp`;
  const names = config.auth.scopeNames;
  const resourceScopes = [names.discover, names.toolsRead, names.toolsExecute, names.chat];
  const derive = (purpose: string) =>
    deriveKey(options.masterSecret, `gatehouse/${purpose}`).toString('base64url');

  const entra = new EntraClient(
    {
      authorityHost: entraSettings.authorityHost,
      tenant: entraSettings.tenant,
      clientId: entraSettings.clientId,
      credential,
      redirectUri: `${issuer}/auth/callback`,
      scopes: resourceScopes,
    },
    options.fetch,
  );
  // The keeper needs the provider (to end a grant) and the provider's hooks need the keeper.
  let providerRef: Provider | undefined;
  const keeper = entraSessionKeeper({
    durable: options.durable,
    entraTokens: options.entraTokens,
    entra,
    provider: () => providerRef!,
    warn: (error, message) => app.log.warn({ err: error }, message),
    ...(options.onGrantRevoked ? { onGrantEnded: options.onGrantRevoked } : {}),
  });

  const consentMemory = new ConsentMemory(options.ephemeral);
  const provider = await createProvider(
    {
      issuer,
      resource,
      acceptsResource: options.acceptsResource,
      scopes: resourceScopes,
      accessTokenTtlSeconds: config.auth.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: config.auth.refreshTokenTtlSeconds,
      cookieKeys: [derive('cookies')],
      secureCookies: issuer.startsWith('https:'),
      clients: config.clients,
      redirectUriPatterns: config.auth.redirectUriPatterns,
    },
    options.keyring,
    {
      adapter: adapterFactory(options.durable.oauthModels),
      findAccount: async (accountId) => {
        const user = await options.durable.users.findById(accountId);
        return user === undefined
          ? undefined
          : { claims: { name: user.displayName, preferred_username: user.preferredUsername } };
      },
      approvedRedirect: async (accountId, clientId, redirectUri) => {
        const decision = await consentMemory.find(accountId, clientId);
        return decision?.decision === 'allow' && decision.redirectUris.includes(redirectUri);
      },
      accessTokenClaims: async (accountId, grantId) => {
        const user = await options.durable.users.findById(accountId);
        if (user === undefined) return {};
        await keeper.keepFresh(accountId, grantId);
        const session = await options.durable.entraSessions.find(accountId);
        const { roles = [], groups = [] } = session ?? {};
        return { tid: user.tenantId, oid: user.objectId, roles, groups };
      },
    },
  );

  providerRef = provider;
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => options.onGrantRevoked?.(grantId));
  const { onTokenIssued, onAuthorizationCompleted } = options;
  if (onTokenIssued !== undefined) {
    provider.on('grant.success', (ctx: { oidc?: { params?: { grant_type?: unknown } } }) => {
      const grantType = ctx.oidc?.params?.grant_type;
      onTokenIssued(typeof grantType === 'string' ? grantType : 'unknown');
    });
  }
  if (onAuthorizationCompleted !== undefined)
    provider.on('authorization.success', () => onAuthorizationCompleted());

  await app.register(mountProvider, {
    provider,
    keyring: options.keyring,
    ephemeral: options.ephemeral,
    defaultScope: `${names.discover} ${names.toolsExecute}`,
    publicUrl: issuer,
    knownScopes: ['openid', 'offline_access', 'profile', ...resourceScopes],
    ...(options.registrationLimit ? { registrationLimit: options.registrationLimit } : {}),
    ...(options.onRateLimited ? { onRateLimited: options.onRateLimited } : {}),
  });
  await app.register(interactionRoutes, {
    provider,
    entra,
    durable: options.durable,
    ephemeral: options.ephemeral,
    entraTokens: options.entraTokens,
    csrfSecret: derive('consent csrf'),
    secureCookies: issuer.startsWith('https:'),
    resourceScopes,
    resource,
    ...(options.acceptsResource ? { acceptsResource: options.acceptsResource } : {}),
    entraSignInEnded: (accountId) => keeper.signInEnded(accountId),
    consentMemory,
  });
}
