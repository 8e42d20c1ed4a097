// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} here is the config-file syntax under test, not a template literal gone wrong.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { GatehouseError } from '../../src/errors/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'gatehouse-mcp-servers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllEnvs();
});

/** Writes a config file and loads the configuration with it, from `env` only (never process.env). */
function withFile(content: unknown, env: Record<string, string> = {}) {
  const file = path.join(root, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return {
    file,
    load: () =>
      loadConfig({
        env: {
          GATEHOUSE_CONFIG_FILE: file,
          LOG_LEVEL: 'silent',
          GATEHOUSE_DATA_DIR: path.join(root, 'data'),
          ...env,
        },
        cwd: root,
      }),
  };
}

/** The GH_CONFIG_INVALID error loading stops with. */
function refusal(
  content: unknown,
  env: Record<string, string> = {},
): GatehouseError & { problems: string[] } {
  const { load } = withFile(content, env);
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('GH_CONFIG_INVALID');
    const problems = (error as GatehouseError).detail?.problems as string[];
    return Object.assign(error as GatehouseError, { problems });
  }
  throw new Error('expected loadConfig to fail');
}

describe('config file: mcpServers', () => {
  it('parses the servers into config.gateway.servers', () => {
    const config = withFile({
      mcpServers: {
        github: { url: 'https://api.githubcopilot.com/mcp/', headers: { Authorization: 'Bearer abc' } },
        files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'] },
      },
    }).load();
    expect(config.gateway.servers).toHaveLength(2);
    const [github, files] = config.gateway.servers;
    expect(github).toMatchObject({
      name: 'github',
      source: 'file',
      title: 'github',
      transport: {
        kind: 'streamable-http',
        url: 'https://api.githubcopilot.com/mcp/',
        headers: { Authorization: 'Bearer abc' },
      },
    });
    expect(files).toMatchObject({
      name: 'files',
      source: 'file',
      transport: {
        kind: 'stdio',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'],
      },
    });
    expect(config.gateway.definitions).toEqual({
      github: { url: 'https://api.githubcopilot.com/mcp/', headers: { Authorization: 'Bearer abc' } },
      files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'] },
    });
  });

  it("reads VS Code's servers section as well", () => {
    const config = withFile({
      mcpServers: { github: { url: 'https://api.githubcopilot.com/mcp/' } },
      servers: { legacy: { type: 'sse', url: 'http://127.0.0.1:9000/sse' } },
    }).load();
    expect(config.gateway.servers.map((server) => [server.name, server.transport.kind])).toEqual([
      ['github', 'streamable-http'],
      ['legacy', 'sse'],
    ]);
  });

  it('has no servers without a config file, or without a servers section', () => {
    expect(loadConfig({ env: { LOG_LEVEL: 'silent' }, cwd: root }).gateway.servers).toEqual([]);
    expect(withFile({ env: { PORT: '8100' } }).load().gateway).toMatchObject({
      servers: [],
      definitions: {},
    });
  });

  it('freezes the servers with the rest of the configuration', () => {
    const config = withFile({
      mcpServers: { github: { url: 'https://h.example/mcp', roles: ['dev'] } },
    }).load();
    const server = config.gateway.servers[0];
    expect(Object.isFrozen(server)).toBe(true);
    expect(Object.isFrozen(server?.policy.roles)).toBe(true);
    expect(Object.isFrozen(config.gateway.definitions.github)).toBe(true);
  });

  it('takes ${VAR} from the env option, not from process.env', () => {
    vi.stubEnv('GH_TEST_TOKEN', 'from-process-env');
    const content = {
      mcpServers: {
        github: {
          url: 'https://${GH_TEST_HOST:-api.githubcopilot.com}/mcp/',
          headers: { Authorization: 'Bearer ${GH_TEST_TOKEN}' },
        },
      },
    };
    const config = withFile(content, { GH_TEST_TOKEN: 'from-option' }).load();
    expect(config.gateway.servers[0]?.transport).toEqual({
      kind: 'streamable-http',
      url: 'https://api.githubcopilot.com/mcp/',
      headers: { Authorization: 'Bearer from-option' },
    });
    expect(config.gateway.definitions.github).toEqual({
      url: 'https://api.githubcopilot.com/mcp/',
      headers: { Authorization: 'Bearer from-option' },
    });

    const error = refusal(content);
    expect(error.message).toContain('${GH_TEST_TOKEN}');
  });

  it('stops on a variable that is not set, naming it, the field and what to set', () => {
    const error = refusal({
      mcpServers: {
        github: { url: 'https://h.example/mcp', headers: { Authorization: 'Bearer ${GITHUB_TOKEN}' } },
      },
    });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(
      'mcpServers.github.headers.Authorization uses ${GITHUB_TOKEN}, which is not set: set GITHUB_TOKEN',
    );
  });

  it('names the servers section a variable is missing in', () => {
    const error = refusal({ servers: { local: { command: '${MCP_BIN}' } } });
    expect(error.message).toContain('servers.local.command uses ${MCP_BIN}');
  });

  it('stops on an invalid server, naming mcpServers.<name>, the file and the problem', () => {
    const { file, load } = withFile({
      mcpServers: {
        good: { url: 'https://h.example/mcp' },
        github: { comand: 'npx' },
      },
    });
    let error: GatehouseError | undefined;
    try {
      load();
    } catch (caught) {
      error = caught as GatehouseError;
    }
    expect(error).toBeInstanceOf(GatehouseError);
    expect(error?.code).toBe('GH_CONFIG_INVALID');
    expect(error?.detail?.problems).toEqual([
      `GATEHOUSE_CONFIG_FILE: mcpServers.github in ${file}: unknown field "comand" (see docs/gateway.md for the fields a server entry takes).`,
    ]);
  });

  it('names a bad server name with the name to use instead', () => {
    const error = refusal({ mcpServers: { GitHub: { url: 'https://h.example/mcp' } } });
    expect(error.message).toContain('mcpServers.GitHub in');
    expect(error.message).toContain("for example 'github'");
  });

  it('reports every problem of every server at once', () => {
    const error = refusal({
      mcpServers: {
        one: { url: 'ftp://h.example/mcp' },
        two: { type: 'sse' },
        three: { url: 'https://h.example/${MISSING}' },
      },
    });
    expect(error.problems).toHaveLength(3);
    expect(error.message).toContain('3 settings need attention');
    expect(error.message).toContain('mcpServers.one in');
    expect(error.message).toContain('mcpServers.two in');
    expect(error.message).toContain('mcpServers.three.url uses ${MISSING}');
  });

  it('refuses a servers section that is not an object', () => {
    expect(refusal({ mcpServers: [{ url: 'https://h.example/mcp' }] }).message).toContain('"mcpServers" in');
    expect(refusal({ servers: 'github' }).message).toContain('"servers" in');
  });

  it('stops on a server declared in both sections', () => {
    const error = refusal({
      mcpServers: { github: { url: 'https://a.example/mcp' } },
      servers: { github: { url: 'https://b.example/mcp' } },
    });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain("the server 'github' is declared in both");
  });

  it('names both declarations of a doubly declared server and which one to remove', () => {
    // Regression: the message used to say only "declared twice", naming neither declaration.
    const error = refusal({
      mcpServers: { github: { url: 'https://a.example/mcp' } },
      servers: { github: { url: 'https://b.example/mcp' } },
    });
    expect(error.message).toContain('mcpServers.github');
    expect(error.message).toContain('servers.github');
    expect(error.message).toMatch(/remove|keep one|rename/);
  });

  it('refuses a config-file server named like a route of the MCP endpoint', () => {
    // Regression: only runtime registrations used to refuse 'http', 'sse' and 'messages', so a
    // config-file server of that name collided with the endpoint's own /mcp/http route.
    const error = refusal({ mcpServers: { http: { url: 'https://h.example/mcp' } } });
    expect(error.message).toContain('mcpServers.http');
  });

  it('lists the servers section among the sections it reads', () => {
    // Regression: the message used to leave out the "servers" section it also reads.
    const error = refusal({ inputs: [], servers: {} });
    expect(error.message).toContain('"inputs"');
    expect(error.message).toContain('"servers"');
  });
});

describe('gateway variables', () => {
  it('have defaults: no runtime stdio, 2 s sync, 300 s list TTL, 1.5 s list wait', () => {
    expect(withFile({}).load().gateway).toEqual({
      servers: [],
      definitions: {},
      runtimeStdio: false,
      syncIntervalMs: 2000,
      listTtlMs: 300_000,
      listWaitMs: 1500,
    });
  });

  it('parse from the environment', () => {
    const config = withFile(
      {},
      {
        GATEHOUSE_GATEWAY_RUNTIME_STDIO: 'true',
        GATEHOUSE_GATEWAY_SYNC_INTERVAL: '500',
        GATEHOUSE_GATEWAY_LIST_TTL: '60',
        GATEHOUSE_GATEWAY_LIST_WAIT: '250',
      },
    ).load();
    expect(config.gateway).toMatchObject({
      runtimeStdio: true,
      syncIntervalMs: 500,
      listTtlMs: 60_000,
      listWaitMs: 250,
    });
    expect(config.sources.GATEHOUSE_GATEWAY_LIST_TTL).toBe('env');
  });

  it("parse from the config file's env section, the environment winning", () => {
    const config = withFile(
      { env: { GATEHOUSE_GATEWAY_RUNTIME_STDIO: true, GATEHOUSE_GATEWAY_SYNC_INTERVAL: 900 } },
      { GATEHOUSE_GATEWAY_SYNC_INTERVAL: '700' },
    ).load();
    expect(config.gateway).toMatchObject({ runtimeStdio: true, syncIntervalMs: 700 });
    expect(config.sources.GATEHOUSE_GATEWAY_RUNTIME_STDIO).toBe('file');
  });

  it('name the variable and the range when a value is wrong', () => {
    const error = refusal(
      {},
      {
        GATEHOUSE_GATEWAY_RUNTIME_STDIO: 'sometimes',
        GATEHOUSE_GATEWAY_SYNC_INTERVAL: '50',
        GATEHOUSE_GATEWAY_LIST_TTL: '0',
        GATEHOUSE_GATEWAY_LIST_WAIT: 'soon',
      },
    );
    expect(error.problems).toEqual([
      "GATEHOUSE_GATEWAY_RUNTIME_STDIO: 'sometimes' is not a boolean: set true or false.",
      'GATEHOUSE_GATEWAY_SYNC_INTERVAL: 50 is out of range: set an integer from 100 to 600000 milliseconds.',
      'GATEHOUSE_GATEWAY_LIST_TTL: 0 is out of range: set an integer from 1 to 86400 seconds.',
      "GATEHOUSE_GATEWAY_LIST_WAIT: 'soon' is not a whole number milliseconds: set an integer from 10 to 60000.",
    ]);
  });
});
