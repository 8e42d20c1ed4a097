import { type JWTVerifyGetKey, jwtVerify } from 'jose';
import { invalidToken, readUnverified } from './jwt-parts.js';
import { describeJoseError } from './verify-entra-token.js';

export interface GatehouseTrust {
  /** Gatehouse's issuer (its base URL). */
  issuer: string;
  /** The resource URLs a token may be bound to here (RFC 8707): /mcp, and /mcp/{server} on that endpoint. */
  resources: readonly string[];
  clockSkewSeconds: number;
}

export interface GatehouseIdentity {
  kind: 'gatehouse';
  tenantId: string;
  objectId: string;
  clientAppId: string | undefined;
  scopes: string[];
  roles: string[];
  /** The user's Entra groups as Gatehouse resolved them at sign-in (overage read from Graph). */
  groups: string[];
  name: string | null;
  preferredUsername: string | null;
  expiresAt: number;
  /** The authorization grant behind the token. */
  grantId: string | undefined;
}

/** Verifies an access token Gatehouse issued (RFC 9068 JWT, typ at+jwt, aud = the MCP resource). */
export async function verifyGatehouseToken(
  token: string,
  trust: GatehouseTrust,
  key: JWTVerifyGetKey,
  now: () => number = Date.now,
): Promise<GatehouseIdentity> {
  const { payload } = readUnverified(token);
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.some((audience) => trust.resources.includes(String(audience)))) {
    throw invalidToken(
      `token audience '${audiences.join(' ')}' is not this server (expected ${trust.resources.join(' or ')})`,
    );
  }
  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwtVerify(token, key, {
      issuer: trust.issuer,
      audience: [...trust.resources],
      typ: 'at+jwt',
      algorithms: ['RS256', 'PS256', 'ES256'],
      clockTolerance: trust.clockSkewSeconds,
      currentDate: new Date(now()),
      requiredClaims: ['exp', 'sub', 'tid', 'oid'],
    }));
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ERR_JWKS_NO_MATCHING_KEY') {
      throw invalidToken("token signing key is not one of this server's keys");
    }
    if (error instanceof Error && 'claim' in error && error.claim === 'typ') {
      throw invalidToken('token is not an access token (typ must be at+jwt)');
    }
    throw describeJoseError(error, payload);
  }
  return {
    kind: 'gatehouse',
    tenantId: String(claims.tid).toLowerCase(),
    objectId: String(claims.oid),
    clientAppId: typeof claims.client_id === 'string' ? claims.client_id : undefined,
    scopes: typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [],
    roles: Array.isArray(claims.roles)
      ? claims.roles.filter((role): role is string => typeof role === 'string')
      : [],
    groups: Array.isArray(claims.groups)
      ? claims.groups.filter((group): group is string => typeof group === 'string')
      : [],
    name: typeof claims.name === 'string' ? claims.name : null,
    preferredUsername: typeof claims.preferred_username === 'string' ? claims.preferred_username : null,
    expiresAt: Number(claims.exp),
    grantId: typeof claims.gh_grant === 'string' ? claims.gh_grant : undefined,
  };
}
