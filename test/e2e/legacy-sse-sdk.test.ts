import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import { HttpOAuthProvider } from '../helpers/http-oauth-provider.js';
import { bearer, LegacySseStream, postMessage } from '../helpers/legacy-sse.js';
import { freePort, type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

// The MCP SDK's SSEClientTransport (the 2024-11-05 HTTP+SSE transport) signing in through
// Gatehouse's authorization server (consent page, emulator sign-in, code + PKCE, with the forms
// submitted over HTTP), then using the tools over /sse. The SDK
// checks that the URL lies under the protected resource (RFC 9728 §3.3 / RFC 8707), so /sse is a
// resource of its own and /mcp/sse lies under /mcp.
describe('the SDK SSEClientTransport signs in and uses the legacy transport', () => {
  let f: OAuthFixture;
  beforeAll(async () => {
    f = await startOAuthFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  async function signIn(url: URL): Promise<HttpOAuthProvider> {
    const provider = new HttpOAuthProvider(
      f.config.server.baseUrl,
      'alice',
      `http://127.0.0.1:${await freePort()}/callback`,
    );
    const first = new SSEClientTransport(url, { authProvider: provider });
    await expect(new Client({ name: 'legacy-sse-e2e', version: '1.0.0' }).connect(first)).rejects.toThrow(
      UnauthorizedError,
    );
    expect(provider.visited[0]).toMatch(new RegExp(`^${f.config.server.baseUrl}/interaction/`));
    await first.finishAuth(provider.code!);
    await first.close();
    return provider;
  }

  for (const path of ['/sse', '/mcp/sse']) {
    it(`signs alice in at ${path}, lists and calls tools, and keeps a note`, async () => {
      const url = new URL(`${f.config.server.baseUrl}${path}`);
      const provider = await signIn(url);
      // The token is bound to the protected resource the URL lies under (RFC 8707).
      const claims = JSON.parse(
        Buffer.from(provider.saved!.access_token.split('.')[1]!, 'base64url').toString(),
      );
      expect(claims.aud).toBe(`${f.config.server.baseUrl}${path === '/sse' ? '/sse' : '/mcp'}`);

      const client = new Client({ name: 'legacy-sse-e2e', version: '1.0.0' });
      await client.connect(new SSEClientTransport(url, { authProvider: provider }));
      try {
        expect(client.getServerVersion()?.name).toBe('gatehouse');
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        expect(names).toEqual(expect.arrayContaining(['whoami', 'calculate_sum', 'save_user_note']));

        const who = await client.callTool({ name: 'whoami', arguments: {} });
        expect(who.structuredContent).toMatchObject({
          objectId: IDS.alice,
          tenantId: IDS.tenant,
          authKind: 'gatehouse',
        });
        const sum = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [4, 5, 6] } });
        expect(sum.structuredContent).toEqual({ sum: 15 });

        const note = `over legacy SSE at ${path}`;
        const saved = await client.callTool({ name: 'save_user_note', arguments: { note } });
        const noteId = (saved.structuredContent as { id: string }).id;
        const notes = await client.callTool({ name: 'get_user_notes', arguments: {} });
        expect(
          (notes.structuredContent as { notes: Array<{ id: string; note: string }> }).notes,
        ).toContainEqual(expect.objectContaining({ id: noteId, note }));
        const deleted = await client.callTool({ name: 'delete_user_note', arguments: { id: noteId } });
        expect(deleted.isError).toBeFalsy();
      } finally {
        await client.close();
      }
    }, 60_000);
  }

  it('negotiates 2024-11-05 when the client asks for it', async () => {
    const url = new URL(`${f.config.server.baseUrl}/sse`);
    const provider = await signIn(url);
    const token = provider.saved!.access_token;
    const stream = await LegacySseStream.open(url.toString(), bearer(token));
    try {
      const posted = await postMessage(
        await stream.endpoint(),
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2024-11-05',
            capabilities: {},
            clientInfo: { name: 'old', version: '0' },
          },
        },
        bearer(token),
      );
      expect(posted.status).toBe(202);
      expect(await stream.message()).toMatchObject({
        id: 1,
        result: { protocolVersion: '2024-11-05', serverInfo: { name: 'gatehouse' } },
      });
    } finally {
      stream.close();
    }
  }, 60_000);
});
