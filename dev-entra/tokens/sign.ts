import { webcrypto } from 'node:crypto';
import type { SigningKey } from '../keys/signing-keys.js';
import { base64url, randomString, sha256 } from '../lib/encoding.js';

export interface SignOptions {
  /** v1 tokens repeat the key id as `x5t`. */
  includeX5t: boolean;
  /** Microsoft Graph tokens carry a `nonce` header and are signed over its SHA-256 hash. */
  graphNonce: boolean;
}

async function rs256(key: SigningKey, signingInput: string): Promise<string> {
  const signature = await webcrypto.subtle.sign(
    'RSASSA-PKCS1-v1_5',
    key.keys.privateKey,
    Buffer.from(signingInput),
  );
  return base64url(new Uint8Array(signature));
}

function encodeHeader(header: Record<string, string>): string {
  return base64url(JSON.stringify(header));
}

/**
 * The header a Graph token was really signed over: its `nonce` replaced by base64url(SHA-256(nonce)).
 * Standard JWT libraries verify the header as sent, so they reject Graph tokens — as with Entra.
 */
export function graphSignedHeader(header: Record<string, string>): Record<string, string> {
  return { ...header, nonce: base64url(sha256(header.nonce ?? '')) };
}

export async function signJwt(
  key: SigningKey,
  claims: Record<string, unknown>,
  options: SignOptions,
): Promise<string> {
  const header: Record<string, string> = { typ: 'JWT' };
  if (options.graphNonce) header.nonce = randomString(32);
  header.alg = 'RS256';
  if (options.includeX5t) header.x5t = key.x5t;
  header.kid = key.kid;
  const payload = base64url(JSON.stringify(claims));
  const signedHeader = options.graphNonce ? graphSignedHeader(header) : header;
  const signature = await rs256(key, `${encodeHeader(signedHeader)}.${payload}`);
  return `${encodeHeader(header)}.${payload}.${signature}`;
}
