import { createHash, timingSafeEqual } from 'node:crypto';
import type { GatehouseConfig } from '../config/index.js';
import type { DelegatedAccess } from '../entra/delegated-access.js';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import { callerFromUser, SERVICE_TOKEN_USER } from '../identity/caller.js';
import { resolveUserAccess } from '../identity/user-access.js';
import type { AuditSink } from '../ops/audit.js';
import type { DurableStore } from '../storage/contract.js';
import { JwksCache } from '../tokens/jwks-cache.js';
import { readUnverified } from '../tokens/jwt-parts.js';
import type { Keyring } from '../tokens/keyring.js';
import { VerifiedTokenCache } from '../tokens/verified-token-cache.js';
import { type EntraIdentity, verifyEntraToken } from '../tokens/verify-entra-token.js';
import { type GatehouseIdentity, verifyGatehouseToken } from '../tokens/verify-gatehouse-token.js';
import { issuerResolver } from './entra-issuers.js';

export interface AuthenticatorOptions {
  config: GatehouseConfig;
  durable: DurableStore;
  audit: AuditSink;
  /** Gatehouse's own signing keys; without them only Entra tokens are accepted. */
  keyring: Keyring | undefined;
  fetch?: typeof fetch;
  now?: () => number;
  /** Reads from Graph the groups of an Entra token whose groups overflowed (groups overage). */
  delegated?: DelegatedAccess;
  /** Told when something that does not stop the request went wrong (overage not resolved). */
  warn?: (error: unknown, message: string) => void;
}

export interface RequestFacts {
  authorization: string | undefined;
  /** The {token} of /mcp/t-{token}/http, when the request came that way. */
  pathToken: string | undefined;
  requestId: string;
  ip: string;
  /**
   * The resource the request is for when it is not /mcp: the URL of /mcp/{server}. Gatehouse
   * tokens bound to it, or to /mcp, are accepted there.
   */
  resource?: string | undefined;
}

/** How long a verified Gatehouse token is trusted before its grant is looked up again. */
const GRANT_RECHECK_MS = 30_000;
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Turns a request's credential into a Caller: a bearer token (Gatehouse's own or Entra's), or the
 * shared path token. Verified callers are cached by token hash until the earlier of the token's
 * exp and the cache TTL, so repeat requests cost a hash and a map lookup.
 */
export class Authenticator {
  readonly #cache: VerifiedTokenCache<Caller>;
  readonly #jwks: JwksCache | undefined;
  readonly #issuers: (() => Promise<{ v1: string; v2: string }>) | undefined;
  readonly #now: () => number;
  readonly #serverTokenHash: Buffer | undefined;
  #serviceCaller: Promise<Caller> | undefined;
  #cacheHits = 0;
  #cacheMisses = 0;
  /** Per connection (a socket), the last bearer token it carried and that token's cache key. */
  readonly #lastTokenOn = new WeakMap<object, { token: string; key: string }>();

  constructor(private readonly options: AuthenticatorOptions) {
    const { config } = options;
    this.#now = options.now ?? Date.now;
    this.#cache = new VerifiedTokenCache(10_000, config.auth.tokenCacheTtlMs, this.#now);
    const entra = config.auth.entra;
    if (entra !== undefined) {
      this.#jwks = new JwksCache({
        jwksUrl: (tenantId) => `${entra.authorityHost}/${tenantId}/discovery/v2.0/keys`,
        now: this.#now,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      this.#issuers = issuerResolver(entra, options.fetch);
    }
    this.#serverTokenHash =
      config.auth.serverToken === undefined ? undefined : sha256(config.auth.serverToken);
  }

  /**
   * The caller for an already-verified bearer token, without any asynchronous step; undefined when
   * the token is not in the cache (then use authenticate). This is the hot path of every request.
   */
  cached(authorization: string | undefined, resource?: string, connection?: object): Caller | undefined {
    const token = bearerToken(authorization);
    if (token === undefined) return undefined;
    const caller = this.#cache.get(withResource(this.#tokenKey(token, connection), resource));
    // A miss is counted by authenticate, which the caller goes on to.
    if (caller !== undefined) this.#cacheHits++;
    return caller;
  }

  /**
   * The cache key (SHA-256) of a token. A client sends the same token on every request of its
   * connection, so the last token seen on a connection and its key are remembered with it (and go
   * with it): a repeat costs a string comparison instead of a hash. The token is then held in
   * memory as long as the connection that carried it, never in the cache itself.
   */
  #tokenKey(token: string, connection: object | undefined): string {
    if (connection === undefined) return VerifiedTokenCache.keyOf(token);
    const last = this.#lastTokenOn.get(connection);
    if (last !== undefined && last.token === token) return last.key;
    const key = VerifiedTokenCache.keyOf(token);
    this.#lastTokenOn.set(connection, { token, key });
    return key;
  }

  /** Lookups in the verified-token cache (for metrics). */
  tokenCacheStats(): { hits: number; misses: number; entries: number } {
    return { hits: this.#cacheHits, misses: this.#cacheMisses, entries: this.#cache.size };
  }

  /** A grant was revoked here: its tokens stop working at once on this instance. */
  grantRevoked(grantId: string): void {
    this.#cache.evictGrant(grantId);
  }

  async authenticate(facts: RequestFacts): Promise<Caller> {
    try {
      if (facts.pathToken !== undefined) return await this.#pathTokenCaller(facts.pathToken);
      return await this.#bearerCaller(facts.authorization, facts.resource);
    } catch (error) {
      if (isGatehouseError(error) && error.code.startsWith('GH_AUTH_')) {
        this.options.audit.emit({
          type: 'auth.failure',
          at: new Date(this.#now()).toISOString(),
          requestId: facts.requestId,
          ip: facts.ip,
          code: error.code,
          reason: error.message,
        });
      }
      throw error;
    }
  }

  async #bearerCaller(authorization: string | undefined, resource: string | undefined): Promise<Caller> {
    if (authorization === undefined || authorization === '') {
      throw new GatehouseError(
        'GH_AUTH_MISSING_TOKEN',
        'missing Authorization header: send Authorization: Bearer <access token>',
      );
    }
    const malformed = "the Authorization header must be 'Bearer <access token>'";
    const token = bearerToken(authorization);
    if (token === undefined) throw new GatehouseError('GH_AUTH_INVALID_TOKEN', malformed);
    const key = cacheKey(token, resource);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#cacheHits++;
      return cached;
    }
    this.#cacheMisses++;
    // Only a token not verified before needs its syntax checked (RFC 6750 §2.1 b64token).
    if (!B64TOKEN.test(token)) throw new GatehouseError('GH_AUTH_INVALID_TOKEN', malformed);

    const identity = await this.#verify(token, resource);
    if (identity.kind === 'gatehouse' && identity.grantId !== undefined) {
      const grant = await this.options.durable.oauthModels.find('Grant', identity.grantId);
      if (grant === undefined)
        throw new GatehouseError(
          'GH_AUTH_INVALID_TOKEN',
          'token was revoked: its authorization grant has ended; sign in again',
        );
    }
    const caller = await this.#callerFor(identity, token);
    // Gatehouse's own tokens are re-checked against their grant every so often, so that a revocation
    // on another instance takes effect within GRANT_RECHECK_MS; this instance evicts at once.
    this.#cache.set(key, caller, identity.expiresAt, {
      ...(identity.kind === 'gatehouse'
        ? { maxTtlMs: GRANT_RECHECK_MS, ...(identity.grantId ? { grantId: identity.grantId } : {}) }
        : {}),
    });
    return caller;
  }

  async #verify(token: string, resource: string | undefined): Promise<EntraIdentity | GatehouseIdentity> {
    const { config, keyring } = this.options;
    const { payload } = readUnverified(token);
    if (keyring !== undefined && payload.iss === config.server.baseUrl) {
      return verifyGatehouseToken(
        token,
        {
          issuer: config.server.baseUrl,
          resources: [`${config.server.baseUrl}/mcp`, ...(resource === undefined ? [] : [resource])],
          clockSkewSeconds: config.auth.clockSkewSeconds,
        },
        keyring.verificationKey,
        this.#now,
      );
    }
    const entra = config.auth.entra;
    if (entra === undefined || this.#jwks === undefined || this.#issuers === undefined) {
      throw new GatehouseError('GH_AUTH_INVALID_TOKEN', `issuer '${String(payload.iss)}' is not trusted`);
    }
    const multiTenant = entra.tenant === 'common' || entra.tenant === 'organizations';
    return verifyEntraToken(
      token,
      {
        authorityHost: entra.authorityHost,
        tenantId: multiTenant ? undefined : entra.tenant,
        allowedTenants: entra.allowedTenants === undefined ? undefined : new Set(entra.allowedTenants),
        audiences: new Set(entra.audiences),
        allowedClientApps:
          entra.allowedClientApps === undefined ? undefined : new Set(entra.allowedClientApps),
        issuerTemplates: await this.#issuers(),
        clockSkewSeconds: config.auth.clockSkewSeconds,
      },
      this.#jwks,
      this.#now,
    );
  }

  async #callerFor(identity: EntraIdentity | GatehouseIdentity, token: string): Promise<Caller> {
    const { durable, config } = this.options;
    const user = await durable.users.upsert({
      tenantId: identity.tenantId,
      objectId: identity.objectId,
      // A token without display claims (Gatehouse's own carry none) must not erase what sign-in stored.
      displayName: identity.name ?? undefined,
      preferredUsername: identity.preferredUsername ?? undefined,
    });
    // One identity whatever the client: an Entra token's groups (read from Graph when they overflowed)
    // and a Gatehouse token's (resolved the same way at sign-in) map to roles alike.
    let groups = identity.groups;
    if (identity.kind === 'entra-user' && identity.groupsOverage)
      groups = await this.#overageGroups(identity, user.id, token);
    const access = await resolveUserAccess(durable, config, user, {
      appRoles: identity.roles,
      groups,
      isPerson: identity.kind !== 'entra-app',
    });
    if (!access.admitted) {
      const who = identity.preferredUsername ?? identity.name ?? identity.objectId;
      throw new GatehouseError(
        'GH_POLICY_NO_MEMBERSHIP',
        `${who} belongs to no Gatehouse organization or team and has no role from Entra ID. ` +
          'Ask an administrator to add you to a team, to assign you an app role, or to turn on GATEHOUSE_SSO_AUTO_ASSIGN.',
      );
    }
    return callerFromUser(user, {
      kind: identity.kind,
      scopes: identity.scopes,
      scopesApply: identity.kind !== 'entra-app',
      roles: access.roles,
      clientAppId: identity.clientAppId ?? null,
      expiresAt: identity.expiresAt,
      ...(identity.kind === 'entra-user' ? { entraToken: token } : {}),
    });
  }

  async #overageGroups(identity: EntraIdentity, userId: string, token: string): Promise<string[]> {
    const { delegated, warn } = this.options;
    if (delegated === undefined) {
      warn?.(
        undefined,
        'an Entra token has more groups than fit in it (groups overage); Gatehouse reads them from Graph only when it holds an Entra credential',
      );
      return [];
    }
    try {
      return await delegated.memberGroups({
        userId,
        tenantId: identity.tenantId,
        objectId: identity.objectId,
        assertion: token,
      });
    } catch (error) {
      warn?.(
        error,
        'the groups of an Entra token with groups overage could not be read from Graph; its group mappings do not apply',
      );
      return [];
    }
  }

  async #pathTokenCaller(presented: string): Promise<Caller> {
    // Hashing both sides gives equal-length inputs, so the comparison takes the same time whatever was sent.
    const matches =
      this.#serverTokenHash !== undefined && timingSafeEqual(sha256(presented), this.#serverTokenHash);
    if (!matches) throw new GatehouseError('GH_AUTH_PATH_TOKEN_FORBIDDEN', 'MCP forbidden');
    this.#serviceCaller ??= this.options.durable.users.upsert(SERVICE_TOKEN_USER).then((user) =>
      callerFromUser(user, {
        kind: 'service-token',
        // Its scopes as tokens name them, so that the one policy decides for it as for a token.
        scopes: this.options.config.auth.serverTokenScopes.map(
          (scope) => this.options.config.auth.scopeNames[scope],
        ),
        scopesApply: true,
        roles: this.options.config.auth.serverTokenRoles,
        clientAppId: null,
        expiresAt: null,
      }),
    );
    return this.#serviceCaller.catch((error: unknown) => {
      this.#serviceCaller = undefined;
      throw error;
    });
  }
}

/**
 * Where a verified token is cached: by its hash, and for /mcp/{server} also by that resource, so a
 * token accepted there (bound to that server) is never taken from the cache for /mcp.
 */
function cacheKey(token: string, resource: string | undefined): string {
  return withResource(VerifiedTokenCache.keyOf(token), resource);
}

/** A token's cache key for one protected resource (tokens bound to /mcp/{server} or /sse are cached apart). */
function withResource(tokenKey: string, resource: string | undefined): string {
  return resource === undefined ? tokenKey : `${tokenKey} ${resource}`;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
function bearerToken(authorization: string | undefined): string | undefined {
  if (
    authorization === undefined ||
    authorization.length < 8 ||
    authorization.slice(0, 7).toLowerCase() !== 'bearer '
  ) {
    return undefined;
  }
  return authorization.slice(7).trim();
}
