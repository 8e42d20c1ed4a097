import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, vscodeToken } from '../helpers/auth-fixture.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

/**
 * MCP Inspector 2.x, whose CLI needs Node 22.19 or later: npx installs it with Node 22 from the
 * npm registry on the first run and puts both on PATH, so its `#!/usr/bin/env node` finds Node 22.
 */
const INSPECTOR = '@modelcontextprotocol/inspector@2.12.0';
/** The first run includes npx fetching Node 22 and the Inspector. */
const FIRST_RUN_MS = 240_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// A third real MCP client: MCP Inspector's CLI, given a bearer token as its users do with
// --header, lists Gatehouse's tools and calls them; without a token it reports that the server
// needs authorization.
describe('MCP Inspector CLI (2.x on Node 22) with a bearer token', () => {
  let f: OAuthFixture;
  let work: string;
  let token: string;

  beforeAll(async () => {
    f = await startOAuthFixture();
    work = mkdtempSync(path.join(tmpdir(), 'gatehouse-inspector-'));
    const scope = ['discover', 'tools.execute'].map((name) => `api://${IDS.api}/${name}`).join(' ');
    token = await vscodeToken(f.entra, 'alice', scope);
  });
  afterAll(async () => {
    await f?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function inspector(args: readonly string[]): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        'npx',
        ['-y', '-p', 'node@22', '-p', INSPECTOR, '--', 'mcp-inspector', '--cli', f.mcpUrl, ...args],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          // Its catalog and any stored sign-in stay in this test's directory.
          env: { ...process.env, HOME: work, MCP_CATALOG_PATH: path.join(work, 'mcp.json'), NO_COLOR: '1' },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const bearer = () => ['--header', `Authorization: Bearer ${token}`];
  const explain = (run: Run) => `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr.slice(-3000)}`;

  it(
    'lists the tools alice may use',
    async () => {
      const run = await inspector(['--transport', 'http', '--method', 'tools/list', ...bearer()]);
      expect(run.code, explain(run)).toBe(0);
      const listed = JSON.parse(run.stdout) as { tools: { name: string }[] };
      const names = listed.tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['whoami', 'calculate_sum', 'save_user_note']));
    },
    FIRST_RUN_MS,
  );

  it(
    'calls calculate_sum, and whoami, which names alice',
    async () => {
      const sum = await inspector([
        '--transport',
        'http',
        '--method',
        'tools/call',
        '--tool-name',
        'calculate_sum',
        '--tool-arg',
        'numbers=[2,3,4]',
        ...bearer(),
      ]);
      expect(sum.code, explain(sum)).toBe(0);
      expect(JSON.parse(sum.stdout)).toMatchObject({ structuredContent: { sum: 9 } });

      const who = await inspector([
        '--transport',
        'http',
        '--method',
        'tools/call',
        '--tool-name',
        'whoami',
        ...bearer(),
      ]);
      expect(who.code, explain(who)).toBe(0);
      expect(JSON.parse(who.stdout)).toMatchObject({
        structuredContent: {
          name: 'Alice Admin',
          authKind: 'entra-user',
          roles: expect.arrayContaining(['admin']),
        },
      });
    },
    FIRST_RUN_MS,
  );

  it(
    'without a token, exits with its "authorization required" status (3) instead of listing anything',
    async () => {
      const run = await inspector(['--transport', 'http', '--method', 'tools/list', '--stored-auth-only']);
      expect(run.code, explain(run)).toBe(3);
      expect(run.stdout).not.toContain('calculate_sum');
    },
    FIRST_RUN_MS,
  );
});
