import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import {
  API_REDIRECT,
  authorizeUrl as authorizeUrlOf,
  expectAadstsShape,
  IDS,
  pkce,
  postToken,
  signIn,
  userTokenForApi,
} from './helpers.js';

let entra: DevEntra;
beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
});
afterAll(() => entra.close());

const API = { client_id: IDS.api, client_secret: IDS.apiSecret };
const DAEMON = { client_id: IDS.daemon, client_secret: IDS.daemonSecret };
const VSCODE_REDIRECT = 'http://127.0.0.1:33418/';

function authorizeUrl(params: Record<string, string>): string {
  return authorizeUrlOf(entra, params);
}

async function code(extra: Record<string, string> = {}) {
  const { verifier, challenge } = pkce();
  const { location } = await signIn(
    authorizeUrl({
      client_id: IDS.api,
      redirect_uri: API_REDIRECT,
      scope: `${IDS.api}/tools.read openid offline_access`,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      prompt: 'login',
      ...extra,
    }),
    'bob',
  );
  return { code: location.searchParams.get('code')!, verifier };
}

const token = (values: Record<string, string>, headers?: Record<string, string>) =>
  postToken(entra.tokenEndpoint(), values, headers);

async function expectTokenError(
  values: Record<string, string>,
  code: number,
  error: string,
  status = 400,
  headers?: Record<string, string>,
) {
  const r = await token(values, headers);
  expect(r.status).toBe(status);
  expectAadstsShape(r.body, code, error);
  return r.body;
}

describe('token endpoint errors in Entra shape', () => {
  it('54005: a code redeems once', async () => {
    const c = await code();
    const grant = {
      grant_type: 'authorization_code',
      ...API,
      code: c.code,
      redirect_uri: API_REDIRECT,
      code_verifier: c.verifier,
    };
    expect((await token(grant)).status).toBe(200);
    await expectTokenError(grant, 54005, 'invalid_grant');
  });

  it('501481: PKCE verifier mismatch (and the code is burned)', async () => {
    const c = await code();
    const grant = { grant_type: 'authorization_code', ...API, code: c.code, redirect_uri: API_REDIRECT };
    await expectTokenError({ ...grant, code_verifier: pkce().verifier }, 501481, 'invalid_grant');
    await expectTokenError({ ...grant, code_verifier: c.verifier }, 54005, 'invalid_grant');
  });

  it('plain PKCE is assumed when the method is omitted', async () => {
    const verifier = pkce().verifier;
    const { location } = await signIn(
      authorizeUrl({
        client_id: IDS.api,
        redirect_uri: API_REDIRECT,
        scope: `${IDS.api}/tools.read`,
        code_challenge: verifier,
        prompt: 'login',
      }),
      'bob',
    );
    const r = await token({
      grant_type: 'authorization_code',
      ...API,
      code: location.searchParams.get('code')!,
      redirect_uri: API_REDIRECT,
      code_verifier: verifier,
    });
    expect(r.status).toBe(200);
  });

  it('500112: redirect_uri differs from the one used at /authorize', async () => {
    const c = await code();
    await expectTokenError(
      {
        grant_type: 'authorization_code',
        ...API,
        code: c.code,
        redirect_uri: 'http://127.0.0.1:9/auth/callback',
        code_verifier: c.verifier,
      },
      500112,
      'invalid_grant',
    );
  });

  it('9002326: a web-platform code redeemed cross-origin', async () => {
    const c = await code();
    await expectTokenError(
      {
        grant_type: 'authorization_code',
        ...API,
        code: c.code,
        redirect_uri: API_REDIRECT,
        code_verifier: c.verifier,
      },
      9002326,
      'invalid_request',
      400,
      { origin: 'http://127.0.0.1:5173' },
    );
  });

  it('9002313: an unknown code; 70003: unsupported grant; 900144: missing grant_type', async () => {
    await expectTokenError(
      { grant_type: 'authorization_code', ...API, code: 'nope', redirect_uri: API_REDIRECT },
      9002313,
      'invalid_grant',
    );
    await expectTokenError({ grant_type: 'password', ...API }, 70003, 'unsupported_grant_type');
    await expectTokenError({ ...API }, 900144, 'invalid_request');
  });

  it('28000: two resources in one token request', async () => {
    const c = await code();
    await expectTokenError(
      {
        grant_type: 'authorization_code',
        ...API,
        code: c.code,
        redirect_uri: API_REDIRECT,
        code_verifier: c.verifier,
        scope: `${IDS.api}/tools.read https://graph.microsoft.com/User.Read`,
      },
      28000,
      'invalid_scope',
    );
  });

  it('901002: resource on v2 (default switch); 9010010 when the switch is "match"', async () => {
    await expectTokenError(
      {
        grant_type: 'client_credentials',
        ...DAEMON,
        scope: `api://${IDS.api}/.default`,
        resource: `api://${IDS.api}`,
      },
      901002,
      'invalid_request',
    );
    entra.setSwitches({ resourceParameter: 'match' });
    try {
      await expectTokenError(
        {
          grant_type: 'client_credentials',
          ...DAEMON,
          scope: `api://${IDS.api}/.default`,
          resource: 'https://graph.microsoft.com',
        },
        9010010,
        'invalid_target',
      );
      expect(
        (
          await token({
            grant_type: 'client_credentials',
            ...DAEMON,
            scope: `api://${IDS.api}/.default`,
            resource: `api://${IDS.api}`,
          })
        ).status,
      ).toBe(200);
    } finally {
      entra.setSwitches({ resourceParameter: 'reject' });
    }
  });

  it('90009: the API asks for itself by URI; 500011: unknown resource; 70011: unknown scope', async () => {
    await expectTokenError(
      { grant_type: 'client_credentials', ...API, scope: `api://${IDS.api}/.default` },
      90009,
      'invalid_request',
    );
    await expectTokenError(
      { grant_type: 'client_credentials', ...DAEMON, scope: 'api://nothing-here/.default' },
      500011,
      'invalid_resource',
    );
    const c = await code();
    await expectTokenError(
      {
        grant_type: 'authorization_code',
        ...API,
        code: c.code,
        redirect_uri: API_REDIRECT,
        code_verifier: c.verifier,
        scope: `${IDS.api}/tools.delete`,
      },
      70011,
      'invalid_scope',
    );
  });

  it('1002012: client credentials without /.default', async () => {
    await expectTokenError(
      { grant_type: 'client_credentials', ...DAEMON, scope: `api://${IDS.api}/tools.read` },
      1002012,
      'invalid_scope',
    );
  });

  it('client authentication: 700016, 7000215 (401), 7000218, 7000222, 700025', async () => {
    const cc = { grant_type: 'client_credentials', scope: `api://${IDS.api}/.default` };
    await expectTokenError(
      { ...cc, client_id: '11111111-1111-1111-1111-111111111111', client_secret: 'x' },
      700016,
      'unauthorized_client',
    );
    await expectTokenError(
      { ...cc, client_id: IDS.daemon, client_secret: 'wrong' },
      7000215,
      'invalid_client',
      401,
    );
    await expectTokenError({ ...cc, client_id: IDS.daemon }, 7000218, 'invalid_client', 401);
    await expectTokenError(
      { ...cc, client_id: IDS.daemon, client_secret: IDS.daemonExpiredSecret },
      7000222,
      'invalid_client',
      401,
    );
    await expectTokenError(
      { grant_type: 'refresh_token', refresh_token: 'x', client_id: IDS.vscode, client_secret: 'x' },
      700025,
      'invalid_client',
      401,
    );
  });

  it('HTTP Basic client authentication works (RFC 6749 §2.3.1)', async () => {
    const basic = Buffer.from(`${IDS.daemon}:${encodeURIComponent(IDS.daemonSecret)}`).toString('base64');
    const r = await token(
      { grant_type: 'client_credentials', scope: `api://${IDS.api}/.default` },
      { authorization: `Basic ${basic}` },
    );
    expect(r.status).toBe(200);
  });

  it('certificate assertions: RS256 + x5t accepted; 700027 for an unregistered key; 700024 when expired', async () => {
    const cert = await createClientCertificate();
    const sign = (exp: number, x5t = cert.x5t) =>
      new SignJWT({ jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5t })
        .setIssuer(IDS.daemon)
        .setSubject(IDS.daemon)
        .setAudience(entra.tokenEndpoint())
        .setIssuedAt()
        .setNotBefore(Math.floor(Date.now() / 1000) - 60)
        .setExpirationTime(exp)
        .sign(cert.keys.privateKey);
    const now = Math.floor(Date.now() / 1000);
    const assertionGrant = async (assertion: string) => ({
      grant_type: 'client_credentials',
      client_id: IDS.daemon,
      scope: `api://${IDS.api}/.default`,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    await expectTokenError(await assertionGrant(await sign(now + 300)), 700027, 'invalid_client', 401);
    entra.addClientCertificate(IDS.daemon, cert.pem);
    const ok = await token(await assertionGrant(await sign(now + 300)));
    expect(ok.status).toBe(200);
    await expectTokenError(await assertionGrant(await sign(now - 600)), 700024, 'invalid_client', 401);
  });

  it('correlation_id echoes the client-request-id header', async () => {
    const body = await expectTokenError(
      { grant_type: 'password', ...API },
      70003,
      'unsupported_grant_type',
      400,
      {
        'client-request-id': '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
      },
    );
    expect(body.correlation_id).toBe('0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9');
  });
});

describe('refresh and on-behalf-of errors', () => {
  it('65001 consent_required: the VS Code client refreshing for an API nobody consented to', async () => {
    const { location } = await signIn(
      authorizeUrl({
        client_id: IDS.vscode,
        redirect_uri: VSCODE_REDIRECT,
        scope: `api://${IDS.api}/tools.read offline_access`,
        prompt: 'login',
      }),
      'bob',
    );
    const first = await token({
      grant_type: 'authorization_code',
      client_id: IDS.vscode,
      code: location.searchParams.get('code')!,
      redirect_uri: VSCODE_REDIRECT,
    });
    expect(first.status).toBe(200);
    const body = await expectTokenError(
      {
        grant_type: 'refresh_token',
        client_id: IDS.vscode,
        refresh_token: String(first.body.refresh_token),
        scope: `api://${IDS.downstream}/access_as_user`,
      },
      65001,
      'invalid_grant',
    );
    expect(body.suberror).toBe('consent_required');
  });

  it('70000: a refresh token presented by another client; 700082 once expired', async () => {
    const t = await userTokenForApi(entra, 'bob');
    await expectTokenError(
      { grant_type: 'refresh_token', ...DAEMON, refresh_token: String(t.refresh_token) },
      70000,
      'invalid_grant',
    );
    entra.setClockOffsetSeconds(91 * 24 * 3600);
    try {
      await expectTokenError(
        { grant_type: 'refresh_token', ...API, refresh_token: String(t.refresh_token) },
        700082,
        'invalid_grant',
      );
    } finally {
      entra.setClockOffsetSeconds(0);
    }
  });

  it('70008: an authorization code past its ten minutes', async () => {
    const c = await code();
    entra.setClockOffsetSeconds(11 * 60);
    try {
      await expectTokenError(
        {
          grant_type: 'authorization_code',
          ...API,
          code: c.code,
          redirect_uri: API_REDIRECT,
          code_verifier: c.verifier,
        },
        70008,
        'invalid_grant',
      );
    } finally {
      entra.setClockOffsetSeconds(0);
    }
  });

  const obo = (assertion: string) => ({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    requested_token_use: 'on_behalf_of',
    ...API,
    assertion,
    scope: `api://${IDS.downstream}/access_as_user`,
  });

  it('500131: the assertion is for another audience; 50013: an app-only or tampered assertion; 500133: expired', async () => {
    const user = await userTokenForApi(entra, 'alice');
    await expectTokenError({ ...obo(String(user.access_token)), ...DAEMON }, 500131, 'invalid_grant');
    const app = await token({
      grant_type: 'client_credentials',
      ...DAEMON,
      scope: `api://${IDS.api}/.default`,
    });
    await expectTokenError(obo(String(app.body.access_token)), 50013, 'invalid_grant');
    const at = String(user.access_token);
    await expectTokenError(obo(`${at.slice(0, -6)}AAAAAA`), 50013, 'invalid_grant');
    entra.setClockOffsetSeconds(2 * 3600);
    try {
      await expectTokenError(obo(at), 500133, 'invalid_grant');
    } finally {
      entra.setClockOffsetSeconds(0);
    }
  });

  it('50076: MFA claims challenge for a chosen user; signing in with the claims satisfies it', async () => {
    entra.setMfaChallengeUsers(['bob']);
    try {
      const user = await userTokenForApi(entra, 'bob');
      const body = await expectTokenError(obo(String(user.access_token)), 50076, 'interaction_required');
      const claims = JSON.parse(String(body.claims)) as {
        access_token: { capolids: { essential: boolean } };
      };
      expect(claims.access_token.capolids.essential).toBe(true);
      const alice = await userTokenForApi(entra, 'alice');
      expect((await token(obo(String(alice.access_token)))).status).toBe(200);

      const { verifier, challenge } = pkce();
      const { location } = await signIn(
        authorizeUrl({
          client_id: IDS.api,
          redirect_uri: API_REDIRECT,
          scope: `${IDS.api}/tools.read`,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          claims: String(body.claims),
          prompt: 'login',
        }),
        'bob',
      );
      const stepUp = await token({
        grant_type: 'authorization_code',
        ...API,
        code: location.searchParams.get('code')!,
        redirect_uri: API_REDIRECT,
        code_verifier: verifier,
      });
      const passed = await token(obo(String(stepUp.body.access_token)));
      expect(passed.status).toBe(200);
      const v1 = JSON.parse(
        Buffer.from(String(passed.body.access_token).split('.')[1]!, 'base64url').toString(),
      ) as { amr: string[] };
      expect(v1.amr).toEqual(['pwd', 'mfa']);
    } finally {
      entra.setMfaChallengeUsers([]);
    }
  });
});

describe('authorize errors (local page vs redirect)', () => {
  it('700016 and 50011 render an error page and never redirect', async () => {
    for (const [params, codeText] of [
      [
        { client_id: '11111111-1111-1111-1111-111111111111', redirect_uri: API_REDIRECT, scope: 'openid' },
        'AADSTS700016',
      ],
      [{ client_id: IDS.api, redirect_uri: 'https://evil.example/cb', scope: 'openid' }, 'AADSTS50011'],
    ] as const) {
      const r = await fetch(authorizeUrl(params), { redirect: 'manual' });
      expect(r.status).toBe(400);
      expect(r.headers.get('location')).toBeNull();
      expect(await r.text()).toContain(codeText);
    }
  });

  it('errors after validation go back to the redirect URI with error, description and state', async () => {
    const cases: [Record<string, string>, string, number][] = [
      [{ prompt: 'none', scope: 'openid' }, 'login_required', 50058],
      [{ scope: 'api://nothing-here/x' }, 'invalid_resource', 500011],
      [{ scope: `${IDS.api}/tools.read`, resource: `api://${IDS.api}` }, 'invalid_request', 901002],
      [{ scope: 'openid', response_type: 'token' }, 'unsupported_response_type', 700054],
    ];
    for (const [params, error, code] of cases) {
      const r = await fetch(
        authorizeUrl({ client_id: IDS.api, redirect_uri: API_REDIRECT, state: 'st', ...params }),
        { redirect: 'manual' },
      );
      expect(r.status).toBe(302);
      const location = new URL(r.headers.get('location')!);
      expect(location.origin + location.pathname).toBe(API_REDIRECT);
      expect(location.searchParams.get('error')).toBe(error);
      expect(location.searchParams.get('error_description')).toMatch(new RegExp(`^AADSTS${code}: `));
      expect(location.searchParams.get('state')).toBe('st');
    }
  });
});
