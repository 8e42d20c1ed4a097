import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePart, IDS, postToken, signIn } from '../dev-entra/helpers.js';
import { vscodeToken } from '../helpers/auth-fixture.js';
import {
  type BrowserOAuthProvider,
  browserSignIn,
  freePort,
  launchBrowser,
  type OAuthFixture,
  startOAuthFixture,
} from '../helpers/oauth-fixture.js';
import { HttpBrowser } from '../helpers/oauth-http-flow.js';
import { SteppingOAuthProvider } from '../helpers/stepping-oauth-provider.js';

const ALL_STAFF = IDS.groups[2];
const PATH_TOKEN = 'path-token-0123456789-abcdefghijklmnop';
const VSCODE_SCOPE = `api://${IDS.api}/discover api://${IDS.api}/tools.execute openid profile offline_access`;

interface Seen {
  whoami: Record<string, unknown>;
  tools: string[];
}

async function look(client: Client): Promise<Seen> {
  try {
    const whoami = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as Record<
      string,
      unknown
    >;
    const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
    return { whoami, tools };
  } finally {
    await client.close();
  }
}

async function withBearer(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** Everything whoami says except how the caller signed in. */
function identity(seen: Seen): Record<string, unknown> {
  const { authKind: _kind, scopes: _scopes, ...rest } = seen.whoami;
  return rest;
}

// One identity whatever the client: bob's Entra group mapped to a role (MCP_AZURE_GROUP_ROLES), his
// app role and his memberships give the same roles and the same tools with an Entra token sent
// directly (VS Code) and with a Gatehouse token from the OAuth flow (DCR); with groups overage
// (entra.md §2: `_claim_names` instead of `groups`) the groups are read from Graph.
describe('bob is the same person with an Entra token and with a Gatehouse token', () => {
  let f: OAuthFixture;
  let browser: Browser;
  beforeAll(async () => {
    f = await startOAuthFixture({
      MCP_AZURE_GROUP_ROLES: `${ALL_STAFF}=admin`,
      MCP_SERVER_TOKEN: PATH_TOKEN,
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  async function throughGatehouse(): Promise<Seen> {
    const { provider, transport } = await browserSignIn(f, browser, 'bob');
    await transport.finishAuth(provider.code!);
    return look(await connectWith(provider));
  }

  async function connectWith(provider: BrowserOAuthProvider): Promise<Client> {
    const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(f.mcpUrl), { authProvider: provider }));
    return client;
  }

  it('gives bob the same roles, memberships and tools through VS Code and through DCR', async () => {
    const direct = await look(await withBearer(f.mcpUrl, await vscodeToken(f.entra, 'bob', VSCODE_SCOPE)));
    const viaGatehouse = await throughGatehouse();
    expect(direct.whoami.authKind).toBe('entra-user');
    expect(viaGatehouse.whoami.authKind).toBe('gatehouse');
    // The group mapping (All Staff → admin) applies to both, beside his app role and membership.
    expect(direct.whoami.roles).toEqual(['admin', 'user']);
    expect(identity(viaGatehouse)).toEqual(identity(direct));
    expect(viaGatehouse.tools).toEqual(direct.tools);
    expect(direct.tools).toContain('get_server_info');
    const memberships = await f.gatehouse.stores.durable.memberships.listForUser(
      String(direct.whoami.userId),
    );
    expect(memberships).toEqual([expect.objectContaining({ org: 'default', team: 'default', role: 'user' })]);
  }, 90_000);

  it('keeps the mapped role with groups overage, reading the groups from Graph for both kinds of token', async () => {
    f.entra.setGroupsOverageLimit(0);
    try {
      const token = await vscodeToken(f.entra, 'bob', VSCODE_SCOPE);
      const claims = decodePart(token, 1);
      expect(claims.groups).toBeUndefined();
      expect(claims._claim_names).toEqual({ groups: 'src1' });
      const direct = await look(await withBearer(f.mcpUrl, token));
      const viaGatehouse = await throughGatehouse();
      expect(direct.whoami.roles).toEqual(['admin', 'user']);
      expect(identity(viaGatehouse)).toEqual(identity(direct));
      expect(viaGatehouse.tools).toEqual(direct.tools);
    } finally {
      f.entra.setGroupsOverageLimit(200);
    }
  }, 90_000);

  it('gives bob the mapped role in a browser session too, with groups overage (the admin console lets him in)', async () => {
    /** bob signs in to Gatehouse's own pages (/auth/login → Entra → /auth/callback) and opens /admin. */
    async function adminPageStatus(): Promise<number> {
      const page = new HttpBrowser(f.config.server.baseUrl, undefined, { accept: 'text/html' });
      const login = await page.get('/auth/login?return=%2Fadmin');
      expect(login.status, login.text).toBe(303);
      const { location } = await signIn(login.location!, 'bob');
      const back = await page.get(location.toString());
      expect(back.location, back.text).toBe('/admin');
      return (await page.get('/admin')).status;
    }
    // His only way to admin is the group mapping (All Staff → admin).
    expect(await adminPageStatus()).toBe(200);
    f.entra.setGroupsOverageLimit(0);
    try {
      expect(await adminPageStatus()).toBe(200);
    } finally {
      f.entra.setGroupsOverageLimit(200);
    }
  }, 60_000);

  it('refuses on-behalf-of to app-only callers with a tool error, not a crash', async () => {
    const { status, body } = await postToken(f.entra.tokenEndpoint('v2'), {
      grant_type: 'client_credentials',
      client_id: IDS.daemon,
      client_secret: IDS.daemonSecret,
      scope: `api://${IDS.api}/.default`,
    });
    expect(status).toBe(200);
    const before = f.entra.tokenRequestCount('on_behalf_of');
    const daemon = await withBearer(f.mcpUrl, String(body.access_token));
    const pathClient = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
    await pathClient.connect(
      new StreamableHTTPClientTransport(new URL(`${f.config.server.baseUrl}/mcp/t-${PATH_TOKEN}/http`)),
    );
    try {
      for (const client of [daemon, pathClient]) {
        const result = await client.callTool({ name: 'get_graph_user_details', arguments: {} });
        expect(result.isError).toBe(true);
        expect(result._meta).toMatchObject({ 'io.gatehouse/error-code': 'GH_ENTRA_OBO_APP_ONLY' });
        expect((result.content as { text: string }[])[0]!.text).toMatch(/needs a signed-in user/);
        // The profile still answers from the token alone.
        const profile = await client.callTool({ name: 'get_user_profile', arguments: {} });
        expect(profile.isError).toBeFalsy();
        expect(profile.structuredContent).toMatchObject({ source: 'token' });
      }
      expect(f.entra.tokenRequestCount('on_behalf_of')).toBe(before);
    } finally {
      await daemon.close();
      await pathClient.close();
    }
  });

  it('reads Graph on behalf of a caller presenting its own Entra token (VS Code)', async () => {
    const client = await withBearer(f.mcpUrl, await vscodeToken(f.entra, 'bob', VSCODE_SCOPE));
    try {
      const details = await client.callTool({ name: 'get_graph_user_details', arguments: {} });
      expect(details.structuredContent).toMatchObject({
        success: true,
        id: IDS.bob,
        userPrincipalName: 'bob@gatehousedev.onmicrosoft.com',
      });
    } finally {
      await client.close();
    }
  });
});

// MCP_AZURE_VALIDATE_WITH_GRAPH: the account is read from Graph at sign-in; a disabled one is refused.
describe('MCP_AZURE_VALIDATE_WITH_GRAPH', () => {
  let f: OAuthFixture;
  let browser: Browser;
  beforeAll(async () => {
    f = await startOAuthFixture({ AZURE_VALIDATE_WITH_GRAPH: 'true' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  async function attempt(user: 'alice' | 'bob'): Promise<SteppingOAuthProvider> {
    const provider = new SteppingOAuthProvider(
      browser,
      user,
      `http://127.0.0.1:${await freePort()}/callback`,
    );
    expect(await auth(provider, { serverUrl: new URL(f.mcpUrl), scope: 'discover tools.execute' })).toBe(
      'REDIRECT',
    );
    return provider;
  }

  it('signs an enabled account in and refuses a disabled one with a page saying why', async () => {
    f.entra.setDisabledUsers(['bob']);
    const alice = await attempt('alice');
    expect(alice.code, alice.stoppedOn?.text).toBeTruthy();

    const bob = await attempt('bob');
    expect(bob.code).toBeUndefined();
    expect(bob.stoppedOn?.url).toContain(`${f.config.server.baseUrl}/auth/callback`);
    expect(bob.stoppedOn?.text).toContain(
      'bob@gatehousedev.onmicrosoft.com is disabled in Microsoft Entra ID',
    );
    // Nothing of the sign-in is kept: no Entra tokens to act for bob with.
    const { durable } = f.gatehouse.stores;
    const user = await durable.users.findByIdentity(IDS.tenant, IDS.bob);
    expect(user === undefined ? undefined : await durable.entraSessions.find(user.id)).toBeUndefined();
  }, 90_000);
});
