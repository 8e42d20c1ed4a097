import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import { auditRows } from '../helpers/audit-rows.js';
import { vscodeToken } from '../helpers/auth-fixture.js';
import {
  type BrowserOAuthProvider,
  browserSignIn,
  launchBrowser,
  type OAuthFixture,
  startOAuthFixture,
} from '../helpers/oauth-fixture.js';
import { createTestDatabase } from '../helpers/services.js';
import { EVERYTHING_STDIO, type RunningUpstream, startEverything } from '../helpers/upstreams.js';

// The gateway's acceptance scenario with a real third-party upstream,
// @modelcontextprotocol/server-everything, over Streamable HTTP (registered at runtime through the
// REST API by alice, an administrator) and over stdio (declared in the config file). bob signs in
// through Gatehouse's OAuth flow with the MCP SDK client and uses both; carol is refused what the
// policy refuses her; bob cannot change the registry.
describe.each(['sqlite', 'postgres'] as const)(
  'server-everything behind Gatehouse on %s (Streamable HTTP and stdio)',
  (backend) => {
    let f: OAuthFixture;
    let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
    let browser: Browser;
    let upstream: RunningUpstream;
    let configDir: string;
    let aliceToken: string;
    let bobToken: string;

    // "staff" comes from Gatehouse's own memberships (bob has one, carol has none): the
    // everything servers are for staff, and their get-env tool only for administrators.
    const policy = { roles: ['staff', 'admin'], tools: { 'get-env': { roles: ['admin'] } } };

    beforeAll(async () => {
      upstream = await startEverything('streamableHttp');
      configDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-gateway-config-'));
      const configFile = path.join(configDir, 'gatehouse.json');
      writeFileSync(
        configFile,
        JSON.stringify({ mcpServers: { local: { ...EVERYTHING_STDIO, ...policy } } }),
      );
      database = backend === 'postgres' ? await createTestDatabase() : undefined;
      f = await startOAuthFixture({
        GATEHOUSE_CONFIG_FILE: configFile,
        GATEHOUSE_GATEWAY_LIST_WAIT: '10000',
        ...(database ? { DATABASE_URL: database.url } : {}),
      });
      expect(f.gatehouse.stores.durable.backend).toBe(backend);
      const { users, memberships } = f.gatehouse.stores.durable;
      const bob = await users.upsert({ tenantId: IDS.tenant, objectId: IDS.bob });
      await memberships.add({ userId: bob.id, org: 'default', team: null, role: 'staff' });
      browser = await launchBrowser();
      const scope = ['discover', 'tools.execute'].map((name) => `api://${IDS.api}/${name}`).join(' ');
      aliceToken = await vscodeToken(f.entra, 'alice', scope);
      bobToken = await vscodeToken(f.entra, 'bob', scope);
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await f?.close();
      await upstream?.close();
      await database?.drop();
      rmSync(configDir, { recursive: true, force: true });
    });

    function api(method: string, route: string, token: string, body?: unknown) {
      return fetch(`${f.config.server.baseUrl}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    }

    async function signedInClient(user: 'bob' | 'carol'): Promise<Client> {
      const { provider, transport } = await browserSignIn(f, browser, user);
      await transport.finishAuth(provider.code!);
      const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(f.mcpUrl), {
          authProvider: provider as BrowserOAuthProvider,
        }),
      );
      return client;
    }

    it('alice registers the HTTP server through the REST API with her bearer token; bob may not', async () => {
      const definition = { name: 'everything', url: upstream.url, title: 'Everything', ...policy };
      const byBob = await api('POST', '/api/servers', bobToken, definition);
      expect(byBob.status).toBe(403);
      expect(await byBob.json()).toMatchObject({ error: 'GH_API_ROLE_REQUIRED' });

      const created = await api('POST', '/api/servers', aliceToken, definition);
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({
        name: 'everything',
        source: 'api',
        transport: 'streamable-http',
      });

      const listed = (await (await api('GET', '/api/servers', bobToken)).json()) as {
        servers: { name: string }[];
      };
      expect(listed.servers.map((server) => server.name)).toEqual(['everything', 'local']);
      expect((await api('DELETE', '/api/servers/everything', bobToken)).status).toBe(403);
    });

    it('bob signs in through Gatehouse, lists both servers’ tools, calls two, reads a resource and gets a prompt', async () => {
      const client = await signedInClient('bob');
      try {
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        for (const server of ['everything', 'local']) {
          expect(names).toContain(`${server}__echo`);
          expect(names).toContain(`${server}__get-sum`);
          // get-env is for administrators: not listed for bob.
          expect(names).not.toContain(`${server}__get-env`);
        }
        expect(names).not.toContain('register_server');

        const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } });
        expect(echo.content).toEqual([{ type: 'text', text: 'Echo: hello' }]);
        const sum = await client.callTool({ name: 'local__get-sum', arguments: { a: 2, b: 40 } });
        expect(JSON.stringify(sum.content)).toContain('42');

        const { resources } = await client.listResources();
        const architecture = resources.find((resource) => resource.uri.endsWith('/architecture.md'));
        expect(architecture?.uri).toMatch(/^gatehouse:\/\/(everything|local)\/demo:\/\//);
        const read = await client.readResource({ uri: architecture!.uri });
        expect(read.contents[0]?.uri).toBe(architecture!.uri);
        expect(String((read.contents[0] as { text?: string }).text)).not.toBe('');

        const { prompts } = await client.listPrompts();
        expect(prompts.map((prompt) => prompt.name)).toContain('everything__simple-prompt');
        const prompt = await client.getPrompt({
          name: 'everything__args-prompt',
          arguments: { city: 'Oslo' },
        });
        expect(JSON.stringify(prompt.messages)).toContain('Oslo');

        // The registry tools serve users too; registering is for administrators.
        const servers = await client.callTool({ name: 'list_servers', arguments: {} });
        expect(
          (servers.structuredContent as { servers: { name: string }[] }).servers.map((s) => s.name),
        ).toEqual(['everything', 'local']);
        await expect(
          client.callTool({ name: 'register_server', arguments: { name: 'x', definition: {} } }),
        ).rejects.toThrow(/requires the role admin/);
        const proxied = await client.callTool({
          name: 'proxy_request',
          arguments: { server: 'everything', tool: 'echo', arguments: { message: 'via proxy' } },
        });
        expect(proxied.content).toEqual([{ type: 'text', text: 'Echo: via proxy' }]);
      } finally {
        await client.close();
      }
    });

    it('carol (no staff role) sees none of the upstream tools, prompts or resources and cannot call them', async () => {
      const client = await signedInClient('carol');
      try {
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        expect(names.some((name) => name.includes('__'))).toBe(false);
        expect(names).toContain('whoami');
        // Only Gatehouse's own prompts, which come first; carol has no notes, so no resources at all.
        expect((await client.listPrompts()).prompts.map((prompt) => prompt.name)).toEqual([
          'summarize_notes',
          'review_note',
          'add_numbers',
        ]);
        expect((await client.listResources()).resources).toEqual([]);
        await expect(
          client.callTool({ name: 'everything__echo', arguments: { message: 'x' } }),
        ).rejects.toThrow(/requires the role staff or admin/);
        // proxy_request is a tool itself: the refusal of the tool it names is its (error) result.
        const proxied = await client.callTool({
          name: 'proxy_request',
          arguments: { server: 'local', tool: 'echo', arguments: { message: 'x' } },
        });
        expect(proxied).toMatchObject({
          isError: true,
          _meta: { 'io.gatehouse/error-code': 'GH_POLICY_ROLE_REQUIRED' },
        });
        expect(JSON.stringify(proxied.content)).toContain('requires the role staff or admin');
      } finally {
        await client.close();
      }
    });

    it('every forwarded call is audited with its server, outcome and duration', async () => {
      const forwarded = await auditRows(f.gatehouse, { type: 'gateway.forward' });
      for (const server of ['everything', 'local']) {
        const ok = forwarded.find((row) => row.server === server && row.outcome === 'ok');
        expect(ok, server).toBeDefined();
        expect(ok?.durationMs).toBeGreaterThan(0);
      }
      const denied = (
        await auditRows(f.gatehouse, { type: 'tool.decision', tool: 'everything__echo' })
      ).filter((row) => row.outcome === 'deny');
      expect(denied.length).toBeGreaterThan(0);
    });
  },
);
