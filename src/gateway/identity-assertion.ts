import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Caller } from '../identity/caller.js';
import type { Keyring } from '../tokens/keyring.js';
import type { UpstreamServer } from './server-config.js';

/** The HTTP header that carries the assertion to a remote upstream. */
export const ASSERTION_HEADER = 'x-gatehouse-jwt-assertion';
/** Where a stdio upstream (which has no headers) finds it: the request's `_meta`. */
export const ASSERTION_META_KEY = 'io.gatehouse/jwt-assertion';

const LIFETIME_SECONDS = 60;
/** An assertion is reused until this much of its life is left, so signing is not on every call. */
const RENEW_BEFORE_SECONDS = 20;

export interface IdentityForward {
  headers?: Record<string, string>;
  meta?: Record<string, unknown>;
}

/** The audience of assertions for a server: its URL, or a URN naming it for stdio servers. */
export function assertionAudience(server: UpstreamServer): string {
  return server.transport.kind === 'stdio' ? `urn:gatehouse:upstream:${server.name}` : server.transport.url;
}

/**
 * What an upstream configured with `"identity": "assertion"` learns about the caller: a short-lived
 * JWT signed with Gatehouse's own keys (verifiable at its /jwks), audience = that upstream. Never
 * the caller's token: a token for Gatehouse is not a token for the upstream (no passthrough).
 */
export function identityAssertions(keyring: Keyring, issuer: string) {
  const cache = new WeakMap<Caller, Map<string, { jwt: string; renewAt: number }>>();
  // Servers that learn nothing get a plain undefined, not a promise: no await on the hot path.
  return (caller: Caller, server: UpstreamServer): Promise<IdentityForward> | undefined =>
    server.identity === 'assertion' ? assertion(caller, server) : undefined;

  async function assertion(caller: Caller, server: UpstreamServer): Promise<IdentityForward> {
    const now = Math.floor(Date.now() / 1000);
    let perServer = cache.get(caller);
    const cached = perServer?.get(server.name);
    let jwt = cached !== undefined && cached.renewAt > now ? cached.jwt : undefined;
    if (jwt === undefined) {
      const key = keyring.current();
      jwt = await new SignJWT({
        tid: caller.tenantId,
        oid: caller.objectId,
        name: caller.displayName ?? undefined,
        preferred_username: caller.preferredUsername ?? undefined,
        roles: [...caller.roles],
        azp: caller.clientAppId ?? undefined,
        auth_kind: caller.kind,
      })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject(caller.userId)
        .setAudience(assertionAudience(server))
        .setIssuedAt(now)
        .setExpirationTime(now + LIFETIME_SECONDS)
        .setJti(randomUUID())
        .sign(key.privateKey);
      if (perServer === undefined) {
        perServer = new Map();
        cache.set(caller, perServer);
      }
      perServer.set(server.name, { jwt, renewAt: now + LIFETIME_SECONDS - RENEW_BEFORE_SECONDS });
    }
    return server.transport.kind === 'stdio'
      ? { meta: { [ASSERTION_META_KEY]: jwt } }
      : { headers: { [ASSERTION_HEADER]: jwt } };
  }
}
