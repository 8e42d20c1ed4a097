import { entraTimestamp, guid } from '../lib/encoding.js';
import { AADSTS, type AadstsCode } from './catalogue.js';

export interface AadstsErrorOptions {
  /** Replaces the catalogue's text after `AADSTSnnnn: `. */
  detail?: string;
  suberror?: string;
  /** A JSON string, as Entra sends it with claims challenges. */
  claims?: string;
  /** Entra pairs a few codes with a different `error` depending on the endpoint. */
  error?: string;
}

/** A failure with a stable AADSTS code; `toBody` renders Entra's exact JSON shape. */
export class AadstsError extends Error {
  override name = 'AadstsError';
  readonly code: AadstsCode;
  readonly error: string;
  readonly status: number;
  readonly suberror: string | undefined;
  readonly claims: string | undefined;

  constructor(code: AadstsCode, options: AadstsErrorOptions = {}) {
    const entry = AADSTS[code];
    super(`AADSTS${code}: ${options.detail ?? entry.message}`);
    this.code = code;
    this.error = options.error ?? entry.error;
    this.status = entry.status;
    this.suberror = options.suberror;
    this.claims = options.claims;
  }

  toBody(context: { now: number; correlationId?: string; baseUrl: string }): Record<string, unknown> {
    const traceId = guid();
    const correlationId = context.correlationId ?? guid();
    const timestamp = entraTimestamp(context.now);
    const body: Record<string, unknown> = {
      error: this.error,
      error_description: `${this.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [this.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${context.baseUrl}/error?code=${this.code}`,
    };
    if (this.suberror !== undefined) body.suberror = this.suberror;
    if (this.claims !== undefined) body.claims = this.claims;
    return body;
  }
}
