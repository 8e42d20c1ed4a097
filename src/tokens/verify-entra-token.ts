import { errors, jwtVerify } from 'jose';
import { GatehouseError } from '../errors/index.js';
import type { JwksCache } from './jwks-cache.js';
import { invalidToken, isoTime, readUnverified, SAFE_KID } from './jwt-parts.js';

/** Microsoft Graph's application id and URIs: tokens for Graph are never accepted here. */
const GRAPH_AUDIENCES = new Set([
  '00000003-0000-0000-c000-000000000000',
  'https://graph.microsoft.com',
  'https://graph.microsoft.com/',
]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EntraTrust {
  /** e.g. https://login.microsoftonline.com (no trailing slash). */
  authorityHost: string;
  /** The tenant GUID, or undefined for a multi-tenant app (then allowedTenants decides). */
  tenantId: string | undefined;
  allowedTenants: ReadonlySet<string> | undefined;
  /** Accepted `aud` values: the client id and identifier URIs (both slash forms). */
  audiences: ReadonlySet<string>;
  /** Client applications (azp/appid) allowed to call; undefined allows any. */
  allowedClientApps: ReadonlySet<string> | undefined;
  /** Issuer templates with {tenantid}; defaults to the v1 and v2 issuers of authorityHost. */
  issuerTemplates?: { v1: string; v2: string };
  clockSkewSeconds: number;
}

export interface EntraIdentity {
  kind: 'entra-user' | 'entra-app';
  version: '1.0' | '2.0';
  tenantId: string;
  objectId: string;
  clientAppId: string | undefined;
  scopes: string[];
  roles: string[];
  groups: string[];
  /** True when the groups claim overflowed (`_claim_names.groups`): groups must come from Graph. */
  groupsOverage: boolean;
  name: string | null;
  preferredUsername: string | null;
  expiresAt: number;
}

/**
 * Verifies an Entra ID v1 or v2 access token minted for this API (entra.md §7): RS256 only, key
 * from the tenant's JWKS, issuer exact or the {tenantid} template, audience one of ours, times
 * with skew, tenant and client allow-lists, and never a Graph token.
 */
export async function verifyEntraToken(
  token: string,
  trust: EntraTrust,
  keys: JwksCache,
  now: () => number = Date.now,
): Promise<EntraIdentity> {
  const { header, payload } = readUnverified(token);
  if (header.alg !== 'RS256')
    throw invalidToken(`token algorithm '${String(header.alg)}' is not accepted (Entra tokens are RS256)`);
  if ('nonce' in header)
    throw invalidToken('token is a Microsoft Graph token, not one issued for this server');
  if (typeof header.kid !== 'string' || !SAFE_KID.test(header.kid))
    throw invalidToken('token key id (kid) is missing or malformed');

  const audience = payload.aud;
  if (typeof audience === 'string' && GRAPH_AUDIENCES.has(audience)) {
    throw invalidToken(
      'token audience is Microsoft Graph, not this server: request a token for this API instead',
    );
  }
  if (typeof audience !== 'string' || !trust.audiences.has(audience)) {
    throw invalidToken(
      `token audience '${String(audience)}' is not this server (expected ${[...trust.audiences].join(' or ')})`,
    );
  }

  const tid = payload.tid;
  if (typeof tid !== 'string' || !GUID.test(tid)) throw invalidToken('token has no valid tenant id (tid)');
  const version = payload.ver === '1.0' ? '1.0' : payload.ver === '2.0' ? '2.0' : undefined;
  if (version === undefined)
    throw invalidToken(
      `token version '${String(payload.ver)}' is not an Entra access token version (1.0 or 2.0)`,
    );
  const templates = trust.issuerTemplates ?? {
    v1: 'https://sts.windows.net/{tenantid}/',
    v2: `${trust.authorityHost}/{tenantid}/v2.0`,
  };
  const expectedIssuer = (version === '1.0' ? templates.v1 : templates.v2).replace('{tenantid}', tid);
  if (payload.iss !== expectedIssuer) {
    throw invalidToken(`issuer '${String(payload.iss)}' is not trusted (expected ${expectedIssuer})`);
  }
  if (trust.tenantId !== undefined && tid.toLowerCase() !== trust.tenantId.toLowerCase()) {
    throw invalidToken(
      `issuer '${String(payload.iss)}' is not trusted: tenant ${tid} is not this server's tenant`,
    );
  }
  if (trust.allowedTenants !== undefined && !trust.allowedTenants.has(tid.toLowerCase())) {
    throw invalidToken(`tenant ${tid} is not allowed to use this server (MCP_AZURE_ALLOWED_TENANTS)`);
  }

  const { key, jwk } = await keys.key(tid, header.kid);
  const keyIssuer = (jwk as { issuer?: unknown }).issuer;
  // Keys carry their issuer in the v2 form only, so only v2 tokens can be checked against it (§7.3).
  if (
    version === '2.0' &&
    typeof keyIssuer === 'string' &&
    keyIssuer.replace('{tenantid}', tid) !== expectedIssuer
  ) {
    throw invalidToken(
      `token signing key '${header.kid}' belongs to issuer ${keyIssuer}, not ${String(payload.iss)}`,
    );
  }
  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwtVerify(token, key, {
      algorithms: ['RS256'],
      clockTolerance: trust.clockSkewSeconds,
      currentDate: new Date(now()),
      requiredClaims: ['exp', 'oid'],
    }));
  } catch (error) {
    throw describeJoseError(error, payload);
  }

  const scp = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
  const appOnly = claims.idtyp === 'app' || claims.scp === undefined;
  const clientAppId = stringClaim(version === '1.0' ? claims.appid : claims.azp);
  if (
    trust.allowedClientApps !== undefined &&
    (clientAppId === undefined || !trust.allowedClientApps.has(clientAppId))
  ) {
    throw invalidToken(
      `client application '${clientAppId ?? 'unknown'}' is not allowed to call this server (MCP_AZURE_ALLOWED_CLIENT_APPS)`,
    );
  }
  const claimNames = claims._claim_names as { groups?: unknown } | undefined;
  return {
    kind: appOnly ? 'entra-app' : 'entra-user',
    version,
    tenantId: tid.toLowerCase(),
    objectId: String(claims.oid),
    clientAppId,
    scopes: scp,
    roles: stringArray(claims.roles),
    groups: stringArray(claims.groups),
    groupsOverage: claimNames?.groups !== undefined,
    name: stringClaim(claims.name) ?? null,
    preferredUsername:
      stringClaim(claims.preferred_username) ??
      stringClaim(claims.upn) ??
      stringClaim(claims.unique_name) ??
      null,
    expiresAt: Number(claims.exp),
  };
}

export function describeJoseError(error: unknown, payload: Record<string, unknown>): GatehouseError {
  if (error instanceof GatehouseError) return error;
  if (error instanceof errors.JWTExpired)
    return invalidToken(`token expired at ${isoTime(Number(payload.exp))}`);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf')
      return invalidToken(`token is not valid before ${isoTime(Number(payload.nbf))}`);
    if (error.claim === 'iat') return invalidToken('token was issued in the future (iat)');
    return invalidToken(`token claim '${error.claim}' is invalid: ${error.reason}`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalidToken('token signature is invalid');
  if (error instanceof errors.JOSEAlgNotAllowed) return invalidToken('token algorithm is not accepted');
  if (error instanceof errors.JOSEError) return invalidToken(`token is invalid: ${error.message}`);
  throw error;
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
