import { request as httpsRequest } from 'node:https';
import { ConfidentialClientApplication, type INetworkModule, type NetworkResponse } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { decodePart, IDS, PASSWORDS, pkce } from './helpers.js';

let entra: DevEntra;
const calls: string[] = [];

/** node:https trusting only the emulator's development CA. */
function send(url: string, method: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string>; text: string }>((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca: entra.caCertificatePem }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers as Record<string, string>, text }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** MSAL's network module, which also records every URL so the test can prove nothing left the machine. */
const networkClient: INetworkModule = {
  async sendGetRequestAsync<T>(
    url: string,
    options?: { headers?: Record<string, string> },
  ): Promise<NetworkResponse<T>> {
    calls.push(url);
    const r = await send(url, 'GET', undefined, options?.headers);
    return { status: r.status, headers: r.headers, body: JSON.parse(r.text) as T };
  },
  async sendPostRequestAsync<T>(
    url: string,
    options?: { headers?: Record<string, string>; body?: string },
  ): Promise<NetworkResponse<T>> {
    calls.push(url);
    const r = await send(url, 'POST', options?.body, options?.headers);
    return { status: r.status, headers: r.headers, body: JSON.parse(r.text) as T };
  },
};

function msal(
  clientId: string,
  credential: { clientSecret?: string; clientCertificate?: { thumbprintSha256: string; privateKey: string } },
) {
  return new ConfidentialClientApplication({
    auth: {
      clientId,
      authority: `${entra.url}/${IDS.tenant}`,
      knownAuthorities: [new URL(entra.url).host],
      ...credential,
    },
    system: { networkClient },
  });
}

async function signInOverHttps(authorizeUrl: string, user: keyof typeof PASSWORDS): Promise<URL> {
  const page = await send(authorizeUrl, 'GET');
  const ctx = /name="ctx" value="([^"]+)"/.exec(page.text)![1]!;
  const done = await send(
    authorizeUrl.split('?')[0]!,
    'POST',
    new URLSearchParams({ ctx, username: user, password: PASSWORDS[user] }).toString(),
    { 'content-type': 'application/x-www-form-urlencoded' },
  );
  return new URL(done.headers.location!);
}

beforeAll(async () => {
  entra = await startDevEntra({ port: 0, https: true });
});
afterAll(() => entra.close());

describe('@azure/msal-node over HTTPS against dev-entra', () => {
  const redirectUri = 'http://localhost:3000/auth/callback';
  const scopes = [`${IDS.api}/tools.read`];

  it('auth code with PKCE, then a forced silent refresh, then on-behalf-of', async () => {
    const app = msal(IDS.api, { clientSecret: IDS.apiSecret });
    const { verifier, challenge } = pkce();
    const url = await app.getAuthCodeUrl({
      scopes,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: 'st',
    });
    const callback = await signInOverHttps(url, 'alice');
    expect(callback.searchParams.get('client_info')).toBeTruthy();
    const result = await app.acquireTokenByCode({
      code: callback.searchParams.get('code')!,
      scopes,
      redirectUri,
      codeVerifier: verifier,
    });
    expect(result.account?.homeAccountId).toBe(`${IDS.alice}.${IDS.tenant}`);
    expect(result.account?.username).toBe('alice@gatehousedev.onmicrosoft.com');
    expect(decodePart(result.accessToken, 1)).toMatchObject({
      aud: IDS.api,
      scp: 'tools.read',
      roles: ['admin'],
    });

    const refreshed = await app.acquireTokenSilent({ account: result.account!, scopes, forceRefresh: true });
    expect(refreshed.accessToken).not.toBe(result.accessToken);
    expect(decodePart(refreshed.accessToken, 1).oid).toBe(IDS.alice);

    const obo = await app.acquireTokenOnBehalfOf({
      oboAssertion: result.accessToken,
      scopes: [`api://${IDS.downstream}/access_as_user`],
    });
    expect(decodePart(obo!.accessToken, 1)).toMatchObject({
      aud: `api://${IDS.downstream}`,
      ver: '1.0',
      appid: IDS.api,
      scp: 'access_as_user',
    });
  });

  it('client credentials with a secret and with a certificate (PS256 + x5t#S256)', async () => {
    const bySecret = await msal(IDS.daemon, {
      clientSecret: IDS.daemonSecret,
    }).acquireTokenByClientCredential({
      scopes: [`api://${IDS.api}/.default`],
    });
    expect(decodePart(bySecret!.accessToken, 1)).toMatchObject({
      azp: IDS.daemon,
      azpacr: '1',
      roles: ['user'],
      idtyp: 'app',
    });

    const cert = await createClientCertificate();
    entra.addClientCertificate(IDS.daemon, cert.pem);
    const byCert = await msal(IDS.daemon, {
      clientCertificate: {
        thumbprintSha256: Buffer.from(cert.x5tS256, 'base64url').toString('hex'),
        privateKey: cert.privateKeyPem,
      },
    }).acquireTokenByClientCredential({ scopes: [`api://${IDS.api}/.default`], skipCache: true });
    expect(decodePart(byCert!.accessToken, 1)).toMatchObject({ azp: IDS.daemon, azpacr: '2' });
  });

  it('made no call outside the emulator (no instance discovery at login.microsoftonline.com)', () => {
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((u) => u.startsWith(`${entra.url}/`))).toBe(true);
  });
});
