import { hash } from 'node:crypto';

interface Entry<T> {
  value: T;
  /** The authorization grant the token belongs to, when known (for eviction on revocation). */
  grantId: string | undefined;
  /** Epoch ms after which the entry is dead: the earlier of the token's exp and the cache TTL. */
  until: number;
}

/**
 * Verified tokens by SHA-256 of the token (the token itself is never kept). Bounded: the oldest
 * entry goes first. An entry never outlives its token's exp.
 */
export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, Entry<T>>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  static keyOf(token: string): string {
    return hash('sha256', token, 'base64url');
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.until) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(
    key: string,
    value: T,
    expiresAtSeconds: number,
    options: { grantId?: string; maxTtlMs?: number } = {},
  ): void {
    const until = Math.min(
      expiresAtSeconds * 1000,
      this.now() + Math.min(this.ttlMs, options.maxTtlMs ?? Number.POSITIVE_INFINITY),
    );
    if (until <= this.now()) return;
    if (this.#entries.size >= this.maxEntries && !this.#entries.has(key)) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, until, grantId: options.grantId });
  }

  /** Forgets every token of a grant (it was revoked). */
  evictGrant(grantId: string): void {
    for (const [key, entry] of this.#entries) if (entry.grantId === grantId) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
