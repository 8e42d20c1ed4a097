import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import {
  type BrowserOAuthProvider,
  browserSignIn,
  launchBrowser,
  type OAuthFixture,
  startOAuthFixture,
} from '../helpers/oauth-fixture.js';

// MCP authorization 2025-11-25 end to end: 401 → RFC 9728 → RFC 8414 → RFC 7591 registration →
// authorization code + PKCE through Gatehouse's consent page and the Entra sign-in → tokens → tools.
describe('an MCP client signs in through Gatehouse with a real browser', () => {
  let f: OAuthFixture;
  let browser: Browser;
  beforeAll(async () => {
    f = await startOAuthFixture();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  async function connect(provider: BrowserOAuthProvider): Promise<Client> {
    const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(f.mcpUrl), { authProvider: provider }));
    return client;
  }

  it('signs alice in (consent, then Entra), lists tools, and calls whoami and calculate_sum', async () => {
    const { provider, transport } = await browserSignIn(f, browser, 'alice');
    expect(provider.visited[0]).toMatch(new RegExp(`^${f.config.server.baseUrl}/interaction/`));
    expect(provider.visited[1]).toContain(`${f.entra.url}/${f.entra.tenantId}/oauth2/v2.0/authorize`);
    expect(provider.code).toBeTruthy();
    await transport.finishAuth(provider.code!);

    const client = await connect(provider);
    try {
      const tools = (await client.listTools()).tools.map((tool) => tool.name);
      expect(tools).toContain('get_server_info');
      const who = await client.callTool({ name: 'whoami', arguments: {} });
      expect(who.structuredContent).toMatchObject({
        objectId: IDS.alice,
        tenantId: IDS.tenant,
        authKind: 'gatehouse',
        name: 'Alice Admin',
      });
      const sum = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [1, 2, 3] } });
      expect(sum.structuredContent).toEqual({ sum: 6 });
      expect(provider.saved?.refresh_token).toBeTruthy();
    } finally {
      await client.close();
    }
  });
});

// OAuth 2.1 §4.3 (refresh, rotated for public clients), RFC 7009 (revocation), and persistence:
// the registered client, the grant and the refresh token survive a restart.
describe('after sign-in: silent refresh, restart, revocation', () => {
  let f: OAuthFixture;
  let browser: Browser;
  beforeAll(async () => {
    // Short-lived access tokens and no clock tolerance, so a token really expires within the test.
    f = await startOAuthFixture({ GATEHOUSE_ACCESS_TOKEN_TTL: '10', MCP_AZURE_CLOCK_SKEW: '0' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  async function signIn(user: 'alice' | 'bob'): Promise<BrowserOAuthProvider> {
    const { provider, transport } = await browserSignIn(f, browser, user);
    await transport.finishAuth(provider.code!);
    return provider;
  }

  async function whoamiWith(provider: BrowserOAuthProvider) {
    const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(f.mcpUrl), { authProvider: provider }));
    try {
      return (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as {
        objectId: string;
      };
    } finally {
      await client.close();
    }
  }

  const rawCall = (token: string) =>
    fetch(f.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'whoami', arguments: {} },
      }),
    });

  it('refreshes silently once the access token has expired, across a restart, with the refresh token rotated', async () => {
    const provider = await signIn('bob');
    const first = provider.saved!;
    expect((await whoamiWith(provider)).objectId).toBe(IDS.bob);

    await f.restart();
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect((await rawCall(first.access_token)).status).toBe(401);

    const browserRuns = provider.visited.length;
    expect((await whoamiWith(provider)).objectId).toBe(IDS.bob);
    expect(provider.visited.length).toBe(browserRuns); // no new sign-in in the browser
    expect(provider.saved!.access_token).not.toBe(first.access_token);
    expect(provider.saved!.refresh_token).not.toBe(first.refresh_token);
  });

  it('refuses the access token with 401 once its grant is revoked', async () => {
    const provider = await signIn('alice');
    const tokens = provider.saved!;
    expect((await rawCall(tokens.access_token)).status).toBe(200);
    const revoked = await fetch(`${f.config.server.baseUrl}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens.refresh_token!,
        client_id: (provider.client as { client_id: string }).client_id,
      }),
    });
    expect(revoked.status).toBe(200);
    const after = await rawCall(tokens.access_token);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('its authorization grant has ended');
  });
});
