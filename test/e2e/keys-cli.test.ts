import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const bin = path.join(root, 'dist/src/cli/main.js');
const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-keys-cli-'));
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GATEHOUSE_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

function run(args: string[], extra: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], { env: env(extra), encoding: 'utf8', timeout: 30_000 });
}

/** Starts `gatehouse serve` on a free port, returns what it printed once ready, and stops it. */
function serveOnce(): Promise<string> {
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: env({ PORT: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('Gatehouse is ready')) {
        child.once('exit', () => resolve(stderr));
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) => {
      if (!stderr.includes('Gatehouse is ready')) reject(new Error(`serve exited with ${code}:\n${stderr}`));
    });
  });
}

beforeAll(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first (npm test does).`);
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('gatehouse keys', () => {
  it('is listed in --help and explains itself', () => {
    expect(run(['--help']).stdout).toMatch(/\n {2}keys\s+Rotate the token-signing keys/);
    for (const args of [
      ['keys', '--help'],
      ['keys', 'rotate', '--help'],
    ]) {
      const help = run(args);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('Usage: gatehouse keys rotate');
    }
    const bare = run(['keys']);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain("expected 'rotate'");
  });

  it('rotate: the new key signs, the previous ones stay published until their tokens expire', async () => {
    const first = run(['keys', 'rotate']);
    expect(first.status).toBe(0);
    const firstKid = new RegExp(`New signing key (${UUID}) \\(RS256\\) signs from now on\\.`).exec(
      first.stdout,
    )?.[1];
    expect(firstKid).toBeDefined();
    expect(first.stdout).toContain('No previous key is published.');
    // Without MCP_AZURE_JWT_SIGNING_KEY, development mode made a secret and said where.
    const secretFile = path.join(dataDir, 'signing-key.secret');
    expect(first.stderr).toContain(`generated a development secret in ${secretFile}`);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);

    const before = Date.now();
    const second = run(['keys', 'rotate']);
    expect(second.status).toBe(0);
    expect(second.stderr).toContain(`using the development secret in ${secretFile}`);
    const secondKid = new RegExp(`New signing key (${UUID})`).exec(second.stdout)?.[1];
    expect(secondKid).not.toBe(firstKid);
    const until = new RegExp(`\\n {2}${firstKid} {2}until (\\S+)`).exec(second.stdout)?.[1];
    expect(Date.parse(until!) - before).toBeGreaterThan(59 * 60_000);
    expect(Date.parse(until!) - Date.now()).toBeLessThanOrEqual(60 * 60_000);

    // The server signs with the rotated-in key and still publishes both.
    expect(await serveOnce()).toContain(`Signing keys: ${secondKid} signs; 2 published`);
  });

  it('refuses to rotate under another secret, naming the variable', () => {
    const result = run(['keys', 'rotate'], {
      MCP_AZURE_JWT_SIGNING_KEY: 'another-secret-0123456789-abcdefghijklmnop',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('GH_SECRET_UNREADABLE');
    expect(result.stderr).toContain('MCP_AZURE_JWT_SIGNING_KEY');
  });

  it('refuses to run in production without MCP_AZURE_JWT_SIGNING_KEY, saying how to make one', () => {
    const result = run(['keys', 'rotate'], {
      NODE_ENV: 'production',
      MCP_AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      MCP_AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('MCP_AZURE_JWT_SIGNING_KEY is not set');
    expect(result.stderr).toContain('openssl rand -base64 48');
  });
});
