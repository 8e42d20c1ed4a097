import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import {
  allowConsent,
  authorizeUrl,
  CookieJar,
  csrfTokenOf,
  HttpBrowser,
  registerPublicClient,
} from '../helpers/oauth-http-flow.js';
import { freePort } from '../helpers/ports.js';

// The consent page decides what a client may do on a user's behalf: it must not be framed by
// another site (clickjacking, RFC 6749 §10.13), and behind HTTPS its cookies are `__Host-` cookies,
// which no subdomain and no plain-HTTP page can plant or overwrite (RFC 6265bis §4.1.3.2).

let f: OAuthFixture;
beforeAll(async () => {
  f = await startOAuthFixture();
});
afterAll(async () => {
  await f?.close();
});

describe('the consent page cannot be framed (clickjacking)', () => {
  let browser: Browser;
  let attacker: Server;
  let attackerUrl: string;
  let framed = '';
  beforeAll(async () => {
    browser = await launchBrowser();
    // Another origin on the same site (127.0.0.1, another port), so the browser would send
    // Gatehouse's SameSite=Lax cookies to a framed consent page.
    attacker = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        req.url === '/own'
          ? '<button value="allow">Allow</button>'
          : `<iframe name="victim" src="${framed}" width="800" height="600"></iframe>`,
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    attacker?.close();
    await browser?.close();
  });

  /** The attacker's page framing `url`, opened in `opener` (a context keeps the victim's cookies). */
  async function frameOnAttackerPage(url: string, opener: Pick<Browser, 'newPage'> = browser) {
    framed = url;
    const page = await opener.newPage();
    await page.goto(attackerUrl, { waitUntil: 'load' });
    const frame = page.frame({ name: 'victim' });
    return { page, frame };
  }

  it('renders a framed page of the attacker’s own origin (the control)', async () => {
    const { page, frame } = await frameOnAttackerPage(`${attackerUrl}/own`);
    expect(await frame?.locator('button[value="allow"]').count()).toBe(1);
    await page.close();
  });

  it('is shown at the top level, but not inside another origin’s frame', async () => {
    const base = f.config.server.baseUrl;
    const client = await registerPublicClient(base, `http://127.0.0.1:${await freePort()}/callback`);
    const context = await browser.newContext();
    const top = await context.newPage();
    await top.goto(authorizeUrl(base, client).url);
    expect(top.url()).toMatch(/\/interaction\/[^/]+$/);
    await expect(top.locator('button[value="allow"]').count()).resolves.toBe(1);

    const { frame } = await frameOnAttackerPage(top.url(), context);
    expect(frame).not.toBeNull();
    expect(await frame!.locator('button[value="allow"]').count()).toBe(0);
    expect(frame!.url()).not.toBe(framed);
    await context.close();
  });
});

describe('a consent page loaded twice', () => {
  it('keeps the first rendering’s form valid (a reload or prefetch does not invalidate it)', async () => {
    const base = f.config.server.baseUrl;
    const browser = new HttpBrowser(base);
    const client = await registerPublicClient(base, 'http://127.0.0.1:47124/callback');
    const authorize = await browser.get(authorizeUrl(base, client).url);
    const uid = /\/interaction\/([^/?#]+)/.exec(authorize.location ?? '')?.[1];
    const first = await browser.get(`/interaction/${uid}`);
    const second = await browser.get(`/interaction/${uid}`);
    expect(second.status).toBe(200);
    const decision = await browser.post(`/interaction/${uid}/decision`, {
      decision: 'allow',
      csrf: csrfTokenOf(first.text),
    });
    expect(decision.status).toBe(303);
    expect(decision.location).toMatch(/\/oauth2\/v2\.0\/authorize\?/);
  });
});

describe('behind an HTTPS proxy the sign-in cookies are __Host- cookies', () => {
  let proxied: OAuthFixture;
  const publicBase = 'https://gatehouse.example.com';
  beforeAll(async () => {
    // Gatehouse listens on plain HTTP behind a proxy that terminates TLS and says so.
    proxied = await startOAuthFixture({ MCP_SERVER_BASE_URL: publicBase, TRUSTED_PROXIES: 'loopback' });
  });
  afterAll(async () => {
    await proxied?.close();
  });

  it('sets the consent and browser-binding cookies with __Host-, Secure, Path=/ and no Domain', async () => {
    const listen = `http://127.0.0.1:${proxied.config.server.port}`;
    const browser = new HttpBrowser(listen, new CookieJar(), {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': new URL(publicBase).host,
    });
    const { authorize, consent, decision } = await allowConsent(browser, {
      resource: `${publicBase}/mcp`,
    });
    expect(authorize.status).toBe(303);
    expect(consent.status).toBe(200);
    expect(decision.status).toBe(303);
    expect(decision.location).toMatch(/\/oauth2\/v2\.0\/authorize\?/);

    const set = [...consent.headers.getSetCookie(), ...decision.headers.getSetCookie()];
    const ours = set.filter((line) => /^(__Host-)?gh_/.test(line));
    expect(ours.map((line) => line.split('=')[0]).sort()).toEqual(['__Host-gh_consent', '__Host-gh_signin']);
    for (const line of ours) {
      expect(line).toMatch(/;\s*Secure/i);
      expect(line).toMatch(/;\s*Path=\/(;|$)/i);
      expect(line).not.toMatch(/;\s*Domain=/i);
      expect(line).toMatch(/;\s*HttpOnly/i);
    }
  });
});
