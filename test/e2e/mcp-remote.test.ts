import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import { BROWSER, type JsonRpcAnswer, McpRemoteBridge, pagesSeen } from '../helpers/mcp-remote-bridge.js';
import { freePort, type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

// A second real MCP client: mcp-remote (a stdio-to-HTTP bridge many MCP hosts use) discovers
// Gatehouse's authorization server, registers itself, and signs in with the authorization code flow;
// the "browser" is a script that submits the consent form and the emulator's sign-in form over HTTP.
describe('mcp-remote signs in through Gatehouse headlessly and calls tools', () => {
  let f: OAuthFixture;
  let work: string;
  let configDir: string;
  const bridges: McpRemoteBridge[] = [];
  beforeAll(async () => {
    f = await startOAuthFixture();
    work = mkdtempSync(path.join(tmpdir(), 'gatehouse-mcp-remote-'));
    configDir = path.join(work, 'mcp-remote-config');
  });
  afterEach(async () => {
    await Promise.all(bridges.splice(0).map((bridge) => bridge.close()));
  });
  afterAll(async () => {
    await f?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function bridge(browserLog: string): Promise<McpRemoteBridge> {
    const started = new McpRemoteBridge(f.mcpUrl, await freePort(), browserLog, {
      BROWSER,
      MCP_REMOTE_CONFIG_DIR: configDir,
      SIGN_IN_USER: 'alice',
    });
    bridges.push(started);
    return started;
  }

  async function initialize(remote: McpRemoteBridge): Promise<JsonRpcAnswer> {
    const answer = await remote.request(1, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'gatehouse-e2e', version: '1.0.0' },
    });
    remote.notify('notifications/initialized');
    return answer;
  }

  it('signs alice in through the consent page and Entra, then lists tools and calls whoami and calculate_sum', async () => {
    const browserLog = path.join(work, 'browser-first.jsonl');
    const remote = await bridge(browserLog);

    const init = await initialize(remote);
    expect(init.error).toBeUndefined();
    expect(init.result?.serverInfo).toMatchObject({ name: 'gatehouse' });

    // The sign-in went through Gatehouse's consent page, then the emulator's sign-in page, and
    // ended on mcp-remote's loopback callback with a code and Gatehouse as issuer (RFC 9207).
    const pages = pagesSeen(browserLog);
    expect(pages.find((page) => page.kind === 'consent')?.url).toMatch(
      new RegExp(`^${f.config.server.baseUrl}/interaction/`),
    );
    expect(pages.find((page) => page.kind === 'sign-in')?.url).toContain(
      `${f.entra.url}/${f.entra.tenantId}/oauth2/v2.0/authorize`,
    );
    const callback = new URL(pages.find((page) => page.kind === 'callback')?.url ?? 'about:blank');
    expect(callback.hostname).toBe('127.0.0.1');
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('iss')).toBe(f.config.server.baseUrl);

    const tools = await remote.request(2, 'tools/list');
    const listed = (tools.result?.tools ?? []) as Array<{ name: string }>;
    expect(listed.map((tool) => tool.name)).toEqual(expect.arrayContaining(['whoami', 'calculate_sum']));

    const who = await remote.request(3, 'tools/call', { name: 'whoami', arguments: {} });
    expect(who.error).toBeUndefined();
    expect(who.result?.isError).toBeFalsy();
    expect(who.result?.structuredContent).toMatchObject({
      objectId: IDS.alice,
      tenantId: IDS.tenant,
      name: 'Alice Admin',
      authKind: 'gatehouse',
    });

    const sum = await remote.request(4, 'tools/call', {
      name: 'calculate_sum',
      arguments: { numbers: [1, 2, 3] },
    });
    expect(sum.error).toBeUndefined();
    expect(sum.result?.structuredContent).toEqual({ sum: 6 });

    // mcp-remote kept the registration and the tokens in its configuration directory.
    expect(readdirSync(configDir, { recursive: true }).map(String).join('\n')).toMatch(/tokens\.json/);
  }, 240_000);

  it('reuses the tokens it keeps: a second run calls whoami without opening the browser', async () => {
    const browserLog = path.join(work, 'browser-second.jsonl');
    const remote = await bridge(browserLog);
    const init = await initialize(remote);
    expect(init.error).toBeUndefined();
    const who = await remote.request(2, 'tools/call', { name: 'whoami', arguments: {} });
    expect(who.result?.structuredContent).toMatchObject({ objectId: IDS.alice, authKind: 'gatehouse' });
    expect(pagesSeen(browserLog)).toEqual([]);
  }, 240_000);
});
