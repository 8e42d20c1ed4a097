import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import {
  BrowserOAuthProvider,
  freePort,
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
    const provider = new BrowserOAuthProvider(
      browser,
      'alice',
      `http://127.0.0.1:${await freePort()}/callback`,
    );
    const transport = new StreamableHTTPClientTransport(new URL(f.mcpUrl), { authProvider: provider });
    await expect(new Client({ name: 'gatehouse-e2e', version: '1.0.0' }).connect(transport)).rejects.toThrow(
      UnauthorizedError,
    );
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
