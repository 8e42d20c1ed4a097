import type { IncomingMessage } from 'node:http';
import type { JWTPayload } from 'jose';
import type { EmulatorContext } from '../context.js';
import type { SeedUser } from '../seed.js';
import { IssuedTokenError, verifyIssuedToken } from '../tokens/verify-issued-token.js';
import { GraphError } from './graph-errors.js';

export interface GraphCaller {
  claims: JWTPayload;
  /** Set for delegated tokens. */
  user: SeedUser | undefined;
  scopes: Set<string>;
  roles: Set<string>;
}

const INVALID = (message: string) =>
  new GraphError(401, 'InvalidAuthenticationToken', message, {
    'www-authenticate': `Bearer realm="", authorization_uri="", client_id="00000003-0000-0000-c000-000000000000"`,
  });

/** Graph accepts only Graph-audience tokens this emulator issued; anything else is a 401. */
export async function authenticateGraphCaller(
  ctx: EmulatorContext,
  req: IncomingMessage,
): Promise<GraphCaller> {
  const header = req.headers.authorization ?? '';
  if (!/^bearer /i.test(header)) throw INVALID('Access token is empty.');
  let claims: JWTPayload;
  try {
    claims = await verifyIssuedToken(ctx, header.slice(7).trim());
  } catch (e) {
    if (e instanceof IssuedTokenError && e.reason === 'expired')
      throw INVALID('Lifetime validation failed, the token is expired.');
    if (e instanceof IssuedTokenError && e.reason === 'malformed')
      throw INVALID('IDX14100: JWT is not well formed.');
    throw INVALID('Access token validation failure. Invalid signature.');
  }
  const graph = ctx.directory.graph;
  const audiences = new Set(
    [...(graph?.identifierUris ?? []), graph?.appId].filter(Boolean).map((a) => String(a).replace(/\/$/, '')),
  );
  if (typeof claims.aud !== 'string' || !audiences.has(claims.aud.replace(/\/$/, ''))) {
    throw INVALID('Access token validation failure. Invalid audience.');
  }
  if (claims.tid !== ctx.tenantId) throw INVALID('Access token validation failure. Invalid issuer.');
  const scp = typeof claims.scp === 'string' ? claims.scp.split(' ') : [];
  const roles = Array.isArray(claims.roles) ? (claims.roles as string[]) : [];
  const user = scp.length > 0 && typeof claims.oid === 'string' ? ctx.directory.user(claims.oid) : undefined;
  return { claims, user, scopes: new Set(scp), roles: new Set(roles) };
}

export function requireDelegatedUser(caller: GraphCaller): SeedUser {
  if (!caller.user)
    throw new GraphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
  return caller.user;
}

export function requireAnyScope(caller: GraphCaller, scopes: string[]): void {
  if (!scopes.some((s) => caller.scopes.has(s) || caller.roles.has(s))) {
    throw new GraphError(
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    );
  }
}
