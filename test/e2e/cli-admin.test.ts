import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { parsePasswordHash, verifyPassword } from '../../src/ops/password-hash.js';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const bin = path.join(root, 'dist/src/cli/main.js');

function hashPasswordCli(input: string, args = ['admin', 'hash-password']) {
  return spawnSync(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

beforeAll(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first (npm test does).`);
});

describe('gatehouse admin hash-password', () => {
  it('reads the password from standard input and prints its hash, which the configuration accepts', async () => {
    const result = hashPasswordCli('a long break-glass passphrase\n');
    expect(result.status).toBe(0);
    const hash = result.stdout.trim();
    expect(result.stdout).toBe(`${hash}\n`);
    expect(hash).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(result.stderr).toContain(`GATEHOUSE_ADMIN_PASSWORD_HASH='${hash}'`);

    const parsed = parsePasswordHash(hash);
    expect(parsed).toBeDefined();
    expect(await verifyPassword('a long break-glass passphrase', parsed!)).toBe(true);
    expect(await verifyPassword('a long break-glass passphrase\n', parsed!)).toBe(false);
    expect(loadConfig({ env: { GATEHOUSE_ADMIN_PASSWORD_HASH: hash } }).breakGlass).toEqual({
      username: 'admin',
      passwordHash: hash,
    });
  });

  it('refuses a short password, and says how long it must be', () => {
    const result = hashPasswordCli('hunter2\n');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('the password has 7 characters; use at least 12');
  });

  it('refuses an unknown subcommand with its usage', () => {
    const result = hashPasswordCli('', ['admin', 'reset']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("expected 'hash-password'");
    expect(result.stderr).toContain('Usage: gatehouse admin hash-password');
  });

  it('makes a hash that was not printed by it a configuration error naming the command', () => {
    expect(() => loadConfig({ env: { GATEHOUSE_ADMIN_PASSWORD_HASH: 'hunter2' } })).toThrow(
      /GATEHOUSE_ADMIN_PASSWORD_HASH: it is not a password hash made by `gatehouse admin hash-password`/,
    );
  });
});
