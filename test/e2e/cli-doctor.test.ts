import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { emulatorBackedConfig, IDS } from '../helpers/auth-fixture.js';
import { TEST_MASTER_SECRET } from '../helpers/oauth-fixture.js';
import { freePort } from '../helpers/ports.js';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const bin = path.join(root, 'dist/src/cli/main.js');
/** Each case starts the CLI, which talks to the emulator; on a busy machine that takes seconds. */
const CASE_MS = 120_000;

// `gatehouse doctor` against the Entra emulator: healthy, then five misconfigured set-ups, each
// answered with the one sentence that fixes it.
describe('gatehouse doctor', () => {
  let entra: DevEntra;
  let work: string;

  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
    work = mkdtempSync(path.join(tmpdir(), 'gatehouse-doctor-'));
  });
  afterAll(async () => {
    await entra?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      GATEHOUSE_DATA_DIR: path.join(work, 'data'),
      LOG_LEVEL: 'warn',
      MCP_AZURE_AUTHORITY_HOST: entra.url,
      MCP_AZURE_TENANT_ID: entra.tenantId,
      MCP_AZURE_CLIENT_ID: IDS.api,
      MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
      MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
      ...extra,
    };
  }

  function doctor(variables: Record<string, string>): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'doctor'], {
        env: variables,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  const problems = (out: string) => out.split('\n').filter((line) => line.startsWith('✗'));

  it(
    'reports a healthy configuration, with the running Gatehouse at its public URL, and exits 0',
    async () => {
      const port = String(await freePort());
      const config = await emulatorBackedConfig(entra, path.join(work, 'running'), {
        PORT: port,
        MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
        MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
      });
      const running: RunningGatehouse = await startGatehouse(config, { logger: createLogger(config) });
      try {
        const { code, out } = await doctor(
          env({ PORT: port, GATEHOUSE_DATA_DIR: path.join(work, 'running') }),
        );
        expect(code, out).toBe(0);
        for (const check of ['Database', 'Tenant', 'Clock', 'Credential', 'Sign-in request', 'Public URL'])
          expect(out, check).toMatch(new RegExp(`^✓ ${check}: `, 'm'));
        expect(out).toContain('Nothing to fix.');
      } finally {
        await running.close();
      }
    },
    CASE_MS,
  );

  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'a wrong client secret',
      { MCP_AZURE_CLIENT_SECRET: 'not-the-secret-of-this-app' },
      /^✗ Credential: Entra ID refused the client secret \(AADSTS7000215\): put a current secret's Value .* into MCP_AZURE_CLIENT_SECRET\.$/m,
    ],
    [
      'a wrong tenant',
      { MCP_AZURE_TENANT_ID: '11111111-2222-3333-4444-555555555555' },
      /^✗ Tenant: Entra ID does not know tenant '11111111-2222-3333-4444-555555555555' .*: set MCP_AZURE_TENANT_ID to the Directory \(tenant\) ID/m,
    ],
    [
      'a scope the app does not expose',
      { MCP_AZURE_SCOPES: 'chat=mcp.chat' },
      /^✗ Sign-in request: the app does not expose a scope Gatehouse asks for \(AADSTS70011\): add discover, tools.read, tools.execute, mcp.chat under the app registration's Expose an API/m,
    ],
    [
      'a public URL whose redirect URI is not registered',
      { MCP_SERVER_BASE_URL: 'https://gatehouse.contoso.com' },
      /^✗ Sign-in request: the redirect URI https:\/\/gatehouse.contoso.com\/auth\/callback is not registered on app .* \(AADSTS50011\): add it as a Web redirect URI/m,
    ],
    [
      'the database down',
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/gatehouse' },
      /^✗ Database: postgres did not answer \(.*\): start it, or fix the host, port, user or database in DATABASE_URL\.$/m,
    ],
  ];
  for (const [label, change, sentence] of cases) {
    it(
      `with ${label}, prints the one sentence that fixes it and exits 1`,
      async () => {
        const { code, out } = await doctor(env(change));
        expect(code, out).toBe(1);
        expect(problems(out), out).toHaveLength(1);
        expect(out).toMatch(sentence);
        expect(out).toContain('1 problem to fix');
      },
      CASE_MS,
    );
  }
});
