import { createHash, X509Certificate } from 'node:crypto';
import { decodeProtectedHeader, errors, importX509, jwtVerify } from 'jose';
import type { EmulatorContext } from '../context.js';
import { AadstsError } from '../errors/aadsts-error.js';
import type { SeedApplication } from '../seed.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function thumbprints(pem: string): { sha1: string; sha256: string } {
  const der = new X509Certificate(pem).raw;
  return {
    sha1: createHash('sha1').update(der).digest('base64url'),
    sha256: createHash('sha256').update(der).digest('base64url'),
  };
}

/**
 * Verifies a certificate `client_assertion`. Both header styles Entra documents are accepted:
 * RS256 with `x5t` (SHA-1 thumbprint) and PS256 with `x5t#S256`.
 */
export async function verifyClientAssertion(
  ctx: EmulatorContext,
  app: SeedApplication,
  assertion: string,
  audiences: string[],
): Promise<void> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new AadstsError(700027, {
      detail: 'Client assertion failed signature validation. The assertion is not a JWT.',
    });
  }
  const alg = header.alg;
  if (alg !== 'RS256' && alg !== 'PS256') {
    throw new AadstsError(700027, {
      detail: `Client assertion failed signature validation. Algorithm '${alg}' is not supported.`,
    });
  }
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
  const x5tS256 = typeof header['x5t#S256'] === 'string' ? (header['x5t#S256'] as string) : undefined;
  const pem = ctx.directory.certificates(app).find((c) => {
    const t = thumbprints(c);
    return (x5t !== undefined && t.sha1 === x5t) || (x5tS256 !== undefined && t.sha256 === x5tS256);
  });
  if (!pem) {
    throw new AadstsError(700027, {
      detail: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${x5t ?? x5tS256 ?? ''}']`,
    });
  }
  try {
    await jwtVerify(assertion, await importX509(pem, alg), {
      algorithms: [alg],
      audience: audiences,
      issuer: app.appId,
      subject: app.appId,
      currentDate: new Date(ctx.now()),
      // Entra tolerates five minutes of skew between client and server clocks.
      clockTolerance: 300,
      requiredClaims: ['exp', 'jti'],
    });
  } catch (e) {
    if (
      e instanceof errors.JWTExpired ||
      (e instanceof errors.JWTClaimValidationFailed && e.claim === 'nbf')
    ) {
      throw new AadstsError(700024, { detail: 'Client assertion is not within its valid time range.' });
    }
    if (e instanceof errors.JWTClaimValidationFailed) {
      throw new AadstsError(700027, {
        detail: `Client assertion failed signature validation. [Reason - The '${e.claim}' claim is not valid; the audience must be the token endpoint and iss and sub the client id.]`,
      });
    }
    throw new AadstsError(700027, {
      detail:
        'Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]',
    });
  }
}
