import { createLocalJWKSet, decodeJwt, errors, type JSONWebKeySet, jwtVerify } from 'jose';
import type { EmulatorContext } from '../context.js';
import { AadstsError } from '../errors/aadsts-error.js';
import type { SeedApplication } from '../seed.js';

const DOCS = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';
const CHECK = `Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${DOCS}`;
const FETCH_TIMEOUT_MS = 5000;

/**
 * Whether a client assertion is a federated one: any assertion not issued by the app itself
 * (a certificate assertion has `iss` = `sub` = the client id).
 */
export function isFederatedAssertion(app: SeedApplication, assertion: string): boolean {
  try {
    return decodeJwt(assertion).iss !== app.appId;
  } catch {
    return false;
  }
}

/**
 * Verifies a workload-identity assertion the way Entra does: the app must hold a federated
 * identity credential whose issuer, subject and audience match the token exactly (case-sensitive;
 * AADSTS700211/700213/700212 name the part that does not), then the token must verify against
 * the keys the issuer publishes through its OpenID discovery document (AADSTS50166 when they
 * cannot be fetched) and be within its time range (AADSTS700024).
 */
export async function verifyFederatedAssertion(
  ctx: EmulatorContext,
  app: SeedApplication,
  assertion: string,
): Promise<void> {
  const claims = decodeJwt(assertion);
  const issuer = typeof claims.iss === 'string' ? claims.iss : '';
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);

  const byIssuer = ctx.directory.federatedCredentials(app).filter((c) => c.issuer === issuer);
  if (byIssuer.length === 0) {
    throw new AadstsError(700211, {
      detail: `No matching federated identity record found for presented assertion issuer '${issuer}'. Please note that the matching is done using a case-sensitive comparison. ${CHECK}`,
    });
  }
  const bySubject = byIssuer.filter((c) => c.subject === subject);
  if (bySubject.length === 0) {
    throw new AadstsError(700213, {
      detail: `No matching federated identity record found for presented assertion subject '${subject}'. Please note that the matching is done using a case-sensitive comparison. ${CHECK}`,
    });
  }
  if (!bySubject.some((c) => c.audiences.some((a) => audiences.includes(a)))) {
    throw new AadstsError(700212, {
      detail: `No matching federated identity record found for presented assertion audience '${audiences.join(', ')}'. Please note that the matching is done using a case-sensitive comparison. ${CHECK}`,
    });
  }

  const keys = await issuerKeys(issuer);
  try {
    await jwtVerify(assertion, createLocalJWKSet(keys), {
      issuer,
      subject,
      currentDate: new Date(ctx.now()),
      // The same five minutes of clock skew Entra tolerates on certificate assertions.
      clockTolerance: 300,
      requiredClaims: ['exp'],
    });
  } catch (e) {
    if (
      e instanceof errors.JWTExpired ||
      (e instanceof errors.JWTClaimValidationFailed && e.claim === 'nbf')
    ) {
      const exp = typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : 'none';
      throw new AadstsError(700024, {
        detail: `Client assertion is not within its valid time range. Current time: ${new Date(ctx.now()).toISOString()}, expiry time of assertion ${exp}.`,
      });
    }
    throw new AadstsError(700027, {
      detail: `Client assertion failed signature validation. [Reason - The key used to sign the assertion was not found in the keys published by issuer '${issuer}'.]`,
    });
  }
}

/**
 * The issuer's signing keys: `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
 * Entra insists on https; the emulator also accepts http on loopback, where development issuers live.
 */
async function issuerKeys(issuer: string): Promise<JSONWebKeySet> {
  const failed = (reason: string) =>
    new AadstsError(50166, {
      detail: `Request to External OIDC endpoint failed. [Reason - ${reason}]`,
    });
  const discoveryUrl = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const discovery = await fetchJson(discoveryUrl).catch((e: Error) => {
    throw failed(`${discoveryUrl}: ${e.message}`);
  });
  const jwksUri = typeof discovery.jwks_uri === 'string' ? discovery.jwks_uri : undefined;
  if (jwksUri === undefined) throw failed(`${discoveryUrl} has no jwks_uri.`);
  const jwks = await fetchJson(jwksUri).catch((e: Error) => {
    throw failed(`${jwksUri}: ${e.message}`);
  });
  if (!Array.isArray(jwks.keys)) throw failed(`${jwksUri} is not a JSON Web Key Set.`);
  return jwks as unknown as JSONWebKeySet;
}

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  const target = new URL(url);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname);
  if (target.protocol !== 'https:' && !(target.protocol === 'http:' && loopback)) {
    throw new Error('the issuer must be an https URL');
  }
  const response = await fetch(target, {
    redirect: 'error',
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const body: unknown = await response.json();
  if (typeof body !== 'object' || body === null) throw new Error('not a JSON object');
  return body as Record<string, unknown>;
}
