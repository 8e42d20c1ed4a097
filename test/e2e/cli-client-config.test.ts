import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const bin = path.join(root, 'dist/src/cli/main.js');
const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-client-config-'));

function clientConfig(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, 'client-config', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GATEHOUSE_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** Each case starts the CLI a few times; on a busy machine one start can take seconds. */
const CASE_MS = 180_000;

describe('gatehouse client-config', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it(
    'prints each IDE its own configuration shape, with the MCP URL of this server, on standard output',
    () => {
      const url = 'http://127.0.0.1:8000/mcp';
      const shapes: Record<string, unknown> = {
        vscode: { servers: { gatehouse: { type: 'http', url } } },
        cursor: { mcpServers: { gatehouse: { url } } },
        windsurf: { mcpServers: { gatehouse: { serverUrl: url } } },
        'mcp-remote': { mcpServers: { gatehouse: { command: 'npx', args: ['-y', 'mcp-remote', url] } } },
      };
      for (const [client, expected] of Object.entries(shapes)) {
        const run = clientConfig([client]);
        expect(run.status, run.stderr).toBe(0);
        // Standard output is the snippet alone, so it can be redirected into the file.
        expect(JSON.parse(run.stdout), client).toEqual(expected);
        expect(run.stderr).toMatch(/Put in /);
      }
      const claude = clientConfig(['claude']);
      expect(claude.stdout.trim()).toBe(`claude mcp add --transport http gatehouse ${url}`);
      const inspector = clientConfig(['inspector']);
      expect(inspector.stdout.trim()).toBe(
        `npx @modelcontextprotocol/inspector --cli ${url} --transport http --method tools/list`,
      );
    },
    CASE_MS,
  );

  it(
    'uses the public URL, and points at one upstream server with --server',
    () => {
      const run = clientConfig(['cursor', '--server', 'github'], {
        MCP_SERVER_BASE_URL: 'https://mcp.contoso.com',
      });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        mcpServers: { github: { url: 'https://mcp.contoso.com/mcp/github' } },
      });
      const named = clientConfig(['claude', '--name', 'work'], {
        MCP_SERVER_BASE_URL: 'https://mcp.contoso.com',
      });
      expect(named.stdout.trim()).toBe('claude mcp add --transport http work https://mcp.contoso.com/mcp');
    },
    CASE_MS,
  );

  it(
    'refuses an unknown client, a missing one and a bad name with exit 2 and the list of clients',
    () => {
      for (const args of [
        ['emacs'],
        [],
        ['vscode', '--name', 'a b'],
        ['vscode', 'cursor'],
        ['vscode', '--json'],
      ]) {
        const run = clientConfig(args);
        expect(run.status, args.join(' ')).toBe(2);
        expect(run.stdout).toBe('');
        expect(run.stderr).toContain('claude, vscode, cursor, windsurf, inspector, mcp-remote');
      }
    },
    CASE_MS,
  );

  it(
    'explains a bad variable instead of printing a wrong URL',
    () => {
      const run = clientConfig(['vscode'], { MCP_SERVER_BASE_URL: 'not a url' });
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('MCP_SERVER_BASE_URL');
    },
    CASE_MS,
  );
});
