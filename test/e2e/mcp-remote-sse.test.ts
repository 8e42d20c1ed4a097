import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import { BROWSER, McpRemoteBridge, pagesSeen } from '../helpers/mcp-remote-bridge.js';
import { freePort, type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

// mcp-remote in `--transport sse-only` mode: the legacy HTTP+SSE transport (MCP 2024-11-05) as an
// old client speaks it, signing in through Gatehouse's authorization server first (consent page,
// emulator sign-in, over HTTP by the $BROWSER script), then listing and calling tools over /sse.
describe('mcp-remote (sse-only) signs in and uses the legacy transport', () => {
  let f: OAuthFixture;
  let work: string;
  const bridges: McpRemoteBridge[] = [];
  beforeAll(async () => {
    f = await startOAuthFixture();
    work = mkdtempSync(path.join(tmpdir(), 'gatehouse-mcp-remote-sse-'));
  });
  afterEach(async () => {
    await Promise.all(bridges.splice(0).map((bridge) => bridge.close()));
  });
  afterAll(async () => {
    await f?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('signs alice in, lists tools, calls whoami and calculate_sum over /sse', async () => {
    const browserLog = path.join(work, 'browser.jsonl');
    const remote = new McpRemoteBridge(
      `${f.config.server.baseUrl}/sse`,
      await freePort(),
      browserLog,
      { BROWSER, MCP_REMOTE_CONFIG_DIR: path.join(work, 'config'), SIGN_IN_USER: 'alice' },
      'sse-only',
    );
    bridges.push(remote);

    const init = await remote.request(1, 'initialize', {
      protocolVersion: '2024-11-05',
      capabilities: {},
      clientInfo: { name: 'gatehouse-e2e', version: '1.0.0' },
    });
    expect(init.error).toBeUndefined();
    expect(init.result).toMatchObject({ protocolVersion: '2024-11-05', serverInfo: { name: 'gatehouse' } });
    remote.notify('notifications/initialized');

    const pages = pagesSeen(browserLog);
    expect(pages.find((page) => page.kind === 'consent')?.url).toMatch(
      new RegExp(`^${f.config.server.baseUrl}/interaction/`),
    );
    expect(
      new URL(pages.find((page) => page.kind === 'callback')?.url ?? 'about:blank').searchParams.get('iss'),
    ).toBe(f.config.server.baseUrl);

    const tools = await remote.request(2, 'tools/list');
    const listed = (tools.result?.tools ?? []) as Array<{ name: string }>;
    expect(listed.map((tool) => tool.name)).toEqual(expect.arrayContaining(['whoami', 'calculate_sum']));

    const who = await remote.request(3, 'tools/call', { name: 'whoami', arguments: {} });
    expect(who.error).toBeUndefined();
    expect(who.result?.structuredContent).toMatchObject({
      objectId: IDS.alice,
      tenantId: IDS.tenant,
      authKind: 'gatehouse',
    });

    const sum = await remote.request(4, 'tools/call', {
      name: 'calculate_sum',
      arguments: { numbers: [2, 3, 4] },
    });
    expect(sum.error).toBeUndefined();
    expect(sum.result?.structuredContent).toEqual({ sum: 9 });
    // It spoke the legacy transport, and asked for a token bound to /sse (RFC 8707).
    expect(remote.stderr).toContain('Connected to remote server using SSEClientTransport');
    expect(remote.stderr).toContain(`resource=${encodeURIComponent(`${f.config.server.baseUrl}/sse`)}`);
  }, 240_000);
});
