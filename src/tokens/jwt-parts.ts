import { GatehouseError } from '../errors/index.js';

export interface UnverifiedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/**
 * Reads a compact JWS without trusting it, so cheap checks (algorithm, issuer, audience) can
 * reject a token before any key is fetched. Nothing read here grants access by itself.
 */
export function readUnverified(token: string): UnverifiedJwt {
  const parts = token.split('.');
  if (
    parts.length !== 3 ||
    parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part)) ||
    parts[0] === '' ||
    parts[1] === ''
  ) {
    throw invalidToken('the bearer token is not a JWT (expected three base64url parts)');
  }
  return { header: decodeJson(parts[0]!, 'header'), payload: decodeJson(parts[1]!, 'payload') };
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw invalidToken(`the token ${what} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidToken(`the token ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

export function invalidToken(description: string, detail?: Record<string, unknown>): GatehouseError {
  return new GatehouseError(
    'GH_AUTH_INVALID_TOKEN',
    description,
    detail === undefined ? undefined : { detail },
  );
}

/** Key ids are opaque names, never paths or URLs: anything else is refused before a lookup. */
export const SAFE_KID = /^[A-Za-z0-9_.=-]{1,128}$/;

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
