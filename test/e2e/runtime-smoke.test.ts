import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBrowser, signInForTokens } from '../helpers/oauth-http-flow.js';
import { freePort } from '../helpers/ports.js';

/**
 * Gatehouse from the built tree on the Node.js running this file, as a new user starts it: `gatehouse
 * serve` with nothing configured (default SQLite in a fresh data directory, the built-in Entra ID
 * emulator), then a real MCP client signs in through Gatehouse's OAuth flow and uses the notes.
 * npm test runs it on this machine's Node.js with the whole suite, and again under Node 22 and 24
 * (scripts/runtime-check.sh), where `process.execPath` is that runtime.
 */

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const bin = path.join(root, 'dist/src/cli/main.js');
const node = `Node.js ${process.versions.node}`;
const major = Number(process.versions.node.split('.')[0]);
const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-runtime-'));

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...extra };
}

/**
 * A warning about the runtime: a library's "unsupported runtime", or one of Node's own process
 * warnings (`(node:1234) ExperimentalWarning: …`, DeprecationWarning, …).
 */
const RUNTIME_WARNING = /unsupported runtime|^\(node:\d+\) \w*Warning:/im;

/**
 * The runtime warnings in a program's output that no `Gatehouse:` line explains. Node's warning
 * line is followed by its "(Use `node --trace-warnings …`)" hint; the explanation comes next.
 */
function unexplainedWarnings(output: string): string[] {
  const lines = output.split('\n');
  return lines.filter((line, index) => {
    if (!RUNTIME_WARNING.test(line) || line.startsWith('Gatehouse:')) return false;
    const next = lines.slice(index + 1).find((candidate) => !candidate.startsWith('(Use `node --trace-'));
    return !next?.startsWith('Gatehouse: ');
  });
}

/** The runtime warning Gatehouse's libraries print on this Node.js, and Gatehouse's line about it. */
const EXPECTED_WARNING: Record<number, { warning: string; explanation: RegExp } | undefined> = {
  20: {
    warning: 'oidc-provider WARNING: Unsupported runtime',
    explanation: /^Gatehouse: the oidc-provider warning above .*its full test suite passes on Node\.js 20/m,
  },
  22: {
    warning: 'ExperimentalWarning: SQLite is an experimental feature',
    explanation: /^Gatehouse: the ExperimentalWarning above is Node\.js 22 marking its built-in SQLite/m,
  },
  24: undefined,
};

interface Running {
  child: ChildProcess;
  /** stdout and stderr as they arrived, for failure messages. */
  output: () => string;
  /** stderr alone: where Node and the libraries write their warnings, and Gatehouse its lines. */
  stderr: () => string;
  mcpUrl: string;
  baseUrl: string;
}

function serve(extra: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: env(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gatehouse did not get ready on ${node} within 60 s:\n${output}`));
    }, 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stderr += chunk.toString();
      const match = /MCP endpoint\s+(\S+)/.exec(stderr);
      if (match && stderr.includes('Gatehouse is ready')) {
        clearTimeout(timer);
        const mcpUrl = match[1]!;
        resolve({
          child,
          output: () => output,
          stderr: () => stderr,
          mcpUrl,
          baseUrl: new URL(mcpUrl).origin,
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gatehouse exited with ${code} on ${node} before it was ready:\n${output}`));
    });
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

beforeAll(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first (npm test does).`);
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe(`Gatehouse on ${node}`, () => {
  let running: Running | undefined;

  afterAll(async () => {
    if (running !== undefined) await stop(running.child);
  });

  it('starts from the built tree on default SQLite with the built-in emulator', async () => {
    running = await serve({
      GATEHOUSE_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      DEV_ENTRA_PORT: String(await freePort()),
    });
    expect(running.output()).toContain('Storage: sqlite');
    expect(running.output()).toContain('The built-in Entra ID emulator');
    expect(existsSync(path.join(dataDir, 'gatehouse.db'))).toBe(true);
  });

  it('signs alice in through the emulator; a real MCP client lists the tools and round-trips a note', async () => {
    if (running === undefined) throw new Error('Gatehouse did not start');
    const { tokens } = await signInForTokens(new HttpBrowser(running.baseUrl), { user: 'alice' });
    const client = new Client({ name: 'gatehouse-runtime-smoke', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(running.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${tokens.access_token}` } },
      }),
    );
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['whoami', 'save_user_note', 'get_user_notes']));

      const text = `saved on ${node}`;
      const saved = await client.callTool({ name: 'save_user_note', arguments: { note: text } });
      expect(saved.isError).toBeFalsy();
      const id = (saved.structuredContent as { id: string }).id;
      const notes = await client.callTool({ name: 'get_user_notes', arguments: {} });
      expect((notes.structuredContent as { notes: { id: string; note: string }[] }).notes).toContainEqual(
        expect.objectContaining({ id, note: text }),
      );
    } finally {
      await client.close();
    }
  });

  it('explains every runtime warning it or its libraries print, and stops cleanly', async () => {
    if (running === undefined) throw new Error('Gatehouse did not start');
    const { child, stderr } = running;
    running = undefined;
    expect(await stop(child)).toBe(0);
    const expected = EXPECTED_WARNING[major];
    if (expected !== undefined) {
      expect(stderr()).toContain(expected.warning);
      expect(stderr()).toMatch(expected.explanation);
    } else {
      expect(stderr()).not.toMatch(RUNTIME_WARNING);
    }
    expect(unexplainedWarnings(stderr())).toEqual([]);
  });

  it('prints no unexplained warning for --help either', () => {
    const help = spawnSync(process.execPath, [bin, '--help'], { env: env({}), encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(unexplainedWarnings(help.stderr)).toEqual([]);
  });
});
