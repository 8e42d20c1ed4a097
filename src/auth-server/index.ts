import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { GatehouseConfig } from '../config/index.js';
import { checkClientCredential } from '../entra/client-credential.js';
import type { DelegatedAccess } from '../entra/delegated-access.js';
import { EntraClient } from '../entra/entra-client.js';
import type { AuditSink } from '../ops/audit.js';
import type { DurableStore, EphemeralStore } from '../storage/contract.js';
import type { Keyring } from '../tokens/keyring.js';
import { deriveKey, type SecretBox } from '../tokens/secret-box.js';
import { auditContextOf } from './audit-context.js';
import { ConsentMemory } from './consent-memory.js';
import { entraSessionKeeper } from './entra-session-refresh.js';
import { interactionRoutes } from './interactions/routes.js';
import { mountProvider } from './mount.js';
import { createProvider } from './provider.js';
import { adapterFactory } from './storage-adapter.js';
import { answerStorageOutages } from './storage-outage.js';

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
  /** Told when a grant is revoked (revocation endpoint, refresh-token reuse), so its tokens stop at once. */
  onGrantRevoked?: (grantId: string) => void;
  /** Told when a request is refused by a rate limit, with the limit's scope (metrics). */
  onRateLimited?: (scope: string) => void;
  /** Told of each token issued (by grant type) and each completed authorization (metrics). */
  onTokenIssued?: (grantType: string) => void;
  onAuthorizationCompleted?: () => void;
  /** Resources besides /mcp that tokens may be bound to (the gateway's /mcp/{server}). */
  acceptsResource?: (resource: string) => boolean;
  /** Receives sign-ins, consent decisions and revocations. */
  audit?: AuditSink;
  /** On-behalf-of toward Graph: groups overage, MCP_AZURE_VALIDATE_WITH_GRAPH, claims challenges. */
  delegated?: DelegatedAccess;
  /** The Entra client to sign users in with (gatehouseEntraClient); one is built when absent. */
  entra?: EntraClient;
  /**
   * Offered each Entra callback first: Gatehouse's own pages sign browsers in through the same
   * registered redirect URI. Resolves true when it answered the request (the state was its own).
   */
  browserCallback?: (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>;
}

/** The MCP resource scopes Gatehouse asks Entra for, in the order the configuration names them. */
export function resourceScopesOf(config: Pick<GatehouseConfig, 'auth'>): string[] {
  const names = config.auth.scopeNames;
  return [names.discover, names.toolsRead, names.toolsExecute, names.chat];
}

/**
 * The Entra client of Gatehouse's app registration, whose redirect URI is Gatehouse's
 * /auth/callback: MCP clients' federated sign-in and the browser sign-in to Gatehouse's pages share it.
 */
export function gatehouseEntraClient(config: GatehouseConfig, fetchImpl?: typeof fetch): EntraClient {
  const entraSettings = config.auth.entra;
  const credential = config.auth.entraCredential;
  if (entraSettings === undefined || credential === undefined) {
    throw new Error('the authorization server needs Entra settings and an Entra credential');
  }
  return new EntraClient(
    {
      authorityHost: entraSettings.authorityHost,
      tenant: entraSettings.tenant,
      clientId: entraSettings.clientId,
      credential,
      redirectUri: `${config.server.baseUrl}/auth/callback`,
      scopes: resourceScopesOf(config),
      additionalScopes: config.auth.signInScopes,
    },
    fetchImpl,
  );
}

/**
 * Gatehouse as the authorization server MCP clients sign in through: oidc-provider for the OAuth
 * endpoints, Gatehouse's pages for consent, and Entra ID (one fixed app registration) for the
 * sign-in itself. Registers its routes on the app; returns nothing else callers need.
 */
export async function registerAuthServer(app: FastifyInstance, options: AuthServerOptions): Promise<void> {
  const { config } = options;
  const credential = config.auth.entraCredential;
  if (config.auth.entra === undefined || credential === undefined) {
    throw new Error('the authorization server needs Entra settings and an Entra credential');
  }
  checkClientCredential(credential);
  const issuer = config.server.baseUrl;
  const resource = `${issuer}/mcp`;
  const names = config.auth.scopeNames;
  const resourceScopes = resourceScopesOf(config);
  const derive = (purpose: string) =>
    deriveKey(options.masterSecret, `gatehouse/${purpose}`).toString('base64url');

  const entra = options.entra ?? gatehouseEntraClient(config, options.fetch);
  // The keeper needs the provider (to end a grant) and the provider's hooks need the keeper.
  let providerRef: Provider | undefined;
  const keeper = entraSessionKeeper({
    durable: options.durable,
    entraTokens: options.entraTokens,
    entra,
    provider: () => providerRef!,
    warn: (error, message) => app.log.warn({ err: error }, message),
    onGrantEnded: (grantId, accountId) => {
      options.audit?.emit({
        type: 'token.revoked',
        at: new Date().toISOString(),
        requestId: null,
        ip: null,
        userId: accountId,
        clientId: null,
        action: 'entra-sign-in-ended',
        grantId,
        outcome: 'ok',
      });
      options.onGrantRevoked?.(grantId);
    },
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
  provider.on('grant.revoked', (koa: unknown, grantId: string) => {
    const ctx = koa as RevocationContext | undefined;
    const oidcContext = ctx?.oidc;
    const entities = oidcContext?.entities ?? {};
    const token = entities.RefreshToken ?? entities.AccessToken ?? entities.AuthorizationCode;
    const request = auditContextOf(ctx?.req);
    options.audit?.emit({
      type: 'token.revoked',
      at: new Date().toISOString(),
      requestId: request?.requestId ?? null,
      ip: request?.ip ?? null,
      userId: token?.accountId ?? null,
      clientId: oidcContext?.client?.clientId ?? token?.clientId ?? null,
      action: oidcContext?.route ?? 'unknown',
      grantId,
      outcome: 'ok',
    });
    options.onGrantRevoked?.(grantId);
  });
  answerStorageOutages(provider);
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
    defaultScope: `${names.discover} ${names.toolsExecute}`,
    publicUrl: issuer,
    knownScopes: ['openid', 'offline_access', 'profile', ...resourceScopes],
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
    ...(options.delegated ? { delegated: options.delegated } : {}),
    validateWithGraph: config.auth.validateWithGraph,
    consentMemory,
    ...(options.audit ? { audit: options.audit } : {}),
    ...(options.browserCallback ? { browserCallback: options.browserCallback } : {}),
  });
}

/** What Gatehouse reads of the Koa context oidc-provider passes to its grant.revoked event. */
interface RevocationContext {
  req?: IncomingMessage;
  oidc?: {
    route?: string;
    client?: { clientId?: string };
    entities?: Partial<Record<string, { accountId?: string; clientId?: string }>>;
  };
}
