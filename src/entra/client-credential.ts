import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeJwt, importPKCS8 } from 'jose';
import * as oidc from 'openid-client';
import type { EntraCredentialConfig } from '../config/index.js';
import { GatehouseError } from '../errors/index.js';

const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Reads the credential's files once, so that a missing or malformed file stops Gatehouse at start
 * with a message naming the variable, rather than failing the first sign-in.
 */
export function checkClientCredential(credential: EntraCredentialConfig): void {
  if (credential.kind === 'certificate') readPem(credential.path);
  if (credential.kind === 'federated') readFederatedToken(credential.tokenFile, { checkExpiry: false });
}

/**
 * openid-client's client authentication for the credential:
 * - a secret: in the body;
 * - a federated token: the client assertion as it is, read from its file for every request
 *   (platforms renew the file; AKS about hourly);
 * - a certificate: a client assertion signed with its key (RS256, `x5t` = the certificate's SHA-1
 *   thumbprint, which Entra uses to find the certificate on the app registration). Entra wants the
 *   assertion's `aud` to be its token endpoint (not its issuer, openid-client's default):
 *   tokenEndpoint() gives it.
 */
export async function clientAuthentication(
  credential: EntraCredentialConfig,
  tokenEndpoint: () => string | undefined,
): Promise<oidc.ClientAuth> {
  if (credential.kind === 'secret') return oidc.ClientSecretPost(credential.secret);
  if (credential.kind === 'federated') {
    const { tokenFile } = credential;
    return (_as, client, body) => {
      body.set('client_id', client.client_id);
      body.set('client_assertion_type', JWT_BEARER_ASSERTION);
      body.set('client_assertion', readFederatedToken(tokenFile, { checkExpiry: true }));
    };
  }
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

/**
 * The federated token in the file, checked to be a JWT (and, before use, unexpired: Entra would
 * refuse it with AADSTS700024, which would not say whose job the renewal is).
 */
function readFederatedToken(file: string, options: { checkExpiry: boolean }): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new GatehouseError(
      'GH_CONFIG_INVALID',
      `MCP_AZURE_FEDERATED_TOKEN_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  let expiresAt: unknown;
  try {
    expiresAt = decodeJwt(token).exp;
  } catch {
    throw new GatehouseError(
      'GH_CONFIG_INVALID',
      `MCP_AZURE_FEDERATED_TOKEN_FILE: ${file} must hold one JWT issued by the identity provider the API app trusts (a federated identity credential).`,
    );
  }
  if (options.checkExpiry && typeof expiresAt === 'number' && expiresAt * 1000 <= Date.now()) {
    throw new GatehouseError(
      'GH_CONFIG_INVALID',
      `MCP_AZURE_FEDERATED_TOKEN_FILE: the token in ${file} expired at ${new Date(expiresAt * 1000).toISOString()}; whatever writes the file (a projected service-account token volume, a CI job) must renew it.`,
    );
  }
  return token;
}
