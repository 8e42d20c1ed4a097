import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderVariablesTable, TABLE_END, TABLE_START } from '../../src/config/docs-table.js';
import { loadConfig } from '../../src/config/index.js';
import { VARIABLES } from '../../src/config/variables.js';
import { GatehouseError } from '../../src/errors/index.js';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return (error as GatehouseError).message;
  }
  throw new Error('expected loadConfig to fail');
}

describe('configuration', () => {
  it('has working defaults: loopback, port 8000, SQLite under ./data, development mode', () => {
    const config = loadConfig({ env: {}, cwd: '/srv/gh' });
    expect(config.server).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      baseUrl: 'http://127.0.0.1:8000',
      bodyLimit: 1048576,
    });
    expect(config.auth.enabled).toBe(false);
    expect(config.storage.sqliteFile).toBe('/srv/gh/data/gatehouse.db');
    expect(config.storage.databaseUrl).toBeUndefined();
    expect(config.mcp).toMatchObject({
      sessionMode: 'stateful',
      responseMode: 'json',
      sessionTtlMs: 3_600_000,
    });
  });

  it('is frozen', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('accepts ENABLE_AUTH as an alias, and refuses it set to another value than the canonical name', () => {
    expect(loadConfig({ env: { ENABLE_AUTH: 'false' } }).auth.enabled).toBe(false);
    expect(loadConfig({ env: { ENABLE_AUTH: 'false', MCP_ENABLE_AUTH: 'false' } }).auth.enabled).toBe(false);
    expect(problemsOf({ ENABLE_AUTH: 'true', MCP_ENABLE_AUTH: 'false' })).toContain(
      "MCP_ENABLE_AUTH and ENABLE_AUTH are both set, to different values ('false' and 'true'): they name the same setting (MCP_ENABLE_AUTH); keep one.",
    );
  });

  it('names the variable, the bad value and what to set', () => {
    expect(problemsOf({ PORT: 'eighty' })).toContain(
      "PORT: 'eighty' is not a whole number: set an integer from 0 to 65535",
    );
    expect(problemsOf({ PORT: '70000' })).toContain('PORT: 70000 is out of range');
    expect(problemsOf({ ENABLE_AUTH: 'maybe' })).toContain(
      "ENABLE_AUTH (alias of MCP_ENABLE_AUTH): 'maybe' is not a boolean: set true or false",
    );
    expect(problemsOf({ MCP_SESSION_MODE: 'sticky' })).toContain(
      "MCP_SESSION_MODE: 'sticky' is not allowed: set one of stateful, stateless",
    );
    expect(problemsOf({ DATABASE_URL: 'mysql://u:secret@h/db' })).toContain('DATABASE_URL');
  });

  it('reports every problem at once', () => {
    const message = problemsOf({ PORT: 'x', LOG_LEVEL: 'loud', MCP_SESSION_TTL: '5' });
    expect(message).toContain('3 settings need attention');
    for (const name of ['PORT:', 'LOG_LEVEL:', 'MCP_SESSION_TTL:'])
      expect(message).toMatch(new RegExp(`\n  - ${name}`));
  });

  it('never shows a password from a URL', () => {
    const message = problemsOf({ DATABASE_URL: 'mysql://admin:hunter2@db.example/x' });
    expect(message).not.toContain('hunter2');
    expect(message).toContain('***');
  });

  it('refuses development mode on a non-loopback HOST, naming HOST', () => {
    expect(() => loadConfig({ env: { HOST: '0.0.0.0' } })).toThrow(
      /HOST is '0\.0\.0\.0'.*Set HOST=127\.0\.0\.1/,
    );
    try {
      loadConfig({ env: { HOST: '10.1.2.3', ENABLE_AUTH: 'false' } });
    } catch (error) {
      expect((error as GatehouseError).code).toBe('GH_DEV_MODE_REFUSED');
    }
  });

  it('refuses development mode in production', () => {
    expect(() => loadConfig({ env: { NODE_ENV: 'production' } })).toThrow(/NODE_ENV=production/);
  });

  it('allows every loopback form in development mode', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) {
      expect(loadConfig({ env: { HOST: host } }).server.host).toBe(host);
    }
    expect(loadConfig({ env: { HOST: '::1', PORT: '9' } }).server.baseUrl).toBe('http://[::1]:9');
  });

  it('refuses MCP_ENABLE_AUTH=true without an app registration, naming what to set', () => {
    const message = problemsOf({ MCP_ENABLE_AUTH: 'true' });
    expect(message).toContain('MCP_AZURE_CLIENT_ID is not set');
    expect(message).toContain('MCP_AZURE_TENANT_ID is not set');
    expect(message).toContain('set MCP_ENABLE_AUTH=false');
  });

  const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const CLIENT = '829cba28-25a8-434b-aad5-d7be2331ceba';

  it('turns authentication on when an API app is configured, accepting both audience forms', () => {
    const config = loadConfig({
      env: { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT.toUpperCase(), HOST: '0.0.0.0' },
    });
    expect(config.auth.enabled).toBe(true);
    expect(config.auth.entra).toMatchObject({
      tenant: TENANT,
      clientId: CLIENT,
      identifierUri: `api://${CLIENT}`,
    });
    expect(config.auth.entra?.audiences).toEqual([CLIENT, `api://${CLIENT}`, `api://${CLIENT}/`]);
  });

  it("explains that 'common' needs MCP_AZURE_ALLOWED_TENANTS", () => {
    expect(problemsOf({ MCP_AZURE_TENANT_ID: 'common', MCP_AZURE_CLIENT_ID: CLIENT })).toContain(
      "MCP_AZURE_TENANT_ID is 'common': a specific tenant GUID is required unless MCP_AZURE_ALLOWED_TENANTS lists the tenants to accept.",
    );
    const config = loadConfig({
      env: {
        MCP_AZURE_TENANT_ID: 'organizations',
        MCP_AZURE_CLIENT_ID: CLIENT,
        MCP_AZURE_ALLOWED_TENANTS: TENANT,
      },
    });
    expect(config.auth.entra?.allowedTenants).toEqual([TENANT]);
  });

  it('rejects ids that are not GUIDs, saying where to find the right one', () => {
    expect(problemsOf({ MCP_AZURE_TENANT_ID: 'contoso', MCP_AZURE_CLIENT_ID: CLIENT })).toContain(
      'Directory (tenant) or Application (client) ID',
    );
  });

  it('reads the auth settings and their aliases', () => {
    const config = loadConfig({
      env: {
        MCP_AZURE_TENANT_ID: TENANT,
        MCP_AZURE_CLIENT_ID: CLIENT,
        AZURE_CLOCK_SKEW: '60',
        AZURE_TOKEN_CACHE_TTL: '0',
        MCP_AZURE_SCOPES: 'tools.execute=mcp.call',
        MCP_AZURE_GROUP_ROLES:
          '506E5E57-70f7-406e-b7f9-ea597208e9a4=admin;auditor,28fc510d-a204-44d8-8069-738ecfa2bdfe=user',
        A0_SET_SSO_AUTO_ASSIGN: 'false',
      },
    });
    expect(config.auth).toMatchObject({
      clockSkewSeconds: 60,
      tokenCacheTtlMs: 0,
      ssoAutoAssign: false,
      scopeNames: { discover: 'discover', toolsRead: 'tools.read', toolsExecute: 'mcp.call', chat: 'chat' },
      groupRoles: {
        '506e5e57-70f7-406e-b7f9-ea597208e9a4': ['admin', 'auditor'],
        '28fc510d-a204-44d8-8069-738ecfa2bdfe': ['user'],
      },
    });
    expect(problemsOf({ MCP_AZURE_SCOPES: 'execute=x' })).toContain("'execute=x' is not logical=name");
    expect(problemsOf({ MCP_SERVER_TOKEN: 'short' })).toContain(
      'MCP_SERVER_TOKEN: it is shorter than 32 characters',
    );
  });

  it('takes one Entra credential: a secret, a certificate or a federated token file (AKS names too)', () => {
    const app = { MCP_AZURE_TENANT_ID: TENANT, MCP_AZURE_CLIENT_ID: CLIENT };
    const read = (env: Record<string, string>) =>
      loadConfig({ env: { ...app, ...env }, cwd: '/srv/gh' }).auth.entraCredential;
    expect(read({})).toBeUndefined();
    expect(read({ AZURE_CLIENT_SECRET: 's3cret' })).toEqual({ kind: 'secret', secret: 's3cret' });
    expect(read({ MCP_AZURE_CLIENT_CERTIFICATE_PATH: 'api.pem' })).toEqual({
      kind: 'certificate',
      path: '/srv/gh/api.pem',
    });
    // The names the AKS Workload ID webhook sets in the pod.
    const aks = loadConfig({
      env: {
        AZURE_TENANT_ID: TENANT,
        AZURE_CLIENT_ID: CLIENT,
        AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
      },
    });
    expect(aks.auth.entraCredential).toEqual({
      kind: 'federated',
      tokenFile: '/var/run/secrets/azure/tokens/azure-identity-token',
    });
    expect(
      problemsOf({ ...app, MCP_AZURE_CLIENT_SECRET: 's', MCP_AZURE_FEDERATED_TOKEN_FILE: '/t' }),
    ).toContain(
      'MCP_AZURE_CLIENT_SECRET and MCP_AZURE_FEDERATED_TOKEN_FILE are set together: keep the one credential Gatehouse should use with Entra ID.',
    );
  });

  it('reads pre-registered OAuth clients from the "clients" section, and explains a bad one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-config-'));
    const file = path.join(dir, 'clients.json');
    const client = { client_id: 'team-cli', redirect_uris: ['http://127.0.0.1:7443/callback'] };
    writeFileSync(file, JSON.stringify({ clients: [client] }));
    expect(loadConfig({ env: { GATEHOUSE_CONFIG_FILE: file } }).clients).toEqual([client]);
    writeFileSync(
      file,
      JSON.stringify({ clients: [{ client_id: 'x' }, { redirect_uris: ['http://127.0.0.1/cb'] }] }),
    );
    const message = problemsOf({ GATEHOUSE_CONFIG_FILE: file });
    expect(message).toContain('clients[0]');
    expect(message).toContain('"redirect_uris" must be a non-empty array of URLs');
    expect(message).toContain('clients[1]');
    expect(message).toContain('"client_id" is required');
  });

  it('reads per-tool requirements from the "tools" section of the config file, and explains mistakes', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-config-'));
    const file = path.join(dir, 'tools.json');
    writeFileSync(
      file,
      JSON.stringify({
        tools: { calculate_sum: { roles: ['finance'] }, send_message: { scopes: ['chat'] } },
      }),
    );
    expect(loadConfig({ env: { GATEHOUSE_CONFIG_FILE: file } }).toolPolicies).toEqual({
      calculate_sum: { roles: ['finance'], scopes: [] },
      send_message: { roles: [], scopes: ['chat'] },
    });
    writeFileSync(
      file,
      JSON.stringify({
        tools: { calculate_sum: { scopes: ['write'] }, whoami: { role: 'x' } },
        upstreams: [],
      }),
    );
    const message = problemsOf({ GATEHOUSE_CONFIG_FILE: file });
    expect(message).toContain('tools.calculate_sum');
    expect(message).toContain('"write" is not a scope');
    expect(message).toContain('unknown member "role"');
    expect(message).toContain('"upstreams"');
  });

  it('reads per-prompt and per-resource requirements from "prompts" and "resources", and explains mistakes', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-config-'));
    const file = path.join(dir, 'content.json');
    writeFileSync(
      file,
      JSON.stringify({
        prompts: { add_numbers: { roles: ['admin'], scopes: ['chat'] } },
        resources: { notes: { roles: ['user'] } },
      }),
    );
    const config = loadConfig({ env: { GATEHOUSE_CONFIG_FILE: file } });
    expect(config.promptPolicies).toEqual({ add_numbers: { roles: ['admin'], scopes: ['chat'] } });
    expect(config.resourcePolicies).toEqual({ notes: { roles: ['user'], scopes: [] } });
    expect(config.toolPolicies).toEqual({});
    writeFileSync(file, JSON.stringify({ prompts: { add_numbers: { roles: 'admin' } }, resources: [] }));
    const message = problemsOf({ GATEHOUSE_CONFIG_FILE: file });
    expect(message).toContain('prompts.add_numbers');
    expect(message).toContain('"roles" must be an array of role names');
    expect(message).toContain('"resources" in');
    expect(message).toContain('must be an object of resource names');
  });

  it('reads the env object of GATEHOUSE_CONFIG_FILE, with the environment winning', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-config-'));
    const file = path.join(dir, 'gatehouse.json');
    writeFileSync(
      file,
      JSON.stringify({ env: { PORT: 9100, MCP_SESSION_MODE: 'stateless', LOG_LEVEL: 'warn' } }),
    );
    const config = loadConfig({ env: { GATEHOUSE_CONFIG_FILE: file, LOG_LEVEL: 'error' } });
    expect(config.server.port).toBe(9100);
    expect(config.mcp.sessionMode).toBe('stateless');
    expect(config.log.level).toBe('error');
    expect(config.sources.PORT).toBe('file');
    expect(config.sources.LOG_LEVEL).toBe('env');
  });

  it('rejects unknown names and bad JSON in the config file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-config-'));
    const typo = path.join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ env: { PROT: 1 } }));
    expect(problemsOf({ GATEHOUSE_CONFIG_FILE: typo })).toContain('"PROT"');
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{ env: ');
    expect(problemsOf({ GATEHOUSE_CONFIG_FILE: broken })).toContain('is not valid JSON');
    expect(problemsOf({ GATEHOUSE_CONFIG_FILE: path.join(dir, 'missing.json') })).toContain('cannot read');
  });
});

describe('docs/configuration.md', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

  it('contains the variables table exactly as the schema renders it (run npm run docs:generate)', () => {
    const table = doc.slice(doc.indexOf(TABLE_START) + TABLE_START.length, doc.indexOf(TABLE_END)).trim();
    expect(table).toBe(renderVariablesTable());
  });

  it('documents every variable and alias by name', () => {
    for (const spec of Object.values(VARIABLES)) {
      expect(doc).toContain(`\`${spec.name}\``);
      for (const alias of 'aliases' in spec ? spec.aliases : []) expect(doc).toContain(`\`${alias}\``);
    }
  });
});
