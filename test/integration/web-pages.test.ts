import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckBreakGlassLogin } from '../../src/web/routes.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const PASSWORD = 'correct horse battery staple';

/** A stand-in for the real check (hash and throttle): one account, one locked account. */
const checkBreakGlassLogin: CheckBreakGlassLogin = async ({ username, password }) => {
  if (username === 'locked')
    return { ok: false, code: 'GH_TEST_LOCKED', message: 'Too many attempts: wait.', retryAfterSeconds: 300 };
  return username === 'root' && password === PASSWORD
    ? { ok: true }
    : { ok: false, code: 'GH_TEST_REFUSED', message: 'Wrong username or password.' };
};

/** The cookies a response sets, as name → the whole Set-Cookie line. */
function setCookies(response: LightMyRequestResponse): Map<string, string> {
  const raw = response.headers['set-cookie'];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return new Map(lines.map((line) => [line.split('=')[0] as string, line]));
}

const cookieValue = (line: string | undefined) => (line ?? '').split(';')[0] as string;
const csrfIn = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';

/** The Host header of Gatehouse's public URL: requests for another host are refused. */
const publicHost = (t: TestApp) => new URL(t.config.server.baseUrl).host;

async function breakGlassSignIn(t: TestApp, username = 'root', password = PASSWORD) {
  const form = await t.app.inject({ url: '/admin/login', headers: { host: publicHost(t) } });
  const loginCookie = [...setCookies(form).values()][0];
  const response = await t.app.inject({
    method: 'POST',
    url: '/admin/login',
    headers: {
      host: publicHost(t),
      cookie: cookieValue(loginCookie),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({ csrf: csrfIn(form.body), username, password }).toString(),
  });
  return { response, cookies: setCookies(response), loginCookie };
}

describe('browser pages without Entra sign-in (development mode)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({}, { appOptions: { checkBreakGlassLogin } });
  });
  afterAll(() => t.close());

  it('/ answers JSON to API clients and HTML to browsers', async () => {
    const json = await t.app.inject({ url: '/', headers: { accept: 'application/json' } });
    expect(json.json()).toMatchObject({ name: 'Gatehouse', mcp: expect.stringMatching(/\/mcp$/) });
    const html = await t.app.inject({
      url: '/',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('<code id="mcp-url">http://127.0.0.1:');
    expect(html.body).toContain('Browser sign-in is not available');
  });

  it('refuses /auth/login without an Entra credential, saying what to set', async () => {
    const response = await t.app.inject({ url: '/auth/login', headers: { accept: 'text/html' } });
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('GH_WEB_SIGN_IN_UNAVAILABLE');
    expect(response.body).toContain('MCP_AZURE_CLIENT_SECRET');
  });

  it('asks for sign-in on /admin without a session (401 page with a sign-in link)', async () => {
    const response = await t.app.inject('/admin/users');
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain('GH_WEB_SIGN_IN_REQUIRED');
    expect(response.body).toContain('/auth/login?return=%2Fadmin%2Fusers');
    expect(response.body).toContain('href="/admin/login"');
  });

  it('refuses a wrong break-glass password (401) and a locked account (429 with Retry-After), audited', async () => {
    const wrong = await breakGlassSignIn(t, 'root', 'guess');
    expect(wrong.response.statusCode).toBe(401);
    expect(wrong.response.body).toContain('Wrong username or password. (GH_TEST_REFUSED)');
    expect(wrong.cookies.has('gh_session')).toBe(false);
    const locked = await breakGlassSignIn(t, 'locked', PASSWORD);
    expect(locked.response.statusCode).toBe(429);
    expect(locked.response.headers['retry-after']).toBe('300');
    expect(t.audit.events).toContainEqual(
      expect.objectContaining({
        type: 'admin.action',
        userId: 'break-glass:root',
        action: 'sign-in',
        outcome: 'denied',
      }),
    );
  });

  it('refuses a break-glass login posted without the form’s CSRF token', async () => {
    const { loginCookie } = await breakGlassSignIn(t, 'root', 'guess');
    const response = await t.app.inject({
      method: 'POST',
      url: '/admin/login',
      headers: { cookie: cookieValue(loginCookie), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: 'root', password: PASSWORD }).toString(),
    });
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('GH_WEB_CSRF_INVALID');
  });

  describe('signed in with the break-glass login', () => {
    let session = '';
    let csrf = '';
    let userId = '';
    beforeAll(async () => {
      const { response, cookies } = await breakGlassSignIn(t);
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe('/admin');
      const line = cookies.get('gh_session') ?? '';
      expect(line).toMatch(/HttpOnly/);
      expect(line).toMatch(/SameSite=Lax/);
      expect(line).not.toMatch(/Secure/);
      session = cookieValue(line);
      const overview = await t.app.inject({ url: '/admin', headers: { cookie: session } });
      csrf = csrfIn(overview.body);
      userId = (
        await t.stores.durable.users.upsert({
          tenantId: 't',
          objectId: 'dana',
          preferredUsername: 'dana@example.com',
        })
      ).id;
    });

    it('shows the overview, marked as a break-glass session, framing forbidden', async () => {
      const response = await t.app.inject({ url: '/admin', headers: { cookie: session } });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('with the break-glass local admin');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response.headers['cache-control']).toBe('no-store');
    });

    it('refuses a membership form without the CSRF token, or with another session’s, and changes nothing', async () => {
      const forms: Record<string, string>[] = [
        { org: 'acme', role: 'user' },
        { org: 'acme', role: 'user', csrf: 'forged' },
      ];
      for (const payload of forms) {
        const response = await t.app.inject({
          method: 'POST',
          url: `/admin/users/${userId}/memberships`,
          headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams(payload).toString(),
        });
        expect(response.statusCode).toBe(403);
        expect(response.body).toContain('GH_WEB_CSRF_INVALID');
      }
      expect(await t.stores.durable.memberships.listForUser(userId)).toEqual([]);
    });

    it('adds, changes and removes a membership, each an admin.action audit event', async () => {
      const post = (path: string, fields: Record<string, string>) =>
        t.app.inject({
          method: 'POST',
          url: `/admin/users/${userId}/memberships${path}`,
          headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ csrf, ...fields }).toString(),
        });
      expect((await post('', { org: 'acme', team: 'platform', role: 'user' })).statusCode).toBe(303);
      expect(await t.stores.durable.memberships.listForUser(userId)).toMatchObject([
        { org: 'acme', team: 'platform', role: 'user' },
      ]);
      expect(
        (await post('/change', { org: 'acme', team: 'platform', role: 'user', newRole: 'admin' })).statusCode,
      ).toBe(303);
      expect(await t.stores.durable.memberships.listForUser(userId)).toMatchObject([
        { org: 'acme', team: 'platform', role: 'admin' },
      ]);
      const invalid = await post('', { org: 'a b', role: 'user' });
      expect(invalid.statusCode).toBe(400);
      expect(invalid.body).toContain('GH_WEB_INPUT_INVALID');
      expect((await post('/remove', { org: 'acme', team: 'platform', role: 'admin' })).statusCode).toBe(303);
      expect(await t.stores.durable.memberships.listForUser(userId)).toEqual([]);
      const actions = t.audit.events.filter(
        (event) => event.type === 'admin.action' && event.userId === 'break-glass:root',
      );
      expect(actions.map((event) => 'action' in event && event.action)).toEqual(
        expect.arrayContaining(['add-membership', 'change-membership', 'remove-membership']),
      );
    });

    it('shows the configuration without secrets', async () => {
      const response = await t.app.inject({ url: '/admin/config', headers: { cookie: session } });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('&#34;baseUrl&#34;');
      expect(response.body).toContain('&#34;sources&#34;');
    });

    it('signs out: the session ends (the cookie no longer opens /admin)', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ csrf }).toString(),
      });
      expect(response.statusCode).toBe(303);
      expect((await t.app.inject({ url: '/admin', headers: { cookie: session } })).statusCode).toBe(401);
    });
  });
});

describe('browser pages on HTTPS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(
      { MCP_SERVER_BASE_URL: 'https://gatehouse.example.com', MCP_AZURE_JWT_SIGNING_KEY: 'k'.repeat(40) },
      { appOptions: { checkBreakGlassLogin } },
    );
  });
  afterAll(() => t.close());

  it('uses __Host- cookies: Secure, Path=/, no Domain', async () => {
    const { response, cookies, loginCookie } = await breakGlassSignIn(t);
    expect(response.statusCode).toBe(303);
    expect(loginCookie).toMatch(/^__Host-gh_admin_login=.*; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const session = cookies.get('__Host-gh_session');
    expect(session).toMatch(/Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(session).not.toMatch(/Domain/i);
  });

  it('shows the configuration with its secrets redacted', async () => {
    const { cookies } = await breakGlassSignIn(t);
    const response = await t.app.inject({
      url: '/admin/config',
      headers: { host: publicHost(t), cookie: cookieValue(cookies.get('__Host-gh_session')) },
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('&#34;jwtSigningKey&#34;: &#34;[redacted]&#34;');
    expect(response.body).not.toContain('kkkkkkkk');
  });
});

describe('the break-glass login when not enabled', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('is not served (404 saying how to sign in instead)', async () => {
    const response = await t.app.inject('/admin/login');
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('GH_WEB_SIGN_IN_UNAVAILABLE');
    const post = await t.app.inject({ method: 'POST', url: '/admin/login', payload: {} });
    expect(post.statusCode).toBe(404);
  });
});
