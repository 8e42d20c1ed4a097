import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import { freePort, type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

/** mcp-remote, fetched by npx from the npm registry on the first run and cached after. */
const MCP_REMOTE = 'mcp-remote@0.15.1';
const BROWSER = fileURLToPath(new URL('./fixtures/submit-forms-browser.mjs', import.meta.url));
/** Longest wait for one answer (the first one includes npx fetching mcp-remote, and the sign-in). */
const ANSWER_DEADLINE_MS = 150_000;

interface JsonRpcAnswer {
  jsonrpc: '2.0';
  id: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/**
 * mcp-remote in bridge mode: an MCP client speaks JSON-RPC on its stdin and stdout, and it speaks
 * Streamable HTTP to Gatehouse, signing in through OAuth first (it opens the authorize URL with
 * $BROWSER, then waits for the code on its loopback callback port). Its stdin stays open until
 * close(): mcp-remote exits as soon as stdin ends.
 */
class McpRemoteBridge {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers = new Map<number, JsonRpcAnswer>();
  private readonly waiting = new Map<number, () => void>();
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  stderr = '';

  constructor(
    mcpUrl: string,
    callbackPort: number,
    /** Where the browser script writes the pages it saw (SUBMIT_FORMS_LOG). */
    private readonly browserLog: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(
      'npx',
      [
        '-y',
        MCP_REMOTE,
        mcpUrl,
        String(callbackPort),
        '--host',
        '127.0.0.1',
        '--allow-http',
        '--transport',
        'http-only',
      ],
      { env: { ...process.env, ...env, SUBMIT_FORMS_LOG: browserLog }, detached: true },
    );
    let partial = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim().startsWith('{')) continue;
        const message = JSON.parse(line) as JsonRpcAnswer;
        if (typeof message.id !== 'number') continue;
        this.answers.set(message.id, message);
        this.waiting.get(message.id)?.();
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        this.exitCode = code;
        for (const wake of this.waiting.values()) wake();
        resolve(code);
      }),
    );
  }

  notify(method: string, params: Record<string, unknown> = {}): void {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  }

  /** Sends a request and resolves with its answer; rejects if mcp-remote exits or hangs first. */
  async request(id: number, method: string, params: Record<string, unknown> = {}): Promise<JsonRpcAnswer> {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    let deadline: NodeJS.Timeout | undefined;
    let probe: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      if (this.answers.has(id) || this.exitCode !== undefined) return resolve();
      this.waiting.set(id, resolve);
      deadline = setTimeout(resolve, ANSWER_DEADLINE_MS);
      // A browser that gave up means no code will ever come: stop waiting at once.
      probe = setInterval(() => {
        if (this.browserError() !== undefined) resolve();
      }, 250);
    });
    clearTimeout(deadline);
    clearInterval(probe);
    const answer = this.answers.get(id);
    if (answer === undefined) {
      const why = this.exitCode === undefined ? 'gave no answer' : `exited (${this.exitCode})`;
      const browser = this.browserError();
      throw new Error(
        `mcp-remote ${why} to ${method}${browser ? `; the browser script failed: ${browser}` : ''}; its log:\n${this.stderr.slice(-4000)}`,
      );
    }
    return answer;
  }

  private browserError(): string | undefined {
    return pagesSeen(this.browserLog).find((page) => page.kind === 'error')?.message;
  }

  /** Closes stdin, on which mcp-remote shuts down; stops it if it does not. */
  async close(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.stdin.end();
    const stop = setTimeout(() => {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGTERM');
    }, 5_000);
    await this.exited;
    clearTimeout(stop);
  }
}

interface PageSeen {
  kind: 'redirect' | 'consent' | 'sign-in' | 'callback' | 'error';
  url?: string;
  status?: number;
  message?: string;
}

/** What the browser script recorded, one JSON line per page (see fixtures/submit-forms-browser.mjs). */
function pagesSeen(log: string): PageSeen[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as PageSeen);
}

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
