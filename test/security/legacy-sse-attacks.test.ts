import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import {
  type AuthFixture,
  emulatorBackedConfig,
  IDS,
  mcpPost,
  startAuthFixture,
  vscodeToken,
} from '../helpers/auth-fixture.js';
import { bearer, LegacySseStream, postMessage } from '../helpers/legacy-sse.js';

// The legacy HTTP+SSE transport (MCP 2024-11-05 "Transports", HTTP with SSE) under attack: it must
// authenticate both routes like /mcp (MCP authorization, RFC 6750 §3, RFC 9728 §5.1), bind a
// session to the user who opened it (MCP security best practices, "Session Hijacking"), check
// Origin (2024-11-05 transports, "Security Warning"), and apply the same policy as /mcp.
const call = (id: number | string, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});
const ping = (id: number | string) => ({ jsonrpc: '2.0', id, method: 'ping' });
const scopes = (names: string[]) => `scope="${names.map((name) => `api://${IDS.api}/${name}`).join(' ')}"`;

describe('legacy HTTP+SSE transport: attacks', () => {
  let f: AuthFixture;
  let base: string;
  let alice: string;
  let bob: string;
  const open: LegacySseStream[] = [];
  beforeAll(async () => {
    f = await startAuthFixture();
    base = f.gatehouse.url;
    [alice, bob] = await Promise.all([f.userToken('alice'), f.userToken('bob')]);
  });
  afterAll(async () => {
    for (const stream of open) stream.close();
    await f.close();
  });

  async function stream(
    token: string | undefined,
    url = `${base}/sse`,
    headers: Record<string, string> = {},
  ) {
    const opened = await LegacySseStream.open(url, { ...(token ? bearer(token) : {}), ...headers });
    open.push(opened);
    return opened;
  }

  it('answers GET /sse and POST /messages without a token with 401 and the RFC 9728 challenge', async () => {
    const challenge = `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/sse", ${scopes(['discover', 'tools.execute'])}`;
    const get = await stream(undefined);
    expect(get.response.status).toBe(401);
    expect(get.response.headers.get('www-authenticate')).toBe(challenge);
    expect(await get.response.json()).toMatchObject({ error: { data: { code: 'GH_AUTH_MISSING_TOKEN' } } });

    const opened = await stream(alice);
    const endpoint = await opened.endpoint();
    const post = await postMessage(endpoint, ping(1));
    expect(post.status).toBe(401);
    expect(post.headers.get('www-authenticate')).toBe(challenge);
    expect(post.json?.error.data.code).toBe('GH_AUTH_MISSING_TOKEN');

    // /mcp/sse lies under /mcp, so its challenge names /mcp's metadata.
    const underMcp = await stream(undefined, `${base}/mcp/sse`);
    expect(underMcp.response.status).toBe(401);
    expect(underMcp.response.headers.get('www-authenticate')).toContain(
      `resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
    );
    const bad = await stream('not.a.token');
    expect(bad.response.status).toBe(401);
    expect(bad.response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('publishes /sse as a protected resource of its own (clients check the URL lies under it)', async () => {
    const response = await fetch(`${base}/.well-known/oauth-protected-resource/sse`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      resource: `${base}/sse`,
      authorization_servers: [`${f.entra.url}/${f.entra.tenantId}/v2.0`],
      bearer_methods_supported: ['header'],
    });
  });

  it("refuses bob on alice's session exactly as an unknown session, and nothing of his reaches her stream", async () => {
    const hers = await stream(alice);
    const endpoint = await hers.endpoint();
    const hijack = await postMessage(
      endpoint,
      call('bob-1', 'save_user_note', { note: 'from bob' }),
      bearer(bob),
    );
    expect(hijack.status).toBe(404);
    expect(hijack.json?.error.data.code).toBe('GH_MCP_SSE_SESSION_NOT_FOUND');

    const unknown = new URL(endpoint);
    unknown.searchParams.set('sessionId', crypto.randomUUID());
    const missing = await postMessage(unknown.toString(), ping(1), bearer(bob));
    expect(missing.status).toBe(404);
    expect(missing.text).toBe(hijack.text);

    expect((await postMessage(endpoint, ping('alice-1'), bearer(alice))).status).toBe(202);
    expect(await hers.message()).toEqual({ jsonrpc: '2.0', id: 'alice-1', result: {} });
    const notes = await mcpPost(f.mcpUrl, call(1, 'get_user_notes'), alice);
    expect(JSON.stringify(notes.body)).not.toContain('from bob');
  });

  it('answers an unknown or missing sessionId with 404 / 400', async () => {
    const unknown = await postMessage(
      `${base}/messages?sessionId=${crypto.randomUUID()}`,
      ping(1),
      bearer(alice),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.json?.error).toMatchObject({
      code: -32001,
      data: { code: 'GH_MCP_SSE_SESSION_NOT_FOUND' },
    });
    const garbage = await postMessage(`${base}/messages?sessionId=../../etc`, ping(1), bearer(alice));
    expect(garbage.status).toBe(404);
    const none = await postMessage(`${base}/messages`, ping(1), bearer(alice));
    expect(none.status).toBe(400);
    expect(none.json?.error.data.code).toBe('GH_MCP_SSE_SESSION_REQUIRED');
  });

  it('refuses a foreign Origin with 403 and a foreign Host on the loopback bind with 421 (DNS rebinding)', async () => {
    const evil = { origin: 'https://evil.example' };
    const get = await stream(alice, `${base}/sse`, evil);
    expect(get.response.status).toBe(403);
    expect(await get.response.json()).toMatchObject({ error: { data: { code: 'GH_MCP_ORIGIN_FORBIDDEN' } } });

    const opened = await stream(alice);
    const endpoint = await opened.endpoint();
    const post = await postMessage(endpoint, ping(1), { ...bearer(alice), ...evil });
    expect(post.status).toBe(403);
    expect(post.json?.error.data.code).toBe('GH_MCP_ORIGIN_FORBIDDEN');

    // A rebound name reaches the loopback bind with its own Host and no Origin (fetch cannot set Host).
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpGet(
        `${base}/sse`,
        { headers: { host: 'evil.example', accept: 'text/event-stream', ...bearer(alice) } },
        (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
    });
    // Refused by the front door before the transport (src/http/front-door.ts): 421, another host.
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body).error.data.code).toBe('GH_HTTP_MISDIRECTED');
  });

  it('refuses a tool the policy refuses exactly as /mcp does, and audits the decision', async () => {
    const opened = await stream(bob);
    const endpoint = await opened.endpoint();
    expect((await postMessage(endpoint, call(7, 'get_server_info'), bearer(bob))).status).toBe(202);
    const overSse = await opened.message();
    const overMcp = await mcpPost(f.mcpUrl, call(7, 'get_server_info'), bob);
    expect(overSse).toEqual(overMcp.body);
    expect(overSse.error).toMatchObject({ code: -32003, data: { code: 'GH_POLICY_ROLE_REQUIRED' } });
    expect(f.audit.events).toContainEqual(
      expect.objectContaining({
        type: 'tool.decision',
        tool: 'get_server_info',
        outcome: 'deny',
        reason: 'role',
        tenantId: IDS.tenant,
      }),
    );

    // Only bob's own tool list, filtered by the same policy.
    expect(
      (await postMessage(endpoint, { jsonrpc: '2.0', id: 8, method: 'tools/list' }, bearer(bob))).status,
    ).toBe(202);
    const listed = (await opened.message()).result.tools.map((tool: { name: string }) => tool.name);
    const listedOverMcp = (await mcpPost(f.mcpUrl, { jsonrpc: '2.0', id: 8, method: 'tools/list' }, bob))
      .body;
    expect(listed).toEqual(listedOverMcp.result.tools.map((tool: { name: string }) => tool.name));
    expect(listed).not.toContain('get_server_info');
  });

  it('answers a call the token lacks the scope for with 403 insufficient_scope on the POST (step-up)', async () => {
    const readOnly = await f.userToken('bob', ['discover', 'tools.read']);
    const opened = await stream(readOnly);
    const endpoint = await opened.endpoint();
    const refused = await postMessage(endpoint, call(1, 'calculate_sum', { numbers: [1] }), bearer(readOnly));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", ${scopes(['tools.execute'])}, resource_metadata="${base}/.well-known/oauth-protected-resource/sse", error_description="calling calculate_sum needs the scope tools.execute; the token lacks tools.execute"`,
    );
  });

  it('takes only JSON bodies within HTTP_BODY_LIMIT and answers malformed JSON with -32700', async () => {
    const opened = await stream(alice);
    const endpoint = await opened.endpoint();
    const text = await postMessage(endpoint, 'ping', { ...bearer(alice), 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.json?.error.data.code).toBe('GH_MCP_UNSUPPORTED_MEDIA_TYPE');
    const malformed = await postMessage(endpoint, '{"jsonrpc": "2.0", "id": 1,', bearer(alice));
    expect(malformed.status).toBe(400);
    expect(malformed.json?.error).toMatchObject({ code: -32700, data: { code: 'GH_MCP_PARSE_ERROR' } });
    const huge = await postMessage(endpoint, { ...ping(1), padding: 'x'.repeat(1_100_000) }, bearer(alice));
    expect(huge.status).toBe(413);
    expect(huge.json?.error.data.code).toBe('GH_HTTP_BODY_TOO_LARGE');
    const invalid = await postMessage(endpoint, { jsonrpc: '1.0', id: 2, method: 'ping' }, bearer(alice));
    expect(invalid.status).toBe(400);
    expect(invalid.json?.error.data.code).toBe('GH_MCP_INVALID_REQUEST');
  });
});

describe('legacy HTTP+SSE transport: shutdown and several instances', () => {
  let entra: DevEntra;
  let dataDir: string;
  let alice: string;
  let bob: string;
  const running: RunningGatehouse[] = [];
  const open: LegacySseStream[] = [];
  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-sse-'));
    const scope = ['discover', 'tools.execute'].map((name) => `api://${IDS.api}/${name}`).join(' ');
    [alice, bob] = await Promise.all([vscodeToken(entra, 'alice', scope), vscodeToken(entra, 'bob', scope)]);
  });
  afterAll(async () => {
    for (const opened of open) opened.close();
    await Promise.all(running.map((gatehouse) => gatehouse.close()));
    await entra.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // A shutdown timeout far beyond the test's own: a stream left open would make close() outlast the test.
  async function start(env: Record<string, string> = {}): Promise<RunningGatehouse> {
    const config = await emulatorBackedConfig(entra, dataDir, { HTTP_SHUTDOWN_TIMEOUT: '600', ...env });
    const gatehouse = await startGatehouse(config, { logger: createLogger(config) });
    running.push(gatehouse);
    return gatehouse;
  }

  async function stream(url: string, token: string): Promise<LegacySseStream> {
    const opened = await LegacySseStream.open(url, bearer(token));
    open.push(opened);
    return opened;
  }

  it("limits one user's open streams (MCP_SSE_MAX_STREAMS_PER_USER) and drops a session when its stream closes", async () => {
    const gatehouse = await start({ MCP_SSE_MAX_STREAMS_PER_USER: '2' });
    const base = gatehouse.url;
    const first = await stream(`${base}/sse`, alice);
    const firstEndpoint = await first.endpoint();
    const second = await stream(`${base}/sse`, alice);
    await second.endpoint();
    const third = await stream(`${base}/sse`, alice);
    expect(third.response.status).toBe(429);
    expect(await third.response.json()).toMatchObject({
      error: { data: { code: 'GH_MCP_SSE_STREAM_LIMIT' } },
    });
    // Other users are not affected.
    const bobs = await stream(`${base}/sse`, bob);
    expect(bobs.response.status).toBe(200);

    first.close();
    // The server learns of the close asynchronously: the session is gone once a POST says so.
    let status = 202;
    while (status !== 404) status = (await postMessage(firstEndpoint, ping(1), bearer(alice))).status;
    const again = await stream(`${base}/sse`, alice);
    expect(again.response.status).toBe(200);
    expect(await again.endpoint()).toMatch(/\/messages\?sessionId=[0-9a-f-]{36}$/);
  });

  it('tells the owner of a stream held by another instance to use session affinity; others learn nothing', async () => {
    const [a, b] = [await start(), await start()];
    const opened = await LegacySseStream.open(`${a.url}/sse`, bearer(alice));
    const sessionId = new URL(await opened.endpoint()).searchParams.get('sessionId');
    try {
      const misrouted = await postMessage(`${b.url}/messages?sessionId=${sessionId}`, ping(1), bearer(alice));
      expect(misrouted.status).toBe(421);
      expect(misrouted.json?.error.data.code).toBe('GH_MCP_SSE_WRONG_INSTANCE');
      const foreign = await postMessage(`${b.url}/messages?sessionId=${sessionId}`, ping(1), bearer(bob));
      expect(foreign.status).toBe(404);
      expect(foreign.json?.error.data.code).toBe('GH_MCP_SSE_SESSION_NOT_FOUND');
    } finally {
      opened.close();
    }
  });

  it('ends every open stream on shutdown, so closing completes with streams open', async () => {
    const gatehouse = await start();
    const streams = await Promise.all([
      LegacySseStream.open(`${gatehouse.url}/sse`, bearer(alice)),
      LegacySseStream.open(`${gatehouse.url}/mcp/sse`, bearer(bob)),
    ]);
    for (const opened of streams) await opened.endpoint();
    await gatehouse.close();
    for (const opened of streams) expect(await opened.ended()).toBe(true);
  });
});
