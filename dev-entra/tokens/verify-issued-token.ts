import { compactVerify, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { EmulatorContext } from '../context.js';
import { base64url } from '../lib/encoding.js';
import { graphSignedHeader } from './sign.js';

export type VerifyFailure = 'malformed' | 'signature' | 'expired' | 'not_yet_valid';

export class IssuedTokenError extends Error {
  constructor(readonly reason: VerifyFailure) {
    super(reason);
  }
}

/**
 * Checks a token this emulator signed (the OBO assertion, a Graph call). Graph tokens are
 * verified the way only their issuer can: over the header with the hashed `nonce`.
 */
export async function verifyIssuedToken(ctx: EmulatorContext, token: string): Promise<JWTPayload> {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    throw new IssuedTokenError('malformed');
  }
  const key = typeof header.kid === 'string' ? ctx.keys.find(header.kid) : undefined;
  if (!key || header.alg !== 'RS256') throw new IssuedTokenError('signature');
  let candidate = token;
  if (typeof header.nonce === 'string') {
    const [, payload, signature] = token.split('.');
    candidate = `${base64url(JSON.stringify(graphSignedHeader(header as Record<string, string>)))}.${payload}.${signature}`;
  }
  let payload: JWTPayload;
  try {
    const result = await compactVerify(candidate, key.keys.publicKey);
    payload = JSON.parse(Buffer.from(result.payload).toString('utf8')) as JWTPayload;
  } catch {
    throw new IssuedTokenError('signature');
  }
  const now = ctx.nowSeconds();
  if (typeof payload.exp !== 'number' || payload.exp <= now) throw new IssuedTokenError('expired');
  if (typeof payload.nbf === 'number' && payload.nbf > now + 300) throw new IssuedTokenError('not_yet_valid');
  return payload;
}
