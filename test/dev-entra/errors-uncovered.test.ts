import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, loadSeed, type SeedInput, startDevEntra } from '../../dev-entra/index.js';
import {
  API_REDIRECT,
  authorizeUrl,
  expectAadstsShape,
  form,
  IDS,
  PASSWORDS,
  pkce,
  postToken,
  signIn,
} from './helpers.js';

/** A single-page app: `spa` redirect URIs only, redeemed without a secret, Graph `User.Read` consented. */
const SPA = {
  appId: 'b5a3f6c2-1d4e-4f7a-9b8c-2e1f0a3d5c7b',
  servicePrincipalId: 'c6b4a7d3-2e5f-4a8b-8c9d-3f2a1b4e6d8c',
  redirect: 'http://localhost:3000/spa/callback',
  origin: 'http://localhost:3000',
} as const;
/** An app registered without any redirect URI. */
const NO_REPLY_APP = {
  appId: 'd7c5b8e4-3f6a-4b9c-9dae-4a3b2c5f7e9d',
  servicePrincipalId: 'e8d6c9f5-4a7b-4cad-aebf-5b4c3d6a8f0e',
} as const;

/** The bundled seed plus the two registrations the codes below need. */
function extendedSeed(): SeedInput {
  const base = loadSeed();
  return {
    ...base,
    applications: [
      ...base.applications,
      {
        appId: SPA.appId,
        servicePrincipalId: SPA.servicePrincipalId,
        displayName: 'Gatehouse SPA',
        publicClient: true,
        redirectUris: { spa: ['http://localhost/spa/callback'] },
        apiPermissions: [{ resource: IDS.graph, scopes: ['User.Read'], roles: [] }],
      },
      {
        appId: NO_REPLY_APP.appId,
        servicePrincipalId: NO_REPLY_APP.servicePrincipalId,
        displayName: 'Gatehouse No Reply',
        secrets: [{ value: 'nr8Q~dev-no-reply-secret' }],
      },
    ],
  };
}

let entra: DevEntra;
let extended: DevEntra;
beforeAll(async () => {
  [entra, extended] = await Promise.all([
    startDevEntra({ port: 0 }),
    startDevEntra({ port: 0, seed: extendedSeed() }),
  ]);
});
afterAll(async () => {
  await Promise.all([entra?.close(), extended?.close()]);
});

/** Entra's description tail, as the token endpoint and redirected errors carry it. */
const TAIL =
  '\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$';
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactDescription = (code: number, message: string) =>
  new RegExp(`^AADSTS${code}: ${escapeRegExp(message)}${TAIL}`);

/** Asserts an authorize error that went back to `redirectUri` in the query. */
function expectRedirectedError(
  response: Response,
  redirectUri: string,
  expected: { error: string; code: number; message: string; state: string },
): void {
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location')!);
  expect(location.origin + location.pathname).toBe(redirectUri);
  expect(location.searchParams.get('error')).toBe(expected.error);
  expect(location.searchParams.get('error_description')).toMatch(
    exactDescription(expected.code, expected.message),
  );
  expect(location.searchParams.get('error_uri')).toMatch(new RegExp(`/error\\?code=${expected.code}$`));
  expect(location.searchParams.get('state')).toBe(expected.state);
  expect(location.searchParams.has('code')).toBe(false);
}

/** The text of the page's error paragraph, with the HTML escapes undone. */
function pageError(html: string): string | undefined {
  const text = /<p class="error"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
  return text?.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
}

/** Loads the sign-in page and returns the form's `ctx` and action. */
async function openSignInPage(url: string): Promise<{ ctx: string; action: string }> {
  const page = await fetch(url, { redirect: 'manual' });
  expect(page.status).toBe(200);
  const html = await page.text();
  const ctx = /name="ctx" value="([^"]+)"/.exec(html)?.[1];
  const action = /<form method="post" action="([^"]+)" id="sign-in">/.exec(html)?.[1];
  if (!ctx || !action) throw new Error(`no sign-in form in: ${html.slice(0, 500)}`);
  return { ctx, action: action.replace(/&amp;/g, '&') };
}

const submit = (action: string, values: Record<string, string>) =>
  fetch(action, { method: 'POST', redirect: 'manual', body: form(values) });

describe('sign-in page errors', () => {
  it('50034: an unknown user is told so on the page, which stays usable and does not redirect', async () => {
    const { ctx, action } = await openSignInPage(
      authorizeUrl(entra, {
        client_id: IDS.api,
        redirect_uri: API_REDIRECT,
        scope: `${IDS.api}/tools.read`,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        state: 'st-50034',
      }),
    );
    const r = await submit(action, {
      ctx,
      username: 'nobody@gatehousedev.onmicrosoft.com',
      password: PASSWORDS.bob,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('location')).toBeNull();
    expect(r.headers.get('set-cookie')).toBeNull();
    const html = await r.text();
    expect(pageError(html)).toBe(
      "AADSTS50034: We couldn't find an account with that username. The user account does not exist in the directory.",
    );
    // The username is kept and the same sign-in can still finish with a real account.
    expect(html).toContain('value="nobody@gatehousedev.onmicrosoft.com"');
    const retry = await submit(action, { ctx, username: 'bob', password: PASSWORDS.bob });
    expect(retry.status).toBe(302);
    expect(new URL(retry.headers.get('location')!).searchParams.get('code')).toBeTruthy();
  });

  it('65004: Cancel on the sign-in page redirects with access_denied and ends that sign-in', async () => {
    const { ctx, action } = await openSignInPage(
      authorizeUrl(entra, {
        client_id: IDS.api,
        redirect_uri: API_REDIRECT,
        scope: `${IDS.api}/tools.read`,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        state: 'st-65004',
      }),
    );
    const r = await submit(action, { ctx, username: '', password: '', cancel: '1' });
    expectRedirectedError(r, API_REDIRECT, {
      error: 'access_denied',
      code: 65004,
      message: 'User declined to consent to access the app.',
      state: 'st-65004',
    });
    expect(r.headers.get('set-cookie')).toBeNull();
    // The cancelled sign-in cannot be resumed.
    const resumed = await submit(action, { ctx, username: 'bob', password: PASSWORDS.bob });
    expect(resumed.status).toBe(400);
    expect(resumed.headers.get('location')).toBeNull();
  });
});

describe('authorize errors that need a modified seed', () => {
  it('500113: an app with no reply address shows an error page and never redirects', async () => {
    const r = await fetch(
      authorizeUrl(extended, { client_id: NO_REPLY_APP.appId, scope: 'openid', state: 'st-500113' }),
      { redirect: 'manual' },
    );
    expect(r.status).toBe(400);
    expect(r.headers.get('location')).toBeNull();
    expect(pageError(await r.text())).toBe(
      `AADSTS500113: No reply address is registered for the application '${NO_REPLY_APP.appId}'.`,
    );
  });

  it('9002325: an spa redirect URI without PKCE is refused at the redirect URI', async () => {
    const request = {
      client_id: SPA.appId,
      redirect_uri: SPA.redirect,
      scope: 'openid profile',
      state: 'st-9002325',
    };
    const r = await fetch(authorizeUrl(extended, request), { redirect: 'manual' });
    expectRedirectedError(r, SPA.redirect, {
      error: 'invalid_request',
      code: 9002325,
      message: 'Proof Key for Code Exchange is required for cross-origin authorization code redemption.',
      state: 'st-9002325',
    });
    // The same request with a code challenge reaches the sign-in page.
    const withPkce = await fetch(
      authorizeUrl(extended, { ...request, code_challenge: pkce().challenge, code_challenge_method: 'S256' }),
      { redirect: 'manual' },
    );
    expect(withPkce.status).toBe(200);
    expect(await withPkce.text()).toContain('id="sign-in"');
  });
});

describe('token endpoint errors', () => {
  it('900561: GET on the token endpoint (v2 and v1), though the same values POSTed succeed', async () => {
    const values = {
      grant_type: 'client_credentials',
      client_id: IDS.daemon,
      client_secret: IDS.daemonSecret,
      scope: `api://${IDS.api}/.default`,
    };
    for (const version of ['v2', 'v1'] as const) {
      const url = new URL(entra.tokenEndpoint(version));
      url.search = form(values).toString();
      const r = await fetch(url, { redirect: 'manual' });
      expect(r.status).toBe(400);
      const body = (await r.json()) as Record<string, unknown>;
      expectAadstsShape(body, 900561, 'invalid_request');
      expect(body.error_description).toMatch(
        exactDescription(900561, 'The endpoint only accepts POST requests.'),
      );
    }
    const posted = await postToken(entra.tokenEndpoint(), values);
    expect(posted.status).toBe(200);
    expect(typeof posted.body.access_token).toBe('string');
  });

  it('9002327: an spa code or refresh token redeemed without Origin; with Origin the same flow succeeds', async () => {
    const spaCode = async () => {
      const { verifier, challenge } = pkce();
      const { location } = await signIn(
        authorizeUrl(extended, {
          client_id: SPA.appId,
          redirect_uri: SPA.redirect,
          scope: 'openid profile offline_access',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          state: 'st-9002327',
          prompt: 'login',
        }),
        'bob',
      );
      expect(location.origin + location.pathname).toBe(SPA.redirect);
      return {
        grant_type: 'authorization_code',
        client_id: SPA.appId,
        code: location.searchParams.get('code')!,
        redirect_uri: SPA.redirect,
        code_verifier: verifier,
      };
    };
    const spaMessage =
      "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.";

    const refused = await postToken(extended.tokenEndpoint(), await spaCode());
    expect(refused.status).toBe(400);
    expectAadstsShape(refused.body, 9002327, 'invalid_request');
    expect(refused.body.error_description).toMatch(exactDescription(9002327, spaMessage));

    const accepted = await postToken(extended.tokenEndpoint(), await spaCode(), { origin: SPA.origin });
    expect(accepted.status).toBe(200);
    expect(accepted.body.token_type).toBe('Bearer');
    expect(typeof accepted.body.access_token).toBe('string');
    expect(typeof accepted.body.id_token).toBe('string');
    const refreshToken = String(accepted.body.refresh_token);

    const refresh = { grant_type: 'refresh_token', client_id: SPA.appId, refresh_token: refreshToken };
    const refusedRefresh = await postToken(extended.tokenEndpoint(), refresh);
    expect(refusedRefresh.status).toBe(400);
    expectAadstsShape(refusedRefresh.body, 9002327, 'invalid_request');
    expect(refusedRefresh.body.error_description).toMatch(exactDescription(9002327, spaMessage));
    const refreshed = await postToken(extended.tokenEndpoint(), refresh, { origin: SPA.origin });
    expect(refreshed.status).toBe(200);
    expect(typeof refreshed.body.access_token).toBe('string');
  });
});
