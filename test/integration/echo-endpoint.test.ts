import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthFixture, IDS, mcpPost, startAuthFixture } from '../helpers/auth-fixture.js';
import { callTool } from '../helpers/test-app.js';

// RFC 9728 §3 and §5.1: /echo is the MCP endpoint under another path, and a protected resource of its own.
describe('/echo, an alias of the MCP endpoint', () => {
  let f: AuthFixture;
  let base: string;
  beforeAll(async () => {
    f = await startAuthFixture();
    base = f.gatehouse.url;
  });
  afterAll(() => f.close());

  it('challenges with its own resource metadata, which names /echo', async () => {
    const response = await mcpPost(`${base}/echo`, callTool('whoami'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(
      `resource_metadata="${base}/.well-known/oauth-protected-resource/echo"`,
    );
    const metadata = await fetch(`${base}/.well-known/oauth-protected-resource/echo`);
    expect(metadata.status).toBe(200);
    expect(await metadata.json()).toMatchObject({
      resource: `${base}/echo`,
      scopes_supported: expect.arrayContaining([`api://${IDS.api}/tools.execute`]),
    });
  });

  it('serves the same tools to the SDK client, and whoami says who the caller is', async () => {
    const token = await f.userToken('bob');
    const client = new Client({ name: 'echo-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/echo`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('whoami');
      const who = await client.callTool({ name: 'whoami', arguments: {} });
      expect(who.structuredContent).toMatchObject({
        name: 'Bob User',
        tenantId: IDS.tenant,
        roles: ['user'],
      });
      const text = (who.content as { text: string }[])[0]?.text ?? '';
      expect(text).toMatch(
        /^You are Bob User \(bob@[^)]+\), in tenant aad59afb-4251-4c23-8403-b51da0a099c5; roles: user\.$/,
      );
      // Who, not how: the token kind is not what whoami tells a person.
      expect(text).not.toMatch(/entra|token/i);
    } finally {
      await client.close();
    }
  });
});
