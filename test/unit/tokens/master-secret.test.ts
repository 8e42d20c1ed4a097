import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import type { GatehouseError } from '../../../src/errors/index.js';
import { DEVELOPMENT_SECRET_FILE, resolveMasterSecret } from '../../../src/tokens/master-secret.js';

const root = mkdtempSync(path.join(tmpdir(), 'gatehouse-secret-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const LONG = 'x'.repeat(40);
const AUTH = {
  MCP_AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  MCP_AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
};

function configIn(env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(path.join(root, 'data-'));
  return { dataDir, config: loadConfig({ env: { GATEHOUSE_DATA_DIR: dataDir, ...env } }) };
}

function problems(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (error) {
    expect((error as GatehouseError).code).toBe('GH_CONFIG_INVALID');
    return (error as GatehouseError).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('master secret for encryption at rest', () => {
  it('in development, generates one on first start (mode 0600), reuses it later, and says where', () => {
    const { dataDir, config } = configIn();
    const lines: string[] = [];
    const first = resolveMasterSecret(config, (line) => lines.push(line));
    const file = path.join(dataDir, DEVELOPMENT_SECRET_FILE);
    expect(first.source).toBe('the development secret file');
    expect(first.value.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.value);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`generated a development secret in ${file}`);
    expect(lines[0]).toContain('set MCP_AZURE_JWT_SIGNING_KEY');

    const second = resolveMasterSecret(config, (line) => lines.push(line));
    expect(second.value).toBe(first.value);
    expect(lines[1]).toContain(`using the development secret in ${file}`);
  });

  it('uses MCP_AZURE_JWT_SIGNING_KEY, or GATEHOUSE_ENCRYPTION_KEY when set, and writes no file', () => {
    const signing = configIn({ MCP_AZURE_JWT_SIGNING_KEY: `signing-${LONG}` });
    expect(resolveMasterSecret(signing.config, () => expect.fail('nothing to say'))).toEqual({
      value: `signing-${LONG}`,
      source: 'MCP_AZURE_JWT_SIGNING_KEY',
    });
    const both = configIn({
      MCP_AZURE_JWT_SIGNING_KEY: `signing-${LONG}`,
      GATEHOUSE_ENCRYPTION_KEY: `enc-${LONG}`,
    });
    expect(resolveMasterSecret(both.config, () => undefined)).toEqual({
      value: `enc-${LONG}`,
      source: 'GATEHOUSE_ENCRYPTION_KEY',
    });
    expect(() => statSync(path.join(signing.dataDir, DEVELOPMENT_SECRET_FILE))).toThrow();
  });

  it('refuses a development secret file that holds no usable secret, naming the file', () => {
    const { dataDir, config } = configIn();
    writeFileSync(path.join(dataDir, DEVELOPMENT_SECRET_FILE), 'short\n');
    expect(() => resolveMasterSecret(config, () => undefined)).toThrow(
      /signing-key\.secret holds no usable secret/,
    );
  });

  it('refuses production without MCP_AZURE_JWT_SIGNING_KEY, naming it and how to make one', () => {
    const message = problems({ ...AUTH, NODE_ENV: 'production' });
    expect(message).toContain('MCP_AZURE_JWT_SIGNING_KEY is not set');
    expect(message).toContain('openssl rand -base64 48');
    expect(
      loadConfig({ env: { ...AUTH, NODE_ENV: 'production', MCP_AZURE_JWT_SIGNING_KEY: LONG } }).secrets,
    ).toMatchObject({
      jwtSigningKey: LONG,
      encryptionKey: undefined,
    });
    expect(
      loadConfig({ env: { ...AUTH, NODE_ENV: 'production', GATEHOUSE_ENCRYPTION_KEY: LONG } }).secrets
        .encryptionKey,
    ).toBe(LONG);
  });

  it('refuses a secret shorter than 32 characters, saying how to make one', () => {
    for (const name of ['MCP_AZURE_JWT_SIGNING_KEY', 'GATEHOUSE_ENCRYPTION_KEY']) {
      const message = problems({ [name]: 'too-short' });
      expect(message).toContain(`${name}: it is shorter than 32 characters`);
      expect(message).toContain('openssl rand -base64 48');
    }
  });
});
