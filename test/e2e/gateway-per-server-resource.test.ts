import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_JSON_HEADERS } from '../helpers/auth-fixture.js';
import { BACKENDS, startTestUpstream, type TestUpstream } from '../helpers/gateway-fixture.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import { HttpBrowser, redeemCode, signInToCode } from '../helpers/oauth-http-flow.js';
import { createTestDatabase } from '../helpers/services.js';

// /mcp/{server} is a protected resource of its own (RFC 9728, RFC 8707, MCP authorization "Token
// Audience Binding and Validation"): its own metadata and challenge; tokens bound to it are
// accepted there and nowhere else; a token for /mcp (the whole gateway) is accepted there too.
describe.each(BACKENDS)('/mcp/{server} as a protected resource (%s)', (backend) => {
  let f: OAuthFixture;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let upstream: TestUpstream;
  let configDir: string;
  let base: string;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    configDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-per-server-'));
    const configFile = path.join(configDir, 'gatehouse.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        mcpServers: { one: { url: upstream.url, title: 'Server One' }, two: { url: upstream.url } },
      }),
    );
    database = backend === 'postgres' ? await createTestDatabase() : undefined;
    f = await startOAuthFixture({
      GATEHOUSE_CONFIG_FILE: configFile,
      ...(database ? { DATABASE_URL: database.url } : {}),
    });
    expect(f.gatehouse.stores.durable.backend).toBe(backend);
    base = f.config.server.baseUrl;
  }, 60_000);
  afterAll(async () => {
    await f?.close();
    await upstream?.close();
    await database?.drop();
    rmSync(configDir, { recursive: true, force: true });
  });

  async function tokenFor(resource: string): Promise<string> {
    const browser = new HttpBrowser(base);
    const steps = await signInToCode(browser, { resource, user: 'bob' });
    const redeemed = await redeemCode(base, steps, { resource });
    expect(redeemed.status).toBe(200);
    return String(redeemed.json?.access_token);
  }

  function echo(at: string, token?: string) {
    return fetch(`${base}${at}`, {
      method: 'POST',
      headers: { ...MCP_JSON_HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: at === '/mcp' ? 'one__echo' : 'echo', arguments: { message: 'hi' } },
      }),
    });
  }

  it('challenges with its own resource metadata, which names it', async () => {
    const response = await echo('/mcp/one');
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp/one"`);
    const metadata = (await (
      await fetch(`${base}/.well-known/oauth-protected-resource/mcp/one`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      resource: `${base}/mcp/one`,
      authorization_servers: [base],
      resource_name: 'Server One (through Gatehouse)',
    });
    expect((await fetch(`${base}/.well-known/oauth-protected-resource/mcp/nothing`)).status).toBe(404);
  });

  it('a token bound to /mcp/one works there, and neither at /mcp nor at /mcp/two', async () => {
    const token = await tokenFor(`${base}/mcp/one`);
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { aud: unknown };
    expect(payload.aud).toBe(`${base}/mcp/one`);

    const there = await echo('/mcp/one', token);
    expect(there.status).toBe(200);
    expect(((await there.json()) as any).result.content[0].text).toBe('echo: hi');
    for (const elsewhere of ['/mcp', '/mcp/two']) {
      const refused = await echo(elsewhere, token);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
    }
    // The verified token is cached for /mcp/one only: /mcp still refuses it afterwards.
    expect((await echo('/mcp/one', token)).status).toBe(200);
    expect((await echo('/mcp', token)).status).toBe(401);
  });

  it('a token for /mcp (the whole gateway) is accepted at /mcp/{server} too', async () => {
    const token = await tokenFor(`${base}/mcp`);
    expect((await echo('/mcp/one', token)).status).toBe(200);
    expect((await echo('/mcp', token)).status).toBe(200);
  });

  it('the authorization server refuses a resource that names no server', async () => {
    const browser = new HttpBrowser(base);
    await expect(signInToCode(browser, { resource: `${base}/mcp/nothing`, user: 'bob' })).rejects.toThrow(
      /invalid_target|did not start an interaction/,
    );
  });

  it('an unknown server is a 404 naming it', async () => {
    const token = await tokenFor(`${base}/mcp`);
    const response = await echo('/mcp/nothing', token);
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error).toMatchObject({
      data: { code: 'GH_GATEWAY_SERVER_NOT_FOUND' },
    });
  });
});
