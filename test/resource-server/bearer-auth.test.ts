import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthFixture, IDS, mcpPost, startAuthFixture } from '../helpers/auth-fixture.js';

// MCP authorization 2025-11-25 (resource server), RFC 6750 §3, RFC 9728, entra.md §7.
const call = (name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name, arguments: args },
});
const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

describe('resource server with Entra tokens', () => {
  let f: AuthFixture;
  let base: string;
  let metadataUrl: string;
  beforeAll(async () => {
    f = await startAuthFixture({
      MCP_SERVER_TOKEN: 'path-token-0123456789-abcdefghijklmnop',
      MCP_SERVER_TOKEN_ROLES: 'user',
    });
    base = f.gatehouse.url;
    metadataUrl = `${base}/.well-known/oauth-protected-resource/mcp`;
  });
  afterAll(() => f.close());

  it('answers a request without a token with 401 and the exact challenge (no error attribute)', async () => {
    const response = await mcpPost(f.mcpUrl, list);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${metadataUrl}", scope="api://${IDS.api}/discover api://${IDS.api}/tools.execute"`,
    );
    expect(response.body.error.data.code).toBe('GH_AUTH_MISSING_TOKEN');
    expect(response.body.error.message).toContain('missing Authorization header');
  });

  it('publishes RFC 9728 metadata at the path-inserted location and at the root', async () => {
    for (const url of [metadataUrl, `${base}/.well-known/oauth-protected-resource`]) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        resource: `${base}/mcp`,
        authorization_servers: [`${f.entra.url}/${f.entra.tenantId}/v2.0`],
        scopes_supported: ['discover', 'tools.read', 'tools.execute', 'chat'].map(
          (scope) => `api://${IDS.api}/${scope}`,
        ),
        bearer_methods_supported: ['header'],
        resource_name: 'Gatehouse',
        resource_documentation: `${base}/`,
      });
    }
  });

  it('answers a bad token with 401 error="invalid_token" and a description saying what is wrong', async () => {
    const response = await mcpPost(f.mcpUrl, list, 'not.a.token');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="the token header is not valid JSON", resource_metadata="${metadataUrl}", scope="api://${IDS.api}/discover api://${IDS.api}/tools.execute"`,
    );
  });

  it('ignores a token in the query string', async () => {
    const token = await f.userToken('alice');
    const response = await fetch(`${f.mcpUrl}?access_token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(list),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).not.toContain('error=');
  });

  it('lets alice (app role admin) list and call every tool, as herself', async () => {
    const token = await f.userToken('alice');
    const tools = (await mcpPost(f.mcpUrl, list, token)).body.result.tools.map(
      (tool: { name: string }) => tool.name,
    );
    expect(tools).toContain('get_server_info');
    const who = (await mcpPost(f.mcpUrl, call('whoami'), token)).body.result.structuredContent;
    expect(who).toMatchObject({
      tenantId: IDS.tenant,
      objectId: IDS.alice,
      authKind: 'entra-user',
      name: 'Alice Admin',
    });
    expect(who.roles).toEqual(['admin', 'user']);
    const info = await mcpPost(f.mcpUrl, call('get_server_info'), token);
    expect(info.body.result.structuredContent.authMode).toBe('entra');
  });

  it('shows bob (role user), through the official SDK client, only the tools bob may call', async () => {
    const token = await f.userToken('bob');
    const client = new Client({ name: 'bob-client', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(f.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name).sort();
      // Not get_server_info, register_server nor delete_server (administrators only).
      expect(names).toEqual([
        'calculate_sum',
        'delete_user_note',
        'get_graph_user_details',
        'get_server_health',
        'get_user_notes',
        'get_user_profile',
        'list_servers',
        'proxy_request',
        'save_user_note',
        'whoami',
      ]);
      const sum = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [1, 2, 3] } });
      expect(sum.structuredContent).toEqual({ sum: 6 });
    } finally {
      await client.close();
    }
  });

  it('refuses bob an admin tool with a JSON-RPC error naming the role (role escalation)', async () => {
    const response = await mcpPost(f.mcpUrl, call('get_server_info'), await f.userToken('bob'));
    expect(response.status).toBe(200);
    expect(response.body.error).toMatchObject({ code: -32003, data: { code: 'GH_POLICY_ROLE_REQUIRED' } });
    expect(response.body.error.message).toBe(
      'get_server_info requires the role admin; your roles: user. Ask an administrator for the role.',
    );
  });

  it('answers a tools.read token calling a tool with 403 insufficient_scope naming every needed scope (step-up)', async () => {
    const token = await f.userToken('bob', ['discover', 'tools.read']);
    const response = await mcpPost(f.mcpUrl, call('calculate_sum', { numbers: [1] }), token);
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="api://${IDS.api}/tools.execute", resource_metadata="${metadataUrl}", error_description="calling calculate_sum needs the scope tools.execute; the token lacks tools.execute"`,
    );
    const listing = await mcpPost(f.mcpUrl, list, token);
    expect(listing.status).toBe(200);
  });

  it('answers tools/list without discover or tools.read with 403 naming discover', async () => {
    const response = await mcpPost(f.mcpUrl, list, await f.userToken('bob', ['tools.execute']));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain(`scope="api://${IDS.api}/discover"`);
  });

  it('admits carol (no role, no group) through SSO auto-assignment into the default team', async () => {
    const token = await f.userToken('carol');
    const who = (await mcpPost(f.mcpUrl, call('whoami'), token)).body.result.structuredContent;
    expect(who).toMatchObject({ objectId: IDS.carol, roles: ['user'] });
  });

  it('accepts the daemon app-only token, authorized by its app role', async () => {
    const token = await f.appToken();
    const who = (await mcpPost(f.mcpUrl, call('whoami'), token)).body.result.structuredContent;
    expect(who).toMatchObject({ authKind: 'entra-app', objectId: IDS.daemonSp, roles: ['user'] });
    const denied = await mcpPost(f.mcpUrl, call('get_server_info'), token);
    expect(denied.body.error.data.code).toBe('GH_POLICY_ROLE_REQUIRED');
  });

  it('serves /me with identity, tenant, roles, scopes, token kind and expiry', async () => {
    const token = await f.userToken('bob');
    const response = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } });
    const me = (await response.json()) as any;
    expect(me).toMatchObject({
      user: { objectId: IDS.bob, tenantId: IDS.tenant, name: 'Bob User' },
      tenantId: IDS.tenant,
      tokenKind: 'entra-user',
      clientAppId: IDS.vscode,
      roles: ['user'],
      scopes: ['discover', 'tools.execute'],
    });
    expect(Date.parse(me.expiresAt)).toBeGreaterThan(Date.now());
    const anonymous = await fetch(`${base}/me`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('resource_metadata=');
  });

  it('accepts the path token as the configured service identity, and refuses a wrong one with 403 "MCP forbidden"', async () => {
    const right = await mcpPost(`${base}/mcp/t-path-token-0123456789-abcdefghijklmnop/http`, call('whoami'));
    expect(right.status).toBe(200);
    expect(right.body.result.structuredContent).toMatchObject({ authKind: 'service-token', roles: ['user'] });
    for (const wrong of [
      'path-token-0123456789-abcdefghijklmnoX',
      'x',
      'path-token-0123456789-abcdefghijklmnop-and-more',
    ]) {
      const response = await mcpPost(`${base}/mcp/t-${wrong}/http`, call('whoami'));
      expect(response.status).toBe(403);
      expect(response.body.error.message).toBe('MCP forbidden');
    }
  });

  it('accepts a Gatehouse-signed access token bound to the MCP resource, and refuses one for another resource', async () => {
    const key = f.gatehouse.keyring.current();
    const mint = (aud: string, typ = 'at+jwt') =>
      new SignJWT({
        tid: IDS.tenant,
        oid: IDS.alice,
        scope: 'discover tools.execute',
        client_id: 'some-mcp-client',
        roles: ['admin'],
      })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ })
        .setIssuer(base)
        .setAudience(aud)
        .setSubject('user')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key.privateKey);
    const good = await mcpPost(f.mcpUrl, call('whoami'), await mint(`${base}/mcp`));
    expect(good.body.result.structuredContent).toMatchObject({ authKind: 'gatehouse', objectId: IDS.alice });
    const other = await mcpPost(f.mcpUrl, call('whoami'), await mint('https://other.example/mcp'));
    expect(other.status).toBe(401);
    expect(other.headers.get('www-authenticate')).toContain(
      `token audience 'https://other.example/mcp' is not this server (expected ${base}/mcp)`,
    );
    const idToken = await mcpPost(f.mcpUrl, call('whoami'), await mint(`${base}/mcp`, 'JWT'));
    expect(idToken.status).toBe(401);
    expect(idToken.headers.get('www-authenticate')).toContain('typ must be at+jwt');
  });

  it('audits authentication failures and tool decisions', async () => {
    f.audit.clear();
    await mcpPost(f.mcpUrl, list, 'garbage');
    await mcpPost(f.mcpUrl, call('get_server_info'), await f.userToken('bob'));
    expect(f.audit.events).toContainEqual(
      expect.objectContaining({ type: 'auth.failure', code: 'GH_AUTH_INVALID_TOKEN' }),
    );
    expect(f.audit.events).toContainEqual(
      expect.objectContaining({
        type: 'tool.decision',
        tool: 'get_server_info',
        outcome: 'deny',
        reason: 'role',
        missing: ['admin'],
      }),
    );
  });
});

describe('without SSO auto-assignment', () => {
  it('denies carol (no membership, no Entra role) with a message that says how to fix it', async () => {
    const f = await startAuthFixture({ GATEHOUSE_SSO_AUTO_ASSIGN: 'false' });
    try {
      const response = await mcpPost(f.mcpUrl, list, await f.userToken('carol'));
      expect(response.status).toBe(403);
      expect(response.body.error.data.code).toBe('GH_POLICY_NO_MEMBERSHIP');
      expect(response.body.error.message).toContain(
        'belongs to no Gatehouse organization or team and has no role from Entra ID',
      );
      expect(response.body.error.message).toContain('GATEHOUSE_SSO_AUTO_ASSIGN');
      // bob holds an Entra app role, which admits him without a membership.
      expect((await mcpPost(f.mcpUrl, list, await f.userToken('bob'))).status).toBe(200);
    } finally {
      await f.close();
    }
  });
});
