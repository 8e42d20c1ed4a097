import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import type { GatehouseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { hashPassword } from '../../src/ops/password-hash.js';
import { IDS, PASSWORDS, type SeededUser } from '../dev-entra/helpers.js';
import { auditRows } from '../helpers/audit-rows.js';
import { emulatorBackedConfig, mcpPost, vscodeToken } from '../helpers/auth-fixture.js';
import {
  browserSignIn,
  launchBrowser,
  type OAuthFixture,
  TEST_MASTER_SECRET,
} from '../helpers/oauth-fixture.js';

const IMAGES = path.resolve(import.meta.dirname, '../../docs/images');
const BREAK_GLASS_PASSWORD = 'break-glass-password-for-the-test';

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'admin-e2e', version: '1' },
  },
};

// The admin console in a real browser against the Entra emulator: alice holds the admin app role,
// bob the user role, carol nothing (so the MCP endpoint refuses her until she gets a membership).
describe('the admin console, driven in Chromium', () => {
  let entra: DevEntra;
  let config: GatehouseConfig;
  let gatehouse: RunningGatehouse;
  let browser: Browser;
  let dataDir: string;
  let base: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(IMAGES, { recursive: true });
    entra = await startDevEntra({ port: 0 });
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-admin-'));
    config = await emulatorBackedConfig(entra, dataDir, {
      MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
      MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
      // Memberships come from the administrator only: carol starts with none.
      GATEHOUSE_SSO_AUTO_ASSIGN: 'false',
      // The break-glass login, as `gatehouse admin hash-password` sets it up.
      GATEHOUSE_ADMIN_USERNAME: 'breakglass',
      GATEHOUSE_ADMIN_PASSWORD_HASH: await hashPassword(BREAK_GLASS_PASSWORD),
      // The audit search reads the durable log: written within milliseconds of each action.
      AUDIT_FLUSH_INTERVAL: '10',
    });
    gatehouse = await startGatehouse(config, { logger: createLogger(config) });
    base = config.server.baseUrl;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await gatehouse?.close();
    await entra?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    return context.newPage();
  }

  /** On the emulator's sign-in page: the seeded user's credentials, then back to Gatehouse. */
  async function enterCredentials(page: Page, user: SeededUser, landing: string) {
    await page.waitForSelector('form#sign-in');
    expect(page.url()).toContain(`${entra.url}/${entra.tenantId}/oauth2/v2.0/authorize`);
    await page.fill('#username', user);
    await page.fill('#password', PASSWORDS[user]);
    await Promise.all([page.waitForURL(`${base}${landing}`), page.click('#submit')]);
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(IMAGES, `${name}.png`), fullPage: true });

  let alice: Page;

  it('shows the landing page to a browser, and alice signs in from it through Entra', async () => {
    alice = await newPage();
    const response = await alice.goto(`${base}/`);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    expect(await alice.textContent('#mcp-url')).toBe(`${base}/mcp`);
    await shot(alice, 'landing');
    await alice.click('#sign-in');
    await enterCredentials(alice, 'alice', '/');
    expect(await alice.textContent('#who')).toMatch(/^alice/);
    expect(await alice.textContent('#roles')).toContain('admin');
    expect(await alice.textContent('#client-claude')).toBe('Claude Code');
    expect(await alice.content()).toContain(`claude mcp add --transport http gatehouse ${base}/mcp`);
    await shot(alice, 'landing-signed-in');
    // A server-side session: the cookie carries an id only, HttpOnly, SameSite=Lax (gh_session on http).
    const cookies = await alice.context().cookies(base);
    const session = cookies.find((cookie) => cookie.name === 'gh_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
  });

  it('adds carol to a team, after which her refused MCP requests are served', async () => {
    const carolToken = await vscodeToken(
      entra,
      'carol',
      `api://${IDS.api}/discover api://${IDS.api}/tools.execute openid profile offline_access`,
    );
    const refused = await mcpPost(`${base}/mcp`, initialize, carolToken);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('Ask an administrator to add you to a team');

    const overview = await alice.goto(`${base}/admin`);
    expect(overview?.status()).toBe(200);
    expect(await alice.textContent('#health')).toContain('ok');
    await shot(alice, 'admin-overview');

    await alice.goto(`${base}/admin/users`);
    const row = alice.locator('tr[data-user^="carol"]');
    await row.locator('input[name=org]').fill('contoso');
    await row.locator('input[name=team]').fill('platform');
    await row.locator('input[name=role]').fill('user');
    await Promise.all([
      alice.waitForURL(/\/admin\/users\?done=/),
      row.locator('form.add-membership button').click(),
    ]);
    expect(await alice.textContent('#flash')).toContain('Added contoso/platform:user to carol');
    expect(await alice.locator('tr[data-user^="carol"]').textContent()).toContain('contoso/platform: user');
    await shot(alice, 'admin-users');

    const served = await mcpPost(`${base}/mcp`, initialize, carolToken);
    expect(served.status).toBe(200);
    expect(served.body.result.serverInfo.name).toBe('gatehouse');
  });

  it("revokes bob's grant of an MCP client, after which the client's access token gets 401", async () => {
    const { provider, transport } = await browserSignIn(
      { mcpUrl: `${base}/mcp` } as OAuthFixture,
      browser,
      'bob',
    );
    await transport.finishAuth(provider.code!);
    const token = provider.saved!.access_token;
    expect((await mcpPost(`${base}/mcp`, initialize, token)).status).toBe(200);

    await alice.goto(`${base}/admin/clients`);
    const grantRow = alice
      .locator('#grants tr', { hasText: 'Gatehouse e2e client' })
      .filter({ hasText: 'bob' });
    expect(await grantRow.count()).toBe(1);
    await shot(alice, 'admin-clients');
    await Promise.all([alice.waitForURL(/\/admin\/clients\?done=/), grantRow.locator('button').click()]);
    expect(await alice.textContent('#flash')).toContain('Revoked the grant of Gatehouse e2e client');
    expect(await alice.locator('#grants tr', { hasText: 'Gatehouse e2e client' }).count()).toBe(0);

    const after = await mcpPost(`${base}/mcp`, initialize, token);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('finds both actions in the audit search', async () => {
    await alice.goto(`${base}/admin/audit`);
    await alice.fill('input[name=type]', 'admin.action');
    await Promise.all([alice.waitForURL(/type=admin.action/), alice.click('#audit-search button')]);
    const table = (await alice.textContent('#audit')) ?? '';
    expect(table).toContain('add-membership');
    expect(table).toContain('revoke-grant');
    expect(table).toContain('contoso/platform:user');
    await shot(alice, 'admin-audit');
  });

  it('shows the servers page and the configuration with secrets redacted', async () => {
    await alice.goto(`${base}/admin/servers`);
    expect(await alice.textContent('main')).toContain('No upstream servers are configured');
    await shot(alice, 'admin-servers');
    await alice.goto(`${base}/admin/config`);
    const shown = (await alice.textContent('#config')) ?? '';
    expect(shown).toContain(`"clientId": "${IDS.api}"`);
    expect(shown).not.toContain(IDS.apiSecret);
    expect(shown).not.toContain(TEST_MASTER_SECRET);
    expect(shown).toContain('"jwtSigningKey": "[redacted]"');
    await shot(alice, 'admin-config');
  });

  it('forbids framing of its pages and refuses a form posted without its CSRF token', async () => {
    const response = await alice.goto(`${base}/admin`);
    expect(response?.headers()['x-frame-options']).toBe('DENY');
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    const cookie = (await alice.context().cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ');
    const carol = (await gatehouse.stores.durable.users.findByIdentity(IDS.tenant, IDS.carol))!;
    const forged = await fetch(`${base}/admin/users/${carol.id}/memberships`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ org: 'contoso', team: 'evil', role: 'admin' }),
      redirect: 'manual',
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('GH_WEB_CSRF_INVALID');
    const memberships = await gatehouse.stores.durable.memberships.listForUser(carol.id);
    expect(memberships.map((m) => m.team)).toEqual(['platform']);
  });

  let bob: Page;

  it('refuses bob, who is not an admin, with a clear 403 page', async () => {
    bob = await newPage();
    const first = await bob.goto(`${base}/admin/users`);
    expect(first?.status()).toBe(401);
    await bob.click('#sign-in');
    await enterCredentials(bob, 'bob', '/admin/users');
    expect(await bob.textContent('main')).toContain('does not hold the admin role');
    expect(await bob.content()).toContain('GH_WEB_FORBIDDEN');
    const again = await bob.goto(`${base}/admin`);
    expect(again?.status()).toBe(403);
    await shot(bob, 'admin-forbidden');
  });

  it("lets bob revoke his own grant from the landing page, after which the client's token gets 401", async () => {
    const { provider, transport } = await browserSignIn(
      { mcpUrl: `${base}/mcp` } as OAuthFixture,
      browser,
      'bob',
    );
    await transport.finishAuth(provider.code!);
    const token = provider.saved!.access_token;
    expect((await mcpPost(`${base}/mcp`, initialize, token)).status).toBe(200);
    await bob.goto(`${base}/`);
    expect(await bob.textContent('#roles')).toBe('user');
    const row = bob.locator('#grants tr', { hasText: 'Gatehouse e2e client' });
    expect(await row.count()).toBe(1);
    await Promise.all([bob.waitForURL(`${base}/?revoked=1`), row.locator('button').click()]);
    expect(await bob.locator('#grants tr', { hasText: 'Gatehouse e2e client' }).count()).toBe(0);
    expect((await mcpPost(`${base}/mcp`, initialize, token)).status).toBe(401);
  });

  it('signs the break-glass admin in (and refuses a wrong password)', async () => {
    const page = await newPage();
    await page.goto(`${base}/admin/login`);
    await page.fill('#username', 'breakglass');
    await page.fill('#password', 'wrong');
    await page.click('#submit');
    expect(await page.textContent('#problem')).toContain('The user name or the password is wrong');
    await shot(page, 'admin-break-glass');
    // A failure delays the next attempt (1 s after the first): even the right password is refused until then.
    await page.fill('#username', 'breakglass');
    await page.fill('#password', BREAK_GLASS_PASSWORD);
    await page.click('#submit');
    expect(await page.textContent('#problem')).toContain('GH_BREAK_GLASS_TOO_EARLY');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await page.fill('#username', 'breakglass');
    await page.fill('#password', BREAK_GLASS_PASSWORD);
    await Promise.all([page.waitForURL(`${base}/admin`), page.click('#submit')]);
    expect(await page.textContent('main')).toContain('with the break-glass local admin');
    const rows = await auditRows(gatehouse);
    expect(rows).toContainEqual(
      expect.objectContaining({
        type: 'admin.action',
        userId: 'break-glass:breakglass',
        action: 'sign-in',
        outcome: 'ok',
      }),
    );
    expect(rows.filter((row) => row.type === 'auth.break-glass').map((row) => row.outcome)).toEqual([
      'wrong-credentials',
      'too-early',
      'success',
    ]);
  });

  it('signs alice out: the session ends on the server', async () => {
    await alice.goto(`${base}/`);
    await Promise.all([alice.waitForURL(`${base}/`), alice.click('header form button')]);
    expect(await alice.isVisible('#sign-in')).toBe(true);
    const response = await alice.goto(`${base}/admin`);
    expect(response?.status()).toBe(401);
  });
});
