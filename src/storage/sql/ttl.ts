import { GatehouseError } from '../../errors/index.js';

/** Rejects a TTL outside the contract: a positive integer number of milliseconds. */
export function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new GatehouseError(
      'GH_STORAGE_INVALID_ARGUMENT',
      `A TTL must be a positive integer number of milliseconds; got ${String(ttlMs)}.`,
    );
  }
}
