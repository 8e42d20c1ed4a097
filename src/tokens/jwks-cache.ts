import { importJWK, type JWK } from 'jose';
import { GatehouseError } from '../errors/index.js';

export interface JwksCacheOptions {
  /** The JWKS URL of one tenant. */
  jwksUrl(tenantId: string): string;
  fetch?: typeof fetch;
  now?: () => number;
  /** How long fetched keys are trusted before a background-free refresh on next use. */
  refreshAfterMs?: number;
  /** Least time between two fetches caused by an unknown kid. */
  unknownKidCooldownMs?: number;
  timeoutMs?: number;
}

interface TenantKeys {
  keys: Map<string, { key: CryptoKeyLike; jwk: JWK }>;
  fetchedAt: number;
  lastUnknownKidFetch: number;
  inFlight: Promise<void> | undefined;
}

type CryptoKeyLike = Awaited<ReturnType<typeof importJWK>>;

/**
 * Entra signing keys, cached per tenant as Microsoft recommends: refreshed hourly, refetched at
 * once on an unknown kid (at most once per cooldown), and the last-known-good set kept when a
 * fetch fails. A tenant whose keys were never fetched cannot be verified while its JWKS is down.
 */
export class JwksCache {
  readonly #tenants = new Map<string, TenantKeys>();
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #refreshAfterMs: number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;

  constructor(private readonly options: JwksCacheOptions) {
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#refreshAfterMs = options.refreshAfterMs ?? 60 * 60 * 1000;
    this.#cooldownMs = options.unknownKidCooldownMs ?? 5 * 60 * 1000;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** The key for kid in tenantId's JWKS; throws a GatehouseError when there is none. */
  async key(tenantId: string, kid: string): Promise<{ key: CryptoKeyLike; jwk: JWK }> {
    let tenant = this.#tenants.get(tenantId);
    const now = this.#now();
    if (tenant === undefined || now - tenant.fetchedAt > this.#refreshAfterMs) {
      tenant = await this.#refresh(tenantId, tenant);
    }
    let found = tenant.keys.get(kid);
    if (found === undefined && now - tenant.lastUnknownKidFetch >= this.#cooldownMs) {
      // A new kid usually means the keys rolled. If they cannot be fetched now, answer "try again"
      // (not "invalid token", which would send the user to sign in for a token with the same kid),
      // and start the cooldown only after a fetch that worked.
      tenant = await this.#refresh(tenantId, tenant, { rethrow: true });
      tenant.lastUnknownKidFetch = now;
      found = tenant.keys.get(kid);
    }
    if (found === undefined) {
      throw new GatehouseError(
        'GH_AUTH_INVALID_TOKEN',
        `token signing key '${kid}' is not one of the tenant's published keys`,
      );
    }
    return found;
  }

  async #refresh(
    tenantId: string,
    current: TenantKeys | undefined,
    options: { rethrow?: boolean } = {},
  ): Promise<TenantKeys> {
    const entry: TenantKeys = current ?? {
      keys: new Map(),
      fetchedAt: 0,
      lastUnknownKidFetch: 0,
      inFlight: undefined,
    };
    if (current === undefined) this.#tenants.set(tenantId, entry);
    entry.inFlight ??= this.#load(tenantId, entry).finally(() => {
      entry.inFlight = undefined;
    });
    try {
      await entry.inFlight;
    } catch (error) {
      if (entry.keys.size === 0) {
        this.#tenants.delete(tenantId);
        throw error;
      }
      if (options.rethrow) throw error;
      // Last-known-good keys stay in use; try again after the refresh interval.
      entry.fetchedAt = this.#now();
    }
    return entry;
  }

  async #load(tenantId: string, entry: TenantKeys): Promise<void> {
    const url = this.options.jwksUrl(tenantId);
    let body: { keys?: JWK[] };
    try {
      const response = await this.#fetch(url, {
        signal: AbortSignal.timeout(this.#timeoutMs),
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = (await response.json()) as { keys?: JWK[] };
    } catch (error) {
      throw new GatehouseError(
        'GH_AUTH_KEYS_UNAVAILABLE',
        `the signing keys at ${url} could not be fetched (${(error as Error).message}); retry shortly`,
        {
          cause: error,
        },
      );
    }
    const keys = new Map<string, { key: CryptoKeyLike; jwk: JWK }>();
    for (const jwk of body.keys ?? []) {
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig'))
        continue;
      keys.set(jwk.kid, { key: await importJWK({ ...jwk, alg: 'RS256' }, 'RS256'), jwk });
    }
    if (keys.size === 0)
      throw new GatehouseError(
        'GH_AUTH_KEYS_UNAVAILABLE',
        `the JWKS at ${url} holds no RSA signing keys; retry shortly`,
      );
    entry.keys = keys;
    entry.fetchedAt = this.#now();
  }
}
