import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthFixture, IDS, mcpPost, startAuthFixture, vscodeToken } from '../helpers/auth-fixture.js';
import { startTestUpstream, type TestUpstream } from '../helpers/gateway-fixture.js';
import { createTestDatabase } from '../helpers/services.js';

// The gateway's trust boundary, one test per attack. MCP security best practices, "Token
// Passthrough": a token issued for Gatehouse is never sent to an upstream; what an upstream learns
// about the caller is explicit per server. Stored credentials are write-only and encrypted at rest
// (DESIGN §4); the registry is changed only by administrators; names cannot shadow other tools.
describe.each(['sqlite', 'postgres'] as const)('gateway security (%s)', (backend) => {
  let f: AuthFixture;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let upstream: TestUpstream;
  let alice: string;
  let bob: string;
  const STORED_SECRET = 'upstream-api-key-5d1c0e7b';
  const scope = ['discover', 'tools.execute'].map((name) => `api://${IDS.api}/${name}`).join(' ');

  beforeAll(async () => {
    upstream = await startTestUpstream();
    database = backend === 'postgres' ? await createTestDatabase() : undefined;
    f = await startAuthFixture({
      GATEHOUSE_GATEWAY_SYNC_INTERVAL: '200',
      ...(database ? { DATABASE_URL: database.url } : {}),
    });
    expect(f.gatehouse.stores.durable.backend).toBe(backend);
    alice = await vscodeToken(f.entra, 'alice', scope);
    bob = await vscodeToken(f.entra, 'bob', scope);
  }, 60_000);
  afterAll(async () => {
    await f?.close();
    await upstream?.close();
    await database?.drop();
  });

  function api(method: string, route: string, token: string, body?: unknown) {
    return fetch(`${f.gatehouse.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async function call(token: string, name: string, args: Record<string, unknown> = {}) {
    return (
      await mcpPost(
        f.mcpUrl,
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } },
        token,
      )
    ).body;
  }

  describe('what an upstream receives', () => {
    beforeAll(async () => {
      const created = await api('POST', '/api/servers', alice, {
        name: 'recorder',
        url: upstream.url,
        headers: { 'X-Api-Key': STORED_SECRET },
        identity: 'assertion',
      });
      expect(created.status).toBe(201);
    });

    it("never the caller's token, whichever kind: only the stored header and Gatehouse's own assertion", async () => {
      const answer = await call(bob, 'recorder__echo', { message: 'hi' });
      expect(answer.result.content[0].text).toBe('echo: hi');
      const recorded = await upstream.recorded();
      expect(recorded.length).toBeGreaterThan(0);
      for (const request of recorded) {
        expect(JSON.stringify(request.headers)).not.toContain(bob);
        expect(JSON.stringify(request.headers)).not.toContain(alice);
        expect(request.headers.authorization).toBeUndefined();
        expect(request.headers['x-api-key']).toBe(STORED_SECRET);
      }
    });

    it('"identity": "assertion": a short-lived JWT of the caller, audience = that upstream, verifiable with Gatehouse\'s JWKS', async () => {
      const answer = await call(bob, 'recorder__whoami_headers');
      const { assertion } = JSON.parse(answer.result.content[0].text) as { assertion: string };
      const jwks = createRemoteJWKSet(new URL(`${f.gatehouse.url}/jwks`));
      const { payload, protectedHeader } = await jwtVerify(assertion, jwks, {
        issuer: f.gatehouse.url,
        audience: upstream.url,
      });
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload).toMatchObject({
        tid: IDS.tenant,
        oid: IDS.bob,
        roles: expect.arrayContaining(['user']),
      });
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(60);
      // An assertion for one upstream is refused by another (audience binding).
      await expect(jwtVerify(assertion, jwks, { audience: 'http://127.0.0.1:1/other' })).rejects.toThrow();
    });
  });

  describe('stored credentials', () => {
    it('are ciphertext in the database', async () => {
      const stored = await f.gatehouse.stores.durable.upstreamServers.find('recorder');
      expect(stored).toBeDefined();
      expect(JSON.stringify(stored)).not.toContain(STORED_SECRET);
      expect(stored?.sealedSecrets).toMatch(/^v1\./);
      expect(stored?.definition.headers).toEqual({ 'X-Api-Key': { set: true } });
    });

    it('are absent from every API answer and from list_servers', async () => {
      const answers = [
        await (await api('GET', '/api/servers', alice)).text(),
        await (await api('GET', '/api/servers/recorder', alice)).text(),
        await (await api('GET', '/api/servers/recorder/health', alice)).text(),
        await (await api('GET', '/api/servers/recorder/tools', alice)).text(),
        JSON.stringify(await call(alice, 'list_servers')),
        await (
          await api('PUT', '/api/servers/recorder', alice, {
            url: upstream.url,
            headers: { 'X-Api-Key': { set: true } },
            identity: 'assertion',
          })
        ).text(),
      ];
      for (const answer of answers) expect(answer).not.toContain(STORED_SECRET);
      expect(answers[1]).toContain('"X-Api-Key":{"set":true}');
      // The update that sent {"set": true} kept the stored value.
      await call(bob, 'recorder__echo', { message: 'again' });
      expect((await upstream.recorded()).at(-1)?.headers['x-api-key']).toBe(STORED_SECRET);
    });
  });

  describe('registry writes', () => {
    it('need the admin role, through the API and through the tools', async () => {
      const definition = { name: 'intruder', url: upstream.url };
      const viaApi = await api('POST', '/api/servers', bob, definition);
      expect(viaApi.status).toBe(403);
      expect(await viaApi.json()).toMatchObject({ error: 'GH_API_ROLE_REQUIRED' });
      expect((await api('PUT', '/api/servers/recorder', bob, { url: 'http://127.0.0.1:1/mcp' })).status).toBe(
        403,
      );
      expect((await api('DELETE', '/api/servers/recorder', bob)).status).toBe(403);
      const viaTool = await call(bob, 'register_server', {
        name: 'intruder',
        definition: { url: upstream.url },
      });
      expect(viaTool.error).toMatchObject({ code: -32003, data: { code: 'GH_POLICY_ROLE_REQUIRED' } });
      const deleteViaTool = await call(bob, 'delete_server', { name: 'recorder' });
      expect(deleteViaTool.error).toMatchObject({ data: { code: 'GH_POLICY_ROLE_REQUIRED' } });
      expect((await api('GET', '/api/servers/intruder', alice)).status).toBe(404);
      expect((await api('GET', '/api/servers/recorder', alice)).status).toBe(200);
      // Without a token at all: 401 with the challenge.
      const anonymous = await fetch(`${f.gatehouse.url}/api/servers`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('resource_metadata=');
    });

    it('are audited', () => {
      const changes = f.audit.events.filter((event) => event.type === 'gateway.registry');
      expect(changes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ action: 'create', server: 'recorder' }),
          expect.objectContaining({ action: 'update', server: 'recorder' }),
        ]),
      );
    });
  });

  describe('names', () => {
    it.each([
      ['a name with __ (it would shadow another server’s tools)', 'recorder__echo'],
      ['a built-in tool’s name', 'whoami'],
      ['a route of the MCP endpoint', 'http'],
      ['upper case', 'Recorder'],
    ])('refuses %s', async (_what, name) => {
      const response = await api('POST', '/api/servers', alice, { name, url: upstream.url });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('GH_GATEWAY_INVALID_SERVER');
      expect(body.message).toContain(name);
    });

    it('refuses a name already taken', async () => {
      const response = await api('POST', '/api/servers', alice, { name: 'recorder', url: upstream.url });
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ error: 'GH_GATEWAY_SERVER_EXISTS' });
    });
  });

  describe('registration input', () => {
    it.each([
      ['a bad URL', { url: 'not a url' }, /"url" 'not a url' is not a valid URL/],
      ['a URL of another scheme', { url: 'file:///etc/passwd' }, /must use http:\/\/ or https:\/\//],
      [
        'an unknown field',
        { url: 'https://mcp.example.com/mcp', autoStart: true },
        /unknown field "autoStart"/,
      ],
      ['a stdio server without command', { args: ['x'] }, /neither "command".*nor "url"/],
      ['a runtime stdio server', { command: 'sh', args: ['-c', 'id'] }, /GATEHOUSE_GATEWAY_RUNTIME_STDIO/],
    ])('refuses %s with a clear error and stores nothing', async (_what, definition, message) => {
      const response = await api('POST', '/api/servers', alice, { name: 'bad', ...definition });
      expect([400, 403]).toContain(response.status);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.message).toMatch(message);
      expect(await f.gatehouse.stores.durable.upstreamServers.find('bad')).toBeUndefined();
    });
  });
});
