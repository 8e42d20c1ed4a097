import type { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface LocalKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  jwk: JWK;
}

export async function makeKey(kid: string): Promise<LocalKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    kid,
    privateKey: privateKey as webcrypto.CryptoKey,
    jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', kty: 'RSA' },
  };
}

/**
 * A JWKS endpoint on a real listener, shaped like Entra's (/{tenant}/discovery/v2.0/keys), whose
 * keys can be swapped and which can be switched off, for tests of key caching and rotation.
 */
export class LocalJwksServer {
  keys: LocalKey[] = [];
  up = true;
  requests = 0;
  #server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      this.requests++;
      if (!this.up || !/^\/[^/]+\/discovery\/v2\.0\/keys$/.test(request.url ?? '')) {
        response.writeHead(this.up ? 404 : 503).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          keys: this.keys.map((key) => ({
            ...key.jwk,
            issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
          })),
        }),
      );
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server!.address() as { port: number }).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

export function sign(
  key: LocalKey,
  payload: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header })
    .sign(key.privateKey);
}
