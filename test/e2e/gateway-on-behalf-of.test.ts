import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePart, IDS, postToken } from '../dev-entra/helpers.js';
import { vscodeToken } from '../helpers/auth-fixture.js';
import { startTestUpstream, type TestUpstream } from '../helpers/gateway-fixture.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

const VSCODE_SCOPE = `api://${IDS.api}/discover api://${IDS.api}/tools.execute openid profile offline_access`;
const DOWNSTREAM_SCOPE = `api://${IDS.downstream}/access_as_user`;

async function withBearer(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

// The gateway's per-server credential "on-behalf-of with scope X": each call to the upstream
// carries an Entra token for that upstream's API, obtained for the caller (entra.md §3, OBO), never
// the caller's own token (no passthrough).
describe('an upstream reached on the user\'s behalf ("auth": {"type": "on-behalf-of"})', () => {
  let upstream: TestUpstream;
  let f: OAuthFixture;
  let dir: string;
  beforeAll(async () => {
    upstream = await startTestUpstream();
    dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-obo-'));
    const configFile = path.join(dir, 'gatehouse.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        mcpServers: {
          downstream: { url: upstream.url, auth: { type: 'on-behalf-of', scope: DOWNSTREAM_SCOPE } },
        },
      }),
    );
    f = await startOAuthFixture({ GATEHOUSE_CONFIG_FILE: configFile });
  });
  afterAll(async () => {
    await f?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends the upstream a token for its own API on bob's behalf, reused on the next call", async () => {
    const bobToken = await vscodeToken(f.entra, 'bob', VSCODE_SCOPE);
    const client = await withBearer(f.mcpUrl, bobToken);
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('downstream__echo');
      const before = f.entra.tokenRequestCount('on_behalf_of');
      const result = await client.callTool({ name: 'downstream__echo', arguments: { message: 'hi' } });
      expect(result.content).toEqual([{ type: 'text', text: 'echo: hi' }]);
      await client.callTool({ name: 'downstream__echo', arguments: { message: 'again' } });
      expect(f.entra.tokenRequestCount('on_behalf_of')).toBe(before + 1);

      const calls = (await upstream.recorded()).filter((request) => request.rpc === 'tools/call');
      expect(calls).toHaveLength(2);
      for (const call of calls) {
        const token = call.headers.authorization!.replace(/^Bearer /, '');
        expect(token).not.toBe(bobToken);
        const claims = decodePart(token, 1);
        expect(claims).toMatchObject({ aud: DOWNSTREAM_SCOPE.replace('/access_as_user', ''), oid: IDS.bob });
        expect(String(claims.scp)).toBe('access_as_user');
      }
    } finally {
      await client.close();
    }
  });

  it('answers an app-only caller with a tool error and sends the upstream nothing', async () => {
    const { body } = await postToken(f.entra.tokenEndpoint('v2'), {
      grant_type: 'client_credentials',
      client_id: IDS.daemon,
      client_secret: IDS.daemonSecret,
      scope: `api://${IDS.api}/.default`,
    });
    const client = await withBearer(f.mcpUrl, String(body.access_token));
    try {
      const sent = (await upstream.recorded()).filter((request) => request.rpc === 'tools/call').length;
      const result = await client.callTool({ name: 'downstream__echo', arguments: { message: 'hi' } });
      expect(result.isError).toBe(true);
      expect(result._meta).toMatchObject({ 'io.gatehouse/error-code': 'GH_ENTRA_OBO_APP_ONLY' });
      expect((await upstream.recorded()).filter((request) => request.rpc === 'tools/call')).toHaveLength(
        sent,
      );
    } finally {
      await client.close();
    }
  });
});
