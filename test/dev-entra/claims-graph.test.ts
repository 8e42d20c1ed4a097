import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import {
  API_REDIRECT,
  decodePart,
  IDS,
  pkce,
  postToken,
  signIn,
  userTokenForApi,
  verifyWithJwks,
} from './helpers.js';

let entra: DevEntra;
beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
});
afterAll(() => entra.close());

const API = { client_id: IDS.api, client_secret: IDS.apiSecret };

/** The Gatehouse API's token for alice, exchanged on-behalf-of for another API. */
async function oboFor(scope: string, user: 'alice' | 'bob' | 'carol' = 'alice') {
  const t = await userTokenForApi(entra, user);
  const r = await postToken(entra.tokenEndpoint(), {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    requested_token_use: 'on_behalf_of',
    ...API,
    assertion: String(t.access_token),
    scope,
  });
  expect(r.status).toBe(200);
  return String(r.body.access_token);
}

describe('access-token claims', () => {
  it('v2 user token for the Gatehouse API (accessTokenAcceptedVersion 2)', async () => {
    const t = await userTokenForApi(entra, 'alice');
    const c = await verifyWithJwks(entra, String(t.access_token), 'v2');
    expect(c).toMatchObject({
      aud: IDS.api,
      iss: entra.issuer('v2'),
      azp: IDS.api,
      azpacr: '1',
      tid: IDS.tenant,
      oid: IDS.alice,
      ver: '2.0',
      name: 'Alice Admin',
      preferred_username: 'alice@gatehousedev.onmicrosoft.com',
      scp: 'tools.read tools.execute',
      roles: ['admin'],
      groups: [...IDS.groups],
    });
    for (const claim of ['uti', 'rh', 'aio', 'sid', 'sub', 'iat', 'nbf', 'exp'])
      expect(c).toHaveProperty(claim);
    for (const absent of ['appid', 'upn', 'unique_name', 'amr', 'idtyp'])
      expect(c).not.toHaveProperty(absent);
    const lifetime = c.exp! - c.iat!;
    expect(lifetime).toBeGreaterThanOrEqual(3600);
    expect(lifetime).toBeLessThanOrEqual(5400);
    expect(t.expires_in).toBe(lifetime);
  });

  it('sub is pairwise: the same user has different sub values per client, the same oid', async () => {
    const viaApi = await verifyWithJwks(
      entra,
      String((await userTokenForApi(entra, 'carol')).access_token),
      'v2',
    );
    const { location } = await signIn(
      `${entra.authority('v1')}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: IDS.vscode, response_type: 'code', redirect_uri: 'http://127.0.0.1:4000/', scope: `api://${IDS.api}/tools.read`, prompt: 'login' })}`,
      'carol',
    );
    const r = await postToken(entra.tokenEndpoint(), {
      grant_type: 'authorization_code',
      client_id: IDS.vscode,
      code: location.searchParams.get('code')!,
      redirect_uri: 'http://127.0.0.1:4000/',
    });
    const viaVsCode = await verifyWithJwks(entra, String(r.body.access_token), 'v2');
    expect(viaVsCode).toMatchObject({ oid: IDS.carol, azp: IDS.vscode, azpacr: '0', aud: IDS.api });
    expect(viaVsCode.sub).not.toBe(viaApi.sub);
    // carol has no roles and no groups: the claims are absent, not empty.
    expect(viaVsCode).not.toHaveProperty('roles');
    expect(viaVsCode).not.toHaveProperty('groups');
  });

  it('v1 user token (downstream API has no accessTokenAcceptedVersion): x5t header, appid, upn, amr', async () => {
    const token = await oboFor(`api://${IDS.downstream}/access_as_user`, 'bob');
    expect(decodePart(token, 0)).toEqual({
      typ: 'JWT',
      alg: 'RS256',
      x5t: expect.any(String),
      kid: decodePart(token, 0).x5t,
    });
    const c = await verifyWithJwks(entra, token, 'v1');
    expect(c).toMatchObject({
      aud: `api://${IDS.downstream}`,
      iss: entra.issuer('v1'),
      appid: IDS.api,
      appidacr: '1',
      ver: '1.0',
      upn: 'bob@gatehousedev.onmicrosoft.com',
      unique_name: 'bob@gatehousedev.onmicrosoft.com',
      given_name: 'Bob',
      family_name: 'User',
      amr: ['pwd'],
      acr: '1',
      scp: 'access_as_user',
      oid: IDS.bob,
      tid: IDS.tenant,
    });
    expect(c).not.toHaveProperty('azp');
    expect(c).not.toHaveProperty('preferred_username');
  });

  it('v1 aud repeats the GUID form when the API is named by its GUID', async () => {
    const token = await oboFor(`${IDS.downstream}/access_as_user`);
    expect(decodePart(token, 1).aud).toBe(IDS.downstream);
  });

  it('v1 token endpoint: resource=, string expires_in/expires_on, v1 app-only token with idp', async () => {
    const r = await postToken(entra.tokenEndpoint('v1'), {
      grant_type: 'client_credentials',
      client_id: IDS.daemon,
      client_secret: IDS.daemonSecret,
      resource: IDS.downstream,
    });
    expect(r.status).toBe(200);
    expect(typeof r.body.expires_in).toBe('string');
    expect(typeof r.body.expires_on).toBe('string');
    expect(r.body.resource).toBe(IDS.downstream);
    const c = await verifyWithJwks(entra, String(r.body.access_token), 'v1');
    expect(c).toMatchObject({
      aud: IDS.downstream,
      appid: IDS.daemon,
      appidacr: '1',
      idp: entra.issuer('v1'),
      sub: IDS.daemonSp,
      oid: IDS.daemonSp,
    });
    expect(c).not.toHaveProperty('scp');
    expect(c).not.toHaveProperty('roles');
  });

  it('ID tokens: v2 from the v2 endpoint, v1 from the v1 endpoint; client_info when asked', async () => {
    const { verifier, challenge } = pkce();
    const { location } = await signIn(
      `${entra.authority('v1')}/oauth2/authorize?${new URLSearchParams({ client_id: IDS.api, response_type: 'code', redirect_uri: API_REDIRECT, resource: IDS.downstream, code_challenge: challenge, code_challenge_method: 'S256', nonce: 'n1', prompt: 'login' })}`,
      'alice',
    );
    expect(location.searchParams.get('session_state')).toBeTruthy();
    const r = await postToken(entra.tokenEndpoint('v1'), {
      grant_type: 'authorization_code',
      ...API,
      code: location.searchParams.get('code')!,
      redirect_uri: API_REDIRECT,
      code_verifier: verifier,
      client_info: '1',
    });
    expect(r.status).toBe(200);
    const id = await verifyWithJwks(entra, String(r.body.id_token), 'v1');
    expect(id).toMatchObject({
      aud: IDS.api,
      ver: '1.0',
      nonce: 'n1',
      upn: 'alice@gatehousedev.onmicrosoft.com',
      oid: IDS.alice,
    });
    expect(JSON.parse(Buffer.from(String(r.body.client_info), 'base64url').toString())).toEqual({
      uid: IDS.alice,
      utid: IDS.tenant,
    });
    expect(r.body.refresh_token).toBeTruthy();
  });

  it('groups overage: past the limit, _claim_names/_claim_sources replace groups', async () => {
    entra.setGroupsOverageLimit(2);
    try {
      const alice = await verifyWithJwks(
        entra,
        String((await userTokenForApi(entra, 'alice')).access_token),
        'v2',
      );
      expect(alice).not.toHaveProperty('groups');
      expect(alice._claim_names).toEqual({ groups: 'src1' });
      expect(alice._claim_sources).toEqual({
        src1: { endpoint: `https://graph.windows.net/${IDS.tenant}/users/${IDS.alice}/getMemberObjects` },
      });
      const bob = await verifyWithJwks(
        entra,
        String((await userTokenForApi(entra, 'bob')).access_token),
        'v2',
      );
      expect(bob.groups).toEqual([IDS.groups[2]]);
    } finally {
      entra.setGroupsOverageLimit(200);
    }
  });

  it('clock offset shifts iat/nbf/exp', async () => {
    entra.setClockOffsetSeconds(-3000);
    try {
      const c = decodePart(String((await userTokenForApi(entra, 'bob')).access_token), 1) as { iat: number };
      expect(Math.floor(Date.now() / 1000) - c.iat).toBeGreaterThanOrEqual(2990);
    } finally {
      entra.setClockOffsetSeconds(0);
    }
  });
});

describe('Microsoft Graph', () => {
  it('Graph tokens carry a nonce header that standard libraries cannot verify', async () => {
    const token = await oboFor('https://graph.microsoft.com/User.Read');
    expect(decodePart(token, 0)).toHaveProperty('nonce');
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(entra.jwksUri('v1'))))).rejects.toThrow(
      /signature/,
    );
  });

  it('/v1.0/me returns the user; memberOf needs GroupMember.Read.All and pages', async () => {
    const userRead = await oboFor('https://graph.microsoft.com/User.Read');
    const me = await fetch(`${entra.url}/v1.0/me`, { headers: { authorization: `Bearer ${userRead}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({
      '@odata.context': `${entra.url}/v1.0/$metadata#users/$entity`,
      businessPhones: [],
      displayName: 'Alice Admin',
      givenName: 'Alice',
      jobTitle: 'Platform Lead',
      mail: 'alice@gatehousedev.onmicrosoft.com',
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      surname: 'Admin',
      userPrincipalName: 'alice@gatehousedev.onmicrosoft.com',
      id: IDS.alice,
    });
    const denied = await fetch(`${entra.url}/v1.0/me/memberOf`, {
      headers: { authorization: `Bearer ${userRead}` },
    });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe(
      'Authorization_RequestDenied',
    );

    const groupRead = await oboFor('https://graph.microsoft.com/GroupMember.Read.All');
    const page1 = (await (
      await fetch(`${entra.url}/v1.0/me/memberOf?$top=2`, {
        headers: { authorization: `Bearer ${groupRead}` },
      })
    ).json()) as { value: { id: string; '@odata.type': string }[]; '@odata.nextLink': string };
    expect(page1.value.map((g) => g.id)).toEqual(IDS.groups.slice(0, 2));
    expect(page1.value[0]!['@odata.type']).toBe('#microsoft.graph.group');
    const page2 = (await (
      await fetch(page1['@odata.nextLink'], { headers: { authorization: `Bearer ${groupRead}` } })
    ).json()) as { value: { id: string }[]; '@odata.nextLink'?: string };
    expect(page2.value.map((g) => g.id)).toEqual([IDS.groups[2]]);
    expect(page2['@odata.nextLink']).toBeUndefined();

    const objects = await fetch(`${entra.url}/v1.0/users/${IDS.alice}/getMemberObjects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${groupRead}`, 'content-type': 'application/json' },
      body: JSON.stringify({ securityEnabledOnly: true }),
    });
    expect(((await objects.json()) as { value: string[] }).value).toEqual([...IDS.groups]);
  });

  it('rejects non-Graph tokens and app-only /me with Graph error shapes', async () => {
    const apiToken = String((await userTokenForApi(entra, 'alice')).access_token);
    const r = await fetch(`${entra.url}/v1.0/me`, {
      headers: { authorization: `Bearer ${apiToken}`, 'client-request-id': 'abc' },
    });
    expect(r.status).toBe(401);
    const body = (await r.json()) as {
      error: { code: string; message: string; innerError: Record<string, string> };
    };
    expect(body.error.code).toBe('InvalidAuthenticationToken');
    expect(Object.keys(body.error.innerError)).toEqual(['date', 'request-id', 'client-request-id']);
    expect(body.error.innerError['client-request-id']).toBe('abc');
    const none = await fetch(`${entra.url}/v1.0/me`);
    expect(none.status).toBe(401);
  });
});
