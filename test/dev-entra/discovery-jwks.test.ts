import { createHash, X509Certificate } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { decodePart, expectAadstsShape, IDS, userTokenForApi } from './helpers.js';

let entra: DevEntra;
beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
});
afterAll(() => entra.close());

const get = async (path: string) => {
  const r = await fetch(`${entra.url}${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe('discovery', () => {
  it('serves v2 and v1 tenant documents with the real tenant issuer', async () => {
    const v2 = (await get(`/${IDS.tenant}/v2.0/.well-known/openid-configuration`)).body;
    expect(v2.issuer).toBe(`${entra.url}/${IDS.tenant}/v2.0`);
    expect(v2.jwks_uri).toBe(`${entra.url}/${IDS.tenant}/discovery/v2.0/keys`);
    expect(v2.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ]);
    expect(v2.response_modes_supported).toEqual(['query', 'fragment', 'form_post']);
    expect(v2.scopes_supported).toEqual(['openid', 'profile', 'email', 'offline_access']);
    expect(v2).not.toHaveProperty('registration_endpoint');
    expect(v2).not.toHaveProperty('code_challenge_methods_supported');
    const v1 = (await get(`/${IDS.tenant}/.well-known/openid-configuration`)).body;
    expect(v1.issuer).toBe(`${entra.url}/${IDS.tenant}/`);
    expect(v1.microsoft_multi_refresh_token).toBe(true);
    expect(v1.token_endpoint).toBe(`${entra.url}/${IDS.tenant}/oauth2/token`);
  });

  it('answers by verified domain with the GUID endpoints', async () => {
    const doc = (await get('/gatehousedev.onmicrosoft.com/v2.0/.well-known/openid-configuration')).body;
    expect(doc.issuer).toBe(`${entra.url}/${IDS.tenant}/v2.0`);
  });

  it.each(['common', 'organizations'])(
    '%s documents carry the literal {tenantid} issuer',
    async (segment) => {
      const v2 = (await get(`/${segment}/v2.0/.well-known/openid-configuration`)).body;
      expect(v2.issuer).toBe(`${entra.url}/{tenantid}/v2.0`);
      expect(v2.authorization_endpoint).toBe(`${entra.url}/${segment}/oauth2/v2.0/authorize`);
      const v1 = (await get(`/${segment}/.well-known/openid-configuration`)).body;
      expect(v1.issuer).toBe(`${entra.url}/{tenantid}/`);
    },
  );

  it('returns AADSTS90002 for an unknown tenant', async () => {
    const { status, body } = await get('/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration');
    expect(status).toBe(400);
    expectAadstsShape(body, 90002, 'invalid_tenant');
  });

  it('points jwks_uri at ?appid= when asked, as for apps with custom signing keys', async () => {
    const doc = (await get(`/${IDS.tenant}/v2.0/.well-known/openid-configuration?appid=${IDS.api}`)).body;
    expect(doc.jwks_uri).toBe(`${entra.url}/${IDS.tenant}/discovery/v2.0/keys?appid=${IDS.api}`);
  });
});

describe('JWKS', () => {
  it('publishes at least two RSA keys with kid = x5t = SHA-1 of x5c, an issuer, and no alg', async () => {
    const { keys } = (await get(`/${IDS.tenant}/discovery/v2.0/keys`)).body as {
      keys: Record<string, unknown>[];
    };
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).toMatchObject({
        kty: 'RSA',
        use: 'sig',
        e: 'AQAB',
        issuer: `${entra.url}/${IDS.tenant}/v2.0`,
      });
      expect(key).not.toHaveProperty('alg');
      expect(key.kid).toBe(key.x5t);
      const der = Buffer.from((key.x5c as string[])[0]!, 'base64');
      expect(createHash('sha1').update(der).digest('base64url')).toBe(key.x5t);
      const cert = new X509Certificate(der);
      expect(cert.publicKey.export({ format: 'jwk' }).n).toBe(key.n);
    }
    const common = (await get('/common/discovery/v2.0/keys')).body as { keys: { issuer: string }[] };
    expect(common.keys[0]!.issuer).toBe(`${entra.url}/{tenantid}/v2.0`);
    const v1 = (await get(`/${IDS.tenant}/discovery/keys`)).body as { keys: { issuer: string }[] };
    expect(v1.keys[0]!.issuer).toBe(`${entra.url}/${IDS.tenant}/`);
  });

  it('signs with a published kid; v2 headers have no x5t', async () => {
    const tokens = await userTokenForApi(entra, 'bob');
    const header = decodePart(tokens.access_token as string, 0);
    expect(header).toEqual({ typ: 'JWT', alg: 'RS256', kid: expect.any(String) });
    const { keys } = (await get(`/${IDS.tenant}/discovery/v2.0/keys`)).body as { keys: { kid: string }[] };
    expect(keys.map((k) => k.kid)).toContain(header.kid);
  });

  it('rotation: new tokens use the new key, old tokens still verify; an emergency rotation drops the old key', async () => {
    const before = (await userTokenForApi(entra, 'bob')).access_token as string;
    const oldKid = decodePart(before, 0).kid;
    const newKid = await entra.rotateSigningKey();
    const after = (await userTokenForApi(entra, 'bob')).access_token as string;
    expect(decodePart(after, 0).kid).toBe(newKid);
    const jwks = () => createRemoteJWKSet(new URL(entra.jwksUri('v2')));
    await expect(jwtVerify(before, jwks())).resolves.toBeTruthy();
    await expect(jwtVerify(after, jwks())).resolves.toBeTruthy();

    await entra.rotateSigningKey({ emergency: true });
    const { keys } = (await get(`/${IDS.tenant}/discovery/v2.0/keys`)).body as { keys: { kid: string }[] };
    expect(keys.map((k) => k.kid)).not.toContain(newKid);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(keys.map((k) => k.kid)).toContain(oldKid);
    await expect(jwtVerify(after, jwks())).rejects.toThrow();
  });
});
