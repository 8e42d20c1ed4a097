import type { IncomingMessage } from 'node:http';
import type { AuthenticatedClient } from '../auth/client-authentication.js';
import type { EmulatorContext, ProtocolVersion } from '../context.js';
import { AadstsError } from '../errors/aadsts-error.js';

/** What every grant handler receives from the token endpoint. */
export interface TokenRequest {
  ctx: EmulatorContext;
  req: IncomingMessage;
  params: URLSearchParams;
  version: ProtocolVersion;
  tenantSegment: string;
  client: AuthenticatedClient;
}

export type TokenResponseBody = Record<string, unknown>;

export function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new AadstsError(900144, {
      detail: `The request body must contain the following parameter: '${name}'.`,
    });
  }
  return value;
}

/** A `spa` redirect's codes and refresh tokens must be redeemed cross-origin, and only those. */
export function checkOrigin(req: IncomingMessage, redirectKind: string): void {
  const origin = req.headers.origin;
  if (redirectKind === 'spa' && !origin) throw new AadstsError(9002327);
  if (redirectKind !== 'spa' && origin) throw new AadstsError(9002326);
}
