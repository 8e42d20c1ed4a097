import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { IDS, PASSWORDS, pkce, postToken } from './helpers.js';

let entra: DevEntra;
let browser: Browser;
let app: Server;
let appPort: number;
const received: { method: string; url: string; body: string }[] = [];

beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
  app = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body });
      res.end('<html><body>callback received</body></html>');
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
afterAll(async () => {
  await browser?.close();
  await new Promise((r) => app.close(r));
  await entra.close();
});

describe('sign-in page in headless Chromium', () => {
  it('shows a wrong password on the page, then signs in with form_post and the code redeems', async () => {
    const { verifier, challenge } = pkce();
    const redirectUri = `http://127.0.0.1:${appPort}/auth/callback`;
    const authorize = new URL(`${entra.authority('v1')}/oauth2/v2.0/authorize`);
    authorize.search = new URLSearchParams({
      client_id: IDS.api,
      response_type: 'code',
      response_mode: 'form_post',
      redirect_uri: redirectUri,
      scope: `${IDS.api}/tools.read openid`,
      state: 'xyz-state',
      nonce: 'n-0S6',
      login_hint: 'bob',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(authorize.toString());
    expect(await page.locator('.banner').textContent()).toContain('Development only');
    expect(await page.inputValue('#username')).toBe('bob');

    await page.fill('#password', 'not-the-password');
    await page.click('#submit');
    expect(await page.locator('#error').textContent()).toContain('AADSTS50126');
    expect(received.filter((r) => r.url.startsWith('/auth/callback'))).toHaveLength(0);

    await page.fill('#password', PASSWORDS.bob);
    await page.click('#submit');
    // Without JavaScript the form_post page needs one click, as on Entra.
    await page.click('button[type=submit]');
    await page.waitForURL(`${redirectUri}`);
    const callback = received.find((r) => r.url === '/auth/callback')!;
    expect(callback.method).toBe('POST');
    const posted = new URLSearchParams(callback.body);
    expect(posted.get('state')).toBe('xyz-state');
    const code = posted.get('code')!;
    const { status, body } = await postToken(entra.tokenEndpoint(), {
      grant_type: 'authorization_code',
      client_id: IDS.api,
      client_secret: IDS.apiSecret,
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    expect(status).toBe(200);
    const id = JSON.parse(
      Buffer.from(String(body.id_token).split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(id).toMatchObject({ oid: IDS.bob, nonce: 'n-0S6', aud: IDS.api });

    // The session cookie gives single sign-on: the next request goes straight back with a code.
    const silent = new URL(authorize);
    silent.searchParams.set('response_mode', 'query');
    silent.searchParams.set('prompt', 'none');
    await page.goto(silent.toString());
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
    await context.close();
  });

  it('one-click seeded accounts sign in with JavaScript on; a bad redirect_uri never leaves the page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const bad = new URL(`${entra.authority('v1')}/oauth2/v2.0/authorize`);
    bad.search = new URLSearchParams({
      client_id: IDS.api,
      response_type: 'code',
      redirect_uri: 'https://attacker.example/cb',
      scope: 'openid',
    }).toString();
    const response = await page.goto(bad.toString());
    expect(response!.status()).toBe(400);
    expect(await page.locator('#error-code').textContent()).toContain('AADSTS50011');
    expect(page.url()).toBe(bad.toString());

    const good = new URL(bad);
    good.searchParams.set('redirect_uri', `http://127.0.0.1:${appPort}/auth/callback`);
    good.searchParams.set('state', 'one-click');
    await page.goto(good.toString());
    await page.click('button[data-user="carol"]');
    await page.waitForURL(/\/auth\/callback\?/);
    const url = new URL(page.url());
    expect(url.searchParams.get('state')).toBe('one-click');
    expect(url.searchParams.get('code')).toMatch(/^1\.A/);
    await context.close();
  });
});
