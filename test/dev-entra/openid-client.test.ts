import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { API_REDIRECT, decodePart, IDS, signIn, verifyWithJwks } from './helpers.js';

let entra: DevEntra;
let api: client.Configuration;

const API_SCOPE = `${IDS.api}/tools.read ${IDS.api}/chat openid profile email offline_access`;

beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
  api = await client.discovery(new URL(entra.authority('v2')), IDS.api, IDS.apiSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
});
afterAll(() => entra.close());

async function codeFlow(): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(api, {
    redirect_uri: API_REDIRECT,
    scope: API_SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const { location } = await signIn(url.toString(), 'alice');
  return client.authorizationCodeGrant(api, location, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
}

describe('openid-client against dev-entra (RFC 6749, RFC 7636, OIDC Core)', () => {
  it('discovers the tenant v2 metadata, which has no registration endpoint or PKCE methods (like Entra)', () => {
    const meta = api.serverMetadata();
    expect(meta.issuer).toBe(`${entra.url}/${IDS.tenant}/v2.0`);
    expect(meta.token_endpoint).toBe(`${entra.url}/${IDS.tenant}/oauth2/v2.0/token`);
    expect(meta.registration_endpoint).toBeUndefined();
    expect(meta.code_challenge_methods_supported).toBeUndefined();
    expect(meta.subject_types_supported).toEqual(['pairwise']);
  });

  it('completes code + PKCE; openid-client validates the ID token (iss, aud, nonce, signature)', async () => {
    const tokens = await codeFlow();
    expect(tokens.token_type).toBe('bearer');
    expect(typeof tokens.expires_in).toBe('number');
    expect(tokens.refresh_token).toBeTruthy();
    const id = tokens.claims()!;
    expect(id.aud).toBe(IDS.api);
    expect(id.oid).toBe(IDS.alice);
    expect(id.preferred_username).toBe('alice@gatehousedev.onmicrosoft.com');
    expect(id.email).toBe('alice@gatehousedev.onmicrosoft.com');
    const at = await verifyWithJwks(entra, tokens.access_token, 'v2');
    expect(at.scp).toBe('tools.read chat');
    expect(tokens.scope).toBe(`${IDS.api}/tools.read ${IDS.api}/chat openid profile email`);
  });

  it('refreshes: each refresh returns a new refresh token and the old one keeps working', async () => {
    const first = await codeFlow();
    const second = await client.refreshTokenGrant(api, first.refresh_token!, { scope: API_SCOPE });
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const again = await client.refreshTokenGrant(api, first.refresh_token!, { scope: API_SCOPE });
    expect((await verifyWithJwks(entra, again.access_token, 'v2')).oid).toBe(IDS.alice);
  });

  it('refreshes for another consented API with the same refresh token (not bound to a resource)', async () => {
    const first = await codeFlow();
    const graph = await client.refreshTokenGrant(api, first.refresh_token!, {
      scope: 'https://graph.microsoft.com/User.Read',
    });
    expect(decodePart(graph.access_token, 1).aud).toBe('https://graph.microsoft.com');
    expect(graph.scope).toBe('https://graph.microsoft.com/User.Read');
  });

  it('client credentials: the daemon gets an app-only v2 token with roles and no scp', async () => {
    const daemon = await client.discovery(
      new URL(entra.authority('v2')),
      IDS.daemon,
      IDS.daemonSecret,
      undefined,
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const tokens = await client.clientCredentialsGrant(daemon, { scope: `api://${IDS.api}/.default` });
    expect(tokens.refresh_token).toBeUndefined();
    const claims = await verifyWithJwks(entra, tokens.access_token, 'v2');
    expect(claims).toMatchObject({
      aud: IDS.api,
      azp: IDS.daemon,
      azpacr: '1',
      roles: ['user'],
      idtyp: 'app',
      sub: IDS.daemonSp,
      oid: IDS.daemonSp,
    });
    expect(claims.scp).toBeUndefined();
  });

  it('on-behalf-of through the generic jwt-bearer grant yields a v1 token for the downstream API', async () => {
    const user = await codeFlow();
    const obo = await client.genericGrantRequest(api, 'urn:ietf:params:oauth:grant-type:jwt-bearer', {
      assertion: user.access_token,
      requested_token_use: 'on_behalf_of',
      scope: `api://${IDS.downstream}/access_as_user`,
    });
    const claims = await verifyWithJwks(entra, obo.access_token, 'v1');
    expect(claims).toMatchObject({
      aud: `api://${IDS.downstream}`,
      appid: IDS.api,
      appidacr: '1',
      scp: 'access_as_user',
      oid: IDS.alice,
      ver: '1.0',
    });
    expect(claims.roles).toBeUndefined();
  });
});
