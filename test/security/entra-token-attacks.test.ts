import { createHmac, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../src/errors/index.js';
import { JwksCache } from '../../src/tokens/jwks-cache.js';
import { type EntraTrust, verifyEntraToken } from '../../src/tokens/verify-entra-token.js';
import { LocalJwksServer, type LocalKey, makeKey, sign } from '../helpers/local-jwks.js';

// Entra access-token validation (entra.md §7; RFC 8725 JWT BCP; MCP authorization "Token Handling").
const TENANT = '11111111-2222-3333-4444-555555555555';
const OTHER_TENANT = '99999999-8888-7777-6666-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const now = () => Date.UTC(2026, 10, 23, 12, 0, 0);
const nowSec = Math.floor(now() / 1000);

const trust: EntraTrust = {
  authorityHost: 'https://login.microsoftonline.com',
  tenantId: TENANT,
  allowedTenants: undefined,
  audiences: new Set([CLIENT, `api://${CLIENT}`, `api://${CLIENT}/`]),
  allowedClientApps: undefined,
  clockSkewSeconds: 300,
};

function v2Claims(overrides: Record<string, unknown> = {}) {
  return {
    iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
    aud: CLIENT,
    tid: TENANT,
    oid: 'bob-oid',
    sub: 'pairwise',
    azp: 'aebc6443-996d-45c2-90f0-388ff96faa56',
    scp: 'discover tools.execute',
    roles: ['user'],
    ver: '2.0',
    iat: nowSec - 60,
    nbf: nowSec - 60,
    exp: nowSec + 3600,
    name: 'Bob',
    preferred_username: 'bob@contoso.example',
    ...overrides,
  };
}

let jwks: LocalJwksServer;
let key1: LocalKey;
let cache: JwksCache;

async function rejected(
  token: string,
  options: { trust?: EntraTrust; cache?: JwksCache } = {},
): Promise<GatehouseError> {
  try {
    await verifyEntraToken(token, options.trust ?? trust, options.cache ?? cache, now);
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('the token was accepted');
}

beforeAll(async () => {
  jwks = await new LocalJwksServer().start();
  key1 = await makeKey('key-one');
  jwks.keys = [key1, await makeKey('key-two')];
  cache = new JwksCache({ jwksUrl: (tid) => `${jwks.url}/${tid}/discovery/v2.0/keys`, now });
});
afterAll(() => jwks.close());

describe('Entra token verification', () => {
  it('accepts a valid v2 user token and reads identity, scopes and roles', async () => {
    const identity = await verifyEntraToken(await sign(key1, v2Claims()), trust, cache, now);
    expect(identity).toMatchObject({
      kind: 'entra-user',
      version: '2.0',
      tenantId: TENANT,
      objectId: 'bob-oid',
      scopes: ['discover', 'tools.execute'],
      roles: ['user'],
      clientAppId: 'aebc6443-996d-45c2-90f0-388ff96faa56',
      name: 'Bob',
    });
  });

  it('accepts a v1 token with the sts.windows.net issuer and an identifier-URI audience with a trailing slash', async () => {
    const token = await sign(
      key1,
      v2Claims({
        iss: `https://sts.windows.net/${TENANT}/`,
        ver: '1.0',
        aud: `api://${CLIENT}/`,
        azp: undefined,
        appid: 'client-app',
      }),
      { x5t: 'key-one' },
    );
    const identity = await verifyEntraToken(token, trust, cache, now);
    expect(identity).toMatchObject({ version: '1.0', clientAppId: 'client-app' });
  });

  it('treats a token without scp as app-only', async () => {
    const identity = await verifyEntraToken(
      await sign(key1, v2Claims({ scp: undefined, roles: ['admin'], idtyp: 'app' })),
      trust,
      cache,
      now,
    );
    expect(identity).toMatchObject({ kind: 'entra-app', scopes: [], roles: ['admin'] });
  });

  it('rejects alg: none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', kid: 'key-one' })).toString(
      'base64url',
    );
    const payload = Buffer.from(JSON.stringify(v2Claims())).toString('base64url');
    const error = await rejected(`${header}.${payload}.`);
    expect(error.message).toContain("token algorithm 'none' is not accepted");
  });

  it('rejects HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const pem = createPublicKey({ key: key1.jwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'key-one' })).toString(
      'base64url',
    );
    const payload = Buffer.from(JSON.stringify(v2Claims())).toString('base64url');
    const signature = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
    const error = await rejected(`${header}.${payload}.${signature}`);
    expect(error.message).toContain("token algorithm 'HS256' is not accepted");
  });

  it('rejects an unknown kid', async () => {
    const stranger = await makeKey('not-published');
    const error = await rejected(await sign(stranger, v2Claims()));
    expect(error.message).toContain(
      "token signing key 'not-published' is not one of the tenant's published keys",
    );
  });

  it('rejects a kid that is a path or URL, before any lookup', async () => {
    const before = jwks.requests;
    for (const kid of ['../../etc/passwd', 'https://evil.example/keys', 'a/b']) {
      const error = await rejected(await sign({ ...key1, kid }, v2Claims()));
      expect(error.message).toBe('token key id (kid) is missing or malformed');
    }
    expect(jwks.requests).toBe(before);
  });

  it('rejects a forged signature', async () => {
    const forger = await makeKey('key-one');
    expect((await rejected(await sign(forger, v2Claims()))).message).toBe('token signature is invalid');
  });

  it('rejects an expired token, saying when it expired', async () => {
    const exp = nowSec - 301;
    const error = await rejected(await sign(key1, v2Claims({ exp })));
    expect(error.message).toBe(`token expired at ${new Date(exp * 1000).toISOString()}`);
  });

  it('accepts a token expired within the clock skew', async () => {
    await expect(
      verifyEntraToken(await sign(key1, v2Claims({ exp: nowSec - 200 })), trust, cache, now),
    ).resolves.toBeDefined();
  });

  it('rejects a token that is not yet valid', async () => {
    const nbf = nowSec + 3600;
    const error = await rejected(await sign(key1, v2Claims({ nbf })));
    expect(error.message).toBe(`token is not valid before ${new Date(nbf * 1000).toISOString()}`);
  });

  it('rejects a wrong issuer', async () => {
    const error = await rejected(await sign(key1, v2Claims({ iss: 'https://evil.example/v2.0' })));
    expect(error.message).toContain("issuer 'https://evil.example/v2.0' is not trusted");
  });

  it("rejects another tenant's issuer, even with matching tid", async () => {
    const error = await rejected(
      await sign(
        key1,
        v2Claims({ tid: OTHER_TENANT, iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }),
      ),
    );
    expect(error.message).toContain(`tenant ${OTHER_TENANT} is not this server's tenant`);
  });

  it('rejects a tid outside MCP_AZURE_ALLOWED_TENANTS for a multi-tenant app', async () => {
    const multi = { ...trust, tenantId: undefined, allowedTenants: new Set([TENANT]) };
    const token = await sign(
      key1,
      v2Claims({ tid: OTHER_TENANT, iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }),
    );
    const error = await rejected(token, { trust: multi });
    expect(error.message).toBe(
      `tenant ${OTHER_TENANT} is not allowed to use this server (MCP_AZURE_ALLOWED_TENANTS)`,
    );
    await expect(verifyEntraToken(await sign(key1, v2Claims()), multi, cache, now)).resolves.toMatchObject({
      tenantId: TENANT,
    });
  });

  it('rejects a wrong audience, naming what it expected', async () => {
    const error = await rejected(await sign(key1, v2Claims({ aud: 'api://someone-else' })));
    expect(error.message).toContain("token audience 'api://someone-else' is not this server (expected");
    expect(error.message).toContain(CLIENT);
  });

  it('rejects a Microsoft Graph token (audience)', async () => {
    const error = await rejected(await sign(key1, v2Claims({ aud: '00000003-0000-0000-c000-000000000000' })));
    expect(error.message).toContain('token audience is Microsoft Graph');
  });

  it('rejects a Microsoft Graph token (nonce header)', async () => {
    const error = await rejected(
      await sign(key1, v2Claims({ aud: 'https://graph.microsoft.com' }), { nonce: 'abc' }),
    );
    expect(error.message).toContain('Microsoft Graph token');
  });

  it('rejects a token of another resource server in the same tenant', async () => {
    const error = await rejected(await sign(key1, v2Claims({ aud: 'bbbbbbbb-0000-0000-0000-000000000000' })));
    expect(error.code).toBe('GH_AUTH_INVALID_TOKEN');
    expect(error.message).toContain('is not this server');
  });

  it('rejects truncated and garbage tokens', async () => {
    const token = await sign(key1, v2Claims());
    expect((await rejected(token.slice(0, token.lastIndexOf('.')))).message).toContain('not a JWT');
    expect((await rejected('garbage')).message).toContain('not a JWT');
    expect((await rejected('e30.e30.')).message).toContain("token algorithm 'undefined'");
    expect((await rejected('!!!.???.###')).message).toContain('not a JWT');
  });

  it('rejects a client app outside MCP_AZURE_ALLOWED_CLIENT_APPS', async () => {
    const limited = { ...trust, allowedClientApps: new Set(['only-this-app']) };
    const error = await rejected(await sign(key1, v2Claims()), { trust: limited });
    expect(error.message).toContain(
      "client application 'aebc6443-996d-45c2-90f0-388ff96faa56' is not allowed",
    );
  });
});

describe('JWKS caching (entra.md §6)', () => {
  it('keeps accepting with cached keys while the JWKS endpoint is down', async () => {
    let clock = now();
    const local = new JwksCache({
      jwksUrl: (tid) => `${jwks.url}/${tid}/discovery/v2.0/keys`,
      now: () => clock,
    });
    const token = await sign(key1, v2Claims());
    await verifyEntraToken(token, trust, local, () => clock);
    jwks.up = false;
    try {
      clock += 2 * 60 * 60 * 1000; // past the hourly refresh: the fetch fails, last-known-good stays
      await expect(
        verifyEntraToken(
          await sign(key1, v2Claims({ exp: Math.floor(clock / 1000) + 600 })),
          trust,
          local,
          () => clock,
        ),
      ).resolves.toBeDefined();
    } finally {
      jwks.up = true;
    }
  });

  it('never accepts when no keys were ever fetched and the endpoint is down', async () => {
    const local = new JwksCache({ jwksUrl: (tid) => `${jwks.url}/${tid}/discovery/v2.0/keys`, now });
    jwks.up = false;
    try {
      const error = await rejected(await sign(key1, v2Claims()), { cache: local });
      expect(error.code).toBe('GH_AUTH_KEYS_UNAVAILABLE');
      expect(error.status).toBe(503);
      expect(error.message).toContain('could not be fetched');
    } finally {
      jwks.up = true;
    }
  });

  it('accepts a rotated-in key on its first use', async () => {
    const local = new JwksCache({ jwksUrl: (tid) => `${jwks.url}/${tid}/discovery/v2.0/keys`, now });
    await verifyEntraToken(await sign(key1, v2Claims()), trust, local, now);
    const rotated = await makeKey('key-three');
    jwks.keys = [...jwks.keys, rotated];
    await expect(verifyEntraToken(await sign(rotated, v2Claims()), trust, local, now)).resolves.toMatchObject(
      { objectId: 'bob-oid' },
    );
  });

  it('refetches for unknown kids at most once per five minutes', async () => {
    let clock = now();
    const local = new JwksCache({
      jwksUrl: (tid) => `${jwks.url}/${tid}/discovery/v2.0/keys`,
      now: () => clock,
    });
    await verifyEntraToken(await sign(key1, v2Claims()), trust, local, () => clock);
    const stranger = await makeKey('never-published');
    const before = jwks.requests;
    for (let i = 0; i < 3; i++) await rejected(await sign(stranger, v2Claims()), { cache: local });
    expect(jwks.requests - before).toBe(1);
    clock += 5 * 60 * 1000;
    await expect(
      verifyEntraToken(await sign(stranger, v2Claims()), trust, local, () => clock),
    ).rejects.toThrow(/never-published/);
    expect(jwks.requests - before).toBe(2);
  });
});
