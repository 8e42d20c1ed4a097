import { randomUUID, type webcrypto } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, type JWTVerifyGetKey } from 'jose';

export interface SigningKey {
  kid: string;
  alg: 'RS256';
  privateKey: webcrypto.CryptoKey;
  publicJwk: JWK;
}

/** Gatehouse's own token keys: the current one signs, every published one verifies. */
export interface Keyring {
  current(): SigningKey;
  /** The public keys, as served at the JWKS endpoint. */
  jwks(): { keys: JWK[] };
  /** Every published key with its private part, the current one first (for an issuer that signs with the first). */
  published(): readonly SigningKey[];
  verificationKey: JWTVerifyGetKey;
}

export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', {
    extractable: true,
    modulusLength: 2048,
  });
  const kid = randomUUID();
  return {
    kid,
    alg: 'RS256',
    privateKey: privateKey as webcrypto.CryptoKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

/** A keyring over keys already loaded; the first key signs. */
export function keyringOf(keys: readonly SigningKey[]): Keyring {
  if (keys.length === 0) throw new Error('a keyring needs at least one key');
  const jwks = { keys: keys.map((key) => key.publicJwk) };
  return {
    current: () => keys[0]!,
    jwks: () => jwks,
    published: () => keys,
    verificationKey: createLocalJWKSet(jwks),
  };
}
