import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importPKCS8 } from 'jose';
import * as oidc from 'openid-client';
import { GatehouseError } from '../errors/index.js';

/** How Gatehouse proves to Entra ID that it is the API app. */
export type EntraClientCredential =
  | { kind: 'secret'; secret: string }
  | { kind: 'certificate'; path: string };

/**
 * openid-client's client authentication for the credential: the secret in the body, or a client
 * assertion signed with the certificate's key (RS256, `x5t` = the certificate's SHA-1 thumbprint,
 * which Entra uses to find the certificate on the app registration). Entra wants the assertion's
 * `aud` to be its token endpoint (not its issuer, openid-client's default): tokenEndpoint() gives it.
 */
export async function clientAuthentication(
  credential: EntraClientCredential,
  tokenEndpoint: () => string | undefined,
): Promise<oidc.ClientAuth> {
  if (credential.kind === 'secret') return oidc.ClientSecretPost(credential.secret);
  const { privateKeyPem, certificatePem } = readPem(credential.path);
  const certificate = new X509Certificate(certificatePem);
  const x5t = createHash('sha1').update(certificate.raw).digest('base64url');
  const key = await importPKCS8(privateKeyPem, 'RS256');
  return oidc.PrivateKeyJwt(
    { key: key as oidc.CryptoKey },
    {
      [oidc.modifyAssertion]: (header: Record<string, unknown>, payload: Record<string, unknown>) => {
        header.x5t = x5t;
        const audience = tokenEndpoint();
        if (audience !== undefined) payload.aud = audience;
      },
    },
  );
}

function readPem(file: string): { privateKeyPem: string; certificatePem: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new GatehouseError(
      'GH_CONFIG_INVALID',
      `MCP_AZURE_CLIENT_CERTIFICATE_PATH: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  const privateKeyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)?.[0];
  const certificatePem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
  if (privateKeyPem === undefined || certificatePem === undefined) {
    throw new GatehouseError(
      'GH_CONFIG_INVALID',
      `MCP_AZURE_CLIENT_CERTIFICATE_PATH: ${file} must hold a PEM certificate and its PKCS#8 private key ("BEGIN PRIVATE KEY"); convert others with openssl pkcs8 -topk8 -nocrypt.`,
    );
  }
  return { privateKeyPem, certificatePem };
}
