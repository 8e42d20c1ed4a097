import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const bin = path.join(root, 'dist/src/cli/main.js');
const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-cli-'));

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GATEHOUSE_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...extra,
  };
  return env;
}

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], {
    env: baseEnv(env),
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** Starts `gatehouse serve` and resolves once it prints that it is ready. */
function serve(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; stderr: () => string; mcpUrl: string }> {
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /MCP endpoint\s+(\S+)/.exec(stderr);
      if (match && stderr.includes('Gatehouse is ready'))
        resolve({ child, stderr: () => stderr, mcpUrl: match[1]! });
    });
    child.once('exit', (code) =>
      reject(new Error(`gatehouse exited with ${code} before it was ready:\n${stderr}`)),
    );
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

beforeAll(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first (npm test does).`);
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('gatehouse CLI', () => {
  it('--help lists the commands, and each command has its own --help', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['serve', 'migrate', 'dev-entra']) expect(help.stdout).toContain(command);
    const serveHelp = run(['serve', '--help']);
    expect(serveHelp.stdout).toContain('Usage: gatehouse serve');
    expect(run(['migrate', '--help']).stdout).toContain('Usage: gatehouse migrate');
  });

  it('rejects an unknown command with usage and exit code 2', () => {
    const result = run(['frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("Unknown command 'frobnicate'");
  });

  it('refuses development mode on a non-loopback HOST, naming HOST', () => {
    const result = run(['serve'], { HOST: '0.0.0.0' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("HOST is '0.0.0.0'");
    expect(result.stderr).toContain('GH_DEV_MODE_REFUSED');
  });

  it('refuses development mode with NODE_ENV=production', () => {
    const result = run(['serve'], { NODE_ENV: 'production' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('NODE_ENV=production');
  });

  it('explains a bad variable and exits 1 without starting', () => {
    const result = run(['serve'], { PORT: 'eighty' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("PORT: 'eighty' is not a whole number");
    expect(result.stderr).toContain('docs/configuration.md');
  });

  it('migrate applies the schema once, then reports it up to date', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-migrate-'));
    try {
      const first = run(['migrate'], { GATEHOUSE_DATA_DIR: dir });
      expect(first.status).toBe(0);
      expect(first.stdout).toMatch(/Applied on sqlite: 001_/);
      const second = run(['migrate'], { GATEHOUSE_DATA_DIR: dir });
      expect(second.stdout).toContain('Already up to date');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves on 127.0.0.1:8000 by default, signing users in at the built-in emulator, and stops cleanly on SIGTERM', async () => {
    const entraPort = String(await freePort());
    const { child, stderr, mcpUrl } = await serve({ DEV_ENTRA_PORT: entraPort });
    try {
      expect(mcpUrl).toBe('http://127.0.0.1:8000/mcp');
      expect(stderr()).toContain(
        `The built-in Entra ID emulator (http://127.0.0.1:${entraPort}) signs you in. FOR DEVELOPMENT ONLY`,
      );
      expect(stderr()).toMatch(/alice\s+alice-dev-password\s+admin/);
      expect(stderr()).toContain('(sign-in federated to Entra ID with a client secret)');
      expect(stderr()).toContain(`claude mcp add gatehouse --transport http ${mcpUrl}`);
      const anonymous = await fetch(mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain(
        'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"',
      );
      const metadata = (await (
        await fetch('http://127.0.0.1:8000/.well-known/oauth-authorization-server')
      ).json()) as any;
      expect(metadata).toMatchObject({
        issuer: 'http://127.0.0.1:8000',
        code_challenge_methods_supported: ['S256'],
      });
    } finally {
      const code = exited(child);
      child.kill('SIGTERM');
      expect(await code).toBe(0);
      expect(stderr()).toContain('Gatehouse stopped.');
    }
  });

  it('runs without sign-in with MCP_ENABLE_AUTH=false, saying so loudly', async () => {
    const { child, stderr, mcpUrl } = await serve({
      MCP_ENABLE_AUTH: 'false',
      PORT: String(await freePort()),
    });
    const code = exited(child);
    try {
      expect(stderr()).toContain('DEVELOPMENT MODE');
      const response = await fetch(mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'calculate_sum', arguments: { numbers: [1, 2, 3] } },
        }),
      });
      expect(((await response.json()) as any).result.structuredContent).toEqual({ sum: 6 });
    } finally {
      child.kill('SIGTERM');
      expect(await code).toBe(0);
    }
  });

  it('listens where PORT says', async () => {
    const { child, mcpUrl } = await serve({ PORT: '8123', MCP_ENABLE_AUTH: 'false' });
    const code = exited(child);
    try {
      expect(mcpUrl).toBe('http://127.0.0.1:8123/mcp');
      expect((await fetch('http://127.0.0.1:8123/health')).status).toBe(200);
    } finally {
      child.kill('SIGINT');
      expect(await code).toBe(0);
    }
  });
});
