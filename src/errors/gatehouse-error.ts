import { ERROR_CATALOGUE, type ErrorCode } from './codes.js';

/**
 * The one base of every Gatehouse failure. `code` is stable and documented in docs/errors.md;
 * `message` is what the caller reads and says what to fix; `detail` is for logs and audit only.
 */
export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: Record<string, unknown> | undefined;
  /** Members the wire error carries beside its code (JSON-RPC `error.data`), where a spec defines some. */
  readonly data: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { detail?: Record<string, unknown>; data?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.detail = options?.detail;
    this.data = options?.data;
  }
}

export class StorageUnavailableError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_STORAGE_UNAVAILABLE', message, { cause });
    this.name = 'StorageUnavailableError';
  }
}

export function isGatehouseError(error: unknown): error is GatehouseError {
  return error instanceof GatehouseError;
}
