import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { TOKEN_EXCHANGE_AUDIENCE } from '../../dev-entra/index.js';

/** A workload's token as a Kubernetes API server projects it for Entra workload identity. */
export const WORKLOAD_SUBJECT = 'system:serviceaccount:gatehouse:gatehouse';
export { TOKEN_EXCHANGE_AUDIENCE };

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface ExternalIssuer {
  /** The issuer URL: its discovery document is at `{issuer}/.well-known/openid-configuration`. */
  issuer: string;
  /** A token signed with the issuer's published key; claims override the workload defaults. */
  token(claims?: { sub?: string; aud?: string; iss?: string; exp?: number }): Promise<string>;
  /** The same, signed with a key the issuer does not publish. */
  forgedToken(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real OpenID issuer on a loopback port (discovery + JWKS), standing in for the identity provider
 * of a workload: AKS's service-account issuer, a CI system's OIDC issuer.
 */
export async function startExternalIssuer(): Promise<ExternalIssuer> {
  const signing = await generateKeyPair('RS256');
  const stranger = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(signing.publicKey)), kid: 'workload-1', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/openid/v1/jwks`, id_token_signing_alg_values_supported: ['RS256'] }
        : req.url === '/openid/v1/jwks'
          ? { keys: [jwk] }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (key: SigningKey, kid: string, claims: Parameters<ExternalIssuer['token']>[0] = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(claims.iss ?? issuer)
      .setSubject(claims.sub ?? WORKLOAD_SUBJECT)
      .setAudience(claims.aud ?? TOKEN_EXCHANGE_AUDIENCE)
      .setIssuedAt(now - 60)
      .setNotBefore(now - 60)
      .setExpirationTime(claims.exp ?? now + 3600)
      .sign(key);
  };
  return {
    issuer,
    token: (claims) => sign(signing.privateKey, 'workload-1', claims),
    forgedToken: () => sign(stranger.privateKey, 'workload-1'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
