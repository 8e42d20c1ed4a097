// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} here is the config-file syntax under test, not a template literal gone wrong.
import { describe, expect, it } from 'vitest';
import {
  expandVariables,
  joinSecrets,
  type ParsedServer,
  parseServerDefinition,
  SECRET_SET,
  splitSecrets,
  type UpstreamServer,
} from '../../../src/gateway/server-config.js';

/** The parsed server, or a test failure that shows the problems. */
function accepted(name: string, input: unknown, source: 'file' | 'api' = 'file'): UpstreamServer {
  const parsed = parseServerDefinition(name, input, source);
  if (!parsed.ok)
    throw new Error(`expected '${name}' to be accepted; problems: ${parsed.problems.join(' | ')}`);
  return parsed.server;
}

/** The problems of a refused definition, or a test failure when it was accepted. */
function refused(name: string, input: unknown): string[] {
  const parsed: ParsedServer = parseServerDefinition(name, input, 'api');
  if (parsed.ok) throw new Error(`expected '${name}' to be refused, got ${JSON.stringify(parsed.server)}`);
  expect(parsed.problems.length).toBeGreaterThan(0);
  return parsed.problems;
}

const remote = { url: 'https://mcp.example.com/mcp' };

describe('parseServerDefinition: the IDE shapes', () => {
  it('reads a stdio server: command, args, env, cwd', () => {
    const server = accepted('files', {
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'],
      env: { DEBUG: '1' },
      cwd: '/srv',
    });
    expect(server.transport).toEqual({
      kind: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'],
      env: { DEBUG: '1' },
      cwd: '/srv',
    });
  });

  it('gives a bare stdio server empty args and env and no cwd', () => {
    expect(accepted('files', { command: 'mcp-files' }).transport).toEqual({
      kind: 'stdio',
      command: 'mcp-files',
      args: [],
      env: {},
      cwd: undefined,
    });
    expect(accepted('files', { type: 'stdio', command: 'mcp-files' }).transport.kind).toBe('stdio');
  });

  it('reads a remote server as streamable HTTP, with its headers', () => {
    const server = accepted('github', {
      url: 'https://api.githubcopilot.com/mcp/',
      headers: { Authorization: 'Bearer abc' },
    });
    expect(server.transport).toEqual({
      kind: 'streamable-http',
      url: 'https://api.githubcopilot.com/mcp/',
      headers: { Authorization: 'Bearer abc' },
    });
  });

  it("accepts Windsurf's serverUrl for url", () => {
    expect(accepted('github', { serverUrl: 'https://mcp.example.com/mcp' }).transport).toEqual({
      kind: 'streamable-http',
      url: 'https://mcp.example.com/mcp',
      headers: {},
    });
  });

  it('maps "type": "sse" to the legacy SSE transport', () => {
    expect(accepted('legacy', { type: 'sse', url: 'http://127.0.0.1:9000/sse' }).transport).toEqual({
      kind: 'sse',
      url: 'http://127.0.0.1:9000/sse',
      headers: {},
    });
  });

  it.each(['http', 'streamable-http', 'streamableHttp'])('maps "type": "%s" to streamable HTTP', (type) => {
    expect(accepted('remote', { type, ...remote }).transport.kind).toBe('streamable-http');
  });

  it('normalizes the URL', () => {
    const transport = accepted('remote', { url: 'HTTPS://MCP.Example.com' }).transport;
    expect(transport).toMatchObject({ url: 'https://mcp.example.com/' });
  });

  it('turns "disabled": true into enabled false; enabled by default', () => {
    expect(accepted('remote', { ...remote, disabled: true }).enabled).toBe(false);
    expect(accepted('remote', { ...remote, disabled: false }).enabled).toBe(true);
    expect(accepted('remote', remote).enabled).toBe(true);
    expect(accepted('remote', { ...remote, enabled: false }).enabled).toBe(false);
  });

  it('accepts the approval lists of IDE configs and ignores them', () => {
    const plain = accepted('remote', remote);
    expect(accepted('remote', { ...remote, autoApprove: ['search'], alwaysAllow: ['read'] })).toEqual(plain);
  });
});

describe("parseServerDefinition: Gatehouse's own fields", () => {
  it('fills the defaults', () => {
    expect(accepted('github', remote, 'api')).toEqual({
      name: 'github',
      title: 'github',
      description: null,
      enabled: true,
      transport: { kind: 'streamable-http', url: 'https://mcp.example.com/mcp', headers: {} },
      policy: { roles: [], scopes: [] },
      toolOverrides: {},
      timeoutMs: 30_000,
      connectTimeoutMs: 10_000,
      startup: 'lazy',
      identity: 'none',
      health: { intervalMs: 30_000, timeoutMs: 5_000, unhealthyAfter: 3 },
      circuitBreaker: {},
      source: 'api',
    });
  });

  it('takes every field that is set', () => {
    const server = accepted('github', {
      ...remote,
      title: 'GitHub',
      description: 'Issues and pull requests',
      timeoutMs: 60_000,
      connectTimeoutMs: 2_000,
      startup: 'eager',
      identity: 'assertion',
      healthCheck: { intervalMs: 10_000 },
      circuitBreaker: { failureThreshold: 5, openMs: 1_000 },
    });
    expect(server).toMatchObject({
      title: 'GitHub',
      description: 'Issues and pull requests',
      timeoutMs: 60_000,
      connectTimeoutMs: 2_000,
      startup: 'eager',
      identity: 'assertion',
      health: { intervalMs: 10_000, timeoutMs: 5_000, unhealthyAfter: 3 },
      circuitBreaker: { failureThreshold: 5, openMs: 1_000 },
      source: 'file',
    });
  });

  it('maps roles and scope names to the logical scope keys', () => {
    const server = accepted('github', {
      ...remote,
      roles: ['admin', 'dev'],
      scopes: ['discover', 'tools.read', 'tools.execute', 'chat'],
    });
    expect(server.policy).toEqual({
      roles: ['admin', 'dev'],
      scopes: ['discover', 'toolsRead', 'toolsExecute', 'chat'],
    });
  });

  it('lets a tool override inherit what it does not set from the server, and hide a tool', () => {
    const server = accepted('github', {
      ...remote,
      roles: ['dev'],
      scopes: ['chat'],
      tools: {
        delete_repo: { roles: ['admin'] },
        summarize: { scopes: ['tools.read'] },
        internal_debug: { hidden: true },
      },
    });
    expect(server.toolOverrides).toEqual({
      delete_repo: { policy: { roles: ['admin'], scopes: ['chat'] }, hidden: false },
      summarize: { policy: { roles: ['dev'], scopes: ['toolsRead'] }, hidden: false },
      internal_debug: { policy: { roles: ['dev'], scopes: ['chat'] }, hidden: true },
    });
  });

  it('reads "auth" on-behalf-of with its scope; refuses it for stdio and beside an Authorization header', () => {
    const auth = { type: 'on-behalf-of', scope: 'api://8a398657-d76b-4509-998c-49ab8e4ceb86/access_as_user' };
    expect(accepted('downstream', { ...remote, auth }).auth).toEqual(auth);
    expect(accepted('github', remote).auth).toBeUndefined();
    expect(refused('local', { command: 'node', auth })).toEqual([
      expect.stringContaining('needs a remote server'),
    ]);
    expect(refused('both', { ...remote, headers: { Authorization: 'Bearer x' }, auth })).toEqual([
      expect.stringContaining('keep one way of authenticating'),
    ]);
    expect(refused('typo', { ...remote, auth: { type: 'obo', scope: 'x' } })).not.toEqual([]);
  });

  it('refuses an out-of-range timeout, naming the field', () => {
    expect(refused('github', { ...remote, timeoutMs: 5 }).join('\n')).toContain('"timeoutMs"');
  });
});

describe('parseServerDefinition: names', () => {
  it.each(['github', 'a', 'my-server', 'my_server', 'gh2', 'a-b_c', 'x'.repeat(32)])('accepts %s', (name) => {
    expect(accepted(name, remote).name).toBe(name);
  });

  it.each([
    ['GitHub', 'github'],
    ['my__server', 'my-server'],
    ['-github', 'github'],
    ['github-', 'github'],
    ['_github', 'github'],
    ['github_', 'github'],
    ['My Server', 'my-server'],
    ['x'.repeat(33), 'x'.repeat(32)],
  ])('refuses %s and suggests %s', (name, suggestion) => {
    const [problem, ...rest] = refused(name, remote);
    expect(rest).toEqual([]);
    expect(problem).toContain(`the server name '${name}' is not allowed`);
    expect(problem).toContain('up to 32 lower-case letters and digits');
    expect(problem).toContain(`for example '${suggestion}'`);
  });

  it('suggests nothing when no valid name can be made', () => {
    const [problem] = refused('__', remote);
    expect(problem).toContain("the server name '__' is not allowed");
    expect(problem).not.toContain('for example');
  });

  it('asks for a name when it is empty', () => {
    expect(refused('', remote)).toEqual(['the server needs a name, e.g. "github"']);
  });

  it('keeps a cut at 32 characters from losing the suggestion', () => {
    // Regression: the suggestion used to be cut to 32 characters after trimming separators, so a cut
    // landing on '-' left an invalid 'aaa…a-' and no suggestion was made.
    const name = `${'a'.repeat(31)}-bc`;
    const [problem] = refused(name, remote);
    expect(problem).toContain(`for example '${'a'.repeat(31)}'`);
  });

  it('reports a bad name together with a bad definition', () => {
    const problems = refused('Bad Name', { command: 'x', url: 'https://h' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("'Bad Name' is not allowed");
  });
});

describe('parseServerDefinition: refusals', () => {
  it('names an unknown field', () => {
    expect(refused('github', { comand: 'npx' })).toEqual([
      'unknown field "comand" (see docs/gateway.md for the fields a server entry takes)',
    ]);
  });

  it('names several unknown fields, and where a nested one is', () => {
    expect(refused('github', { ...remote, foo: 1, bar: 2 })[0]).toContain('unknown fields "foo", "bar"');
    expect(refused('github', { ...remote, tools: { search: { role: ['admin'] } } })[0]).toContain(
      'unknown field "role" in "tools.search"',
    );
  });

  it('needs a command or a url', () => {
    const [problem] = refused('github', { args: ['-y', 'server'] });
    expect(problem).toContain('neither "command"');
    expect(problem).toContain('nor "url"');
  });

  it('refuses url and command together', () => {
    expect(refused('github', { ...remote, command: 'npx' })).toEqual([
      '"command" belong to a stdio server, but "type" is "http": remove them or the url',
    ]);
    expect(refused('github', { type: 'stdio', command: 'npx', ...remote })[0]).toContain(
      'a server entry is one or the other',
    );
  });

  it('refuses url and serverUrl together', () => {
    expect(refused('github', { ...remote, serverUrl: 'https://other.example/mcp' })[0]).toContain(
      '"url" and "serverUrl" are both set',
    );
  });

  it('refuses a URL that is not http(s)', () => {
    expect(refused('github', { url: 'ftp://files.example.com/mcp' })).toEqual([
      `"url" 'ftp://files.example.com/mcp' must use http:// or https://, not ftp:`,
    ]);
    expect(refused('github', { url: 'file:///etc/passwd' })[0]).toContain('must use http:// or https://');
  });

  it('refuses a URL it cannot parse', () => {
    expect(refused('github', { url: 'mcp.example.com/mcp' })).toEqual([
      `"url" 'mcp.example.com/mcp' is not a valid URL: give an absolute http:// or https:// URL`,
    ]);
  });

  it('refuses credentials in the URL without repeating them', () => {
    const problems = refused('github', { url: 'https://alice:hunter2@mcp.example.com/mcp' });
    expect(problems).toEqual(['"url" must not carry a user name or password: put credentials in "headers"']);
    expect(refused('github', { url: 'https://alice@mcp.example.com/mcp' })).toEqual(problems);
  });

  it('does not repeat the password of a refused non-http URL', () => {
    // Regression: the URL used to be quoted whole, so a password in it reached the
    // GH_GATEWAY_INVALID_SERVER answer and the start-up error.
    const [problem] = refused('github', { url: 'ftp://alice:hunter2@files.example.com/mcp' });
    expect(problem).toContain('must use http:// or https://');
    expect(problem).not.toContain('hunter2');
  });

  it('refuses "type": "sse" without a url', () => {
    expect(refused('legacy', { type: 'sse' })).toEqual([
      `"type" is "sse" but "url" is missing: give the server's MCP endpoint URL`,
    ]);
  });

  it('refuses a scope that does not exist, naming the field and the choices', () => {
    const [problem] = refused('github', { ...remote, scopes: ['admin'] });
    expect(problem).toContain('"scopes.0"');
    expect(problem).toContain('"tools.read"');
    expect(refused('github', { ...remote, tools: { t: { scopes: ['write'] } } })[0]).toContain(
      '"tools.t.scopes.0"',
    );
  });

  it.each([
    ['a string', 'https://mcp.example.com/mcp'],
    ['null', null],
    ['an array', [remote]],
    ['a number', 42],
  ])('refuses %s as a definition', (_what, input) => {
    expect(refused('github', input)).toEqual([
      'a server definition must be a JSON object, e.g. {"url": "https://mcp.example.com/mcp"}',
    ]);
  });
});

describe('expandVariables', () => {
  const expand = (definition: unknown, env: Record<string, string | undefined>) => {
    const problems: string[] = [];
    const result = expandVariables(definition, env, 'mcpServers.github', problems);
    return { result, problems };
  };

  it('replaces ${VAR} in command, args, env, cwd, url, serverUrl and headers', () => {
    const env = { BIN: 'node', HOME: '/home/gh', TOKEN: 's3cret', HOST: 'mcp.example.com' };
    expect(
      expand(
        {
          command: '${BIN}',
          args: ['${HOME}/server.js', '--token=${TOKEN}'],
          env: { API_TOKEN: '${TOKEN}' },
          cwd: '${HOME}',
          url: 'https://${HOST}/mcp',
          serverUrl: 'https://${HOST}/sse',
          headers: { Authorization: 'Bearer ${TOKEN}' },
        },
        env,
      ),
    ).toEqual({
      result: {
        command: 'node',
        args: ['/home/gh/server.js', '--token=s3cret'],
        env: { API_TOKEN: 's3cret' },
        cwd: '/home/gh',
        url: 'https://mcp.example.com/mcp',
        serverUrl: 'https://mcp.example.com/sse',
        headers: { Authorization: 'Bearer s3cret' },
      },
      problems: [],
    });
  });

  it('uses the default of ${VAR:-default} only when VAR is not set', () => {
    const definition = { url: 'https://${HOST:-localhost:9000}/mcp' };
    expect(expand(definition, {}).result).toEqual({ url: 'https://localhost:9000/mcp' });
    expect(expand(definition, { HOST: 'mcp.example.com' }).result).toEqual({
      url: 'https://mcp.example.com/mcp',
    });
    expect(expand({ args: ['${EMPTY:-}x'] }, {})).toEqual({ result: { args: ['x'] }, problems: [] });
  });

  it('names a missing variable and the field that uses it', () => {
    const { problems } = expand(
      { url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer ${GITHUB_TOKEN}' } },
      {},
    );
    expect(problems).toEqual([
      "mcpServers.github.headers.Authorization uses ${GITHUB_TOKEN}, which is not set: set GITHUB_TOKEN in Gatehouse's environment (or write ${GITHUB_TOKEN:-default})",
    ]);
    expect(expand({ command: 'x', args: ['a', '${MISSING}'] }, {}).problems[0]).toMatch(
      /^mcpServers\.github\.args\[1\] uses \$\{MISSING\}/,
    );
  });

  it('reports every missing variable', () => {
    expect(expand({ command: '${A}', cwd: '${B}' }, {}).problems).toHaveLength(2);
  });

  it('leaves the other fields literal', () => {
    const definition = {
      url: 'https://mcp.example.com/mcp',
      title: '${TITLE}',
      description: 'costs ${PRICE}',
      tools: { '${T}': { roles: ['${ROLE}'] } },
    };
    expect(expand(definition, { TITLE: 'x', PRICE: 'y', T: 'z', ROLE: 'w' })).toEqual({
      result: definition,
      problems: [],
    });
  });

  it('does not expand a value that came from a variable again', () => {
    expect(expand({ command: '${A}' }, { A: '${B}', B: 'no' }).result).toEqual({ command: '${B}' });
  });

  it('returns a non-object unchanged and does not change its input', () => {
    expect(expand('https://${HOST}', { HOST: 'h' }).result).toBe('https://${HOST}');
    const input = { command: '${A}' };
    expand(input, { A: 'node' });
    expect(input).toEqual({ command: '${A}' });
  });
});

describe('splitSecrets and joinSecrets', () => {
  const definition = {
    url: 'https://mcp.example.com/mcp',
    headers: { Authorization: 'Bearer abc', 'X-Team': 'blue' },
    title: 'GitHub',
  };

  it('replaces every header and env value by {"set": true} and returns the values apart', () => {
    expect(splitSecrets(definition)).toEqual({
      definition: {
        url: 'https://mcp.example.com/mcp',
        headers: { Authorization: { set: true }, 'X-Team': { set: true } },
        title: 'GitHub',
      },
      secrets: { headers: { Authorization: 'Bearer abc', 'X-Team': 'blue' }, env: {} },
    });
    expect(splitSecrets({ command: 'npx', env: { TOKEN: 't' } })).toEqual({
      definition: { command: 'npx', env: { TOKEN: SECRET_SET } },
      secrets: { headers: {}, env: { TOKEN: 't' } },
    });
  });

  it('has no secrets for a definition without header or env values', () => {
    expect(splitSecrets({ url: 'https://h/mcp' })).toEqual({
      definition: { url: 'https://h/mcp' },
      secrets: null,
    });
    expect(splitSecrets({ command: 'npx', env: {} }).secrets).toBeNull();
  });

  it('does not change its input', () => {
    const copy = structuredClone(definition);
    splitSecrets(definition);
    expect(definition).toEqual(copy);
  });

  it('joins the stored values back into what split produced', () => {
    const { definition: clear, secrets } = splitSecrets(definition);
    expect(joinSecrets(clear, secrets)).toEqual({ definition });
  });

  it('keeps a new literal value and takes stored values only for markers', () => {
    const secrets = { headers: { Authorization: 'Bearer old', 'X-Team': 'blue' }, env: { TOKEN: 'old' } };
    expect(
      joinSecrets(
        {
          command: 'npx',
          headers: { Authorization: 'Bearer new', 'X-Team': { set: true } },
          env: { TOKEN: { set: true }, EXTRA: 'plain' },
        },
        secrets,
      ),
    ).toEqual({
      definition: {
        command: 'npx',
        headers: { Authorization: 'Bearer new', 'X-Team': 'blue' },
        env: { TOKEN: 'old', EXTRA: 'plain' },
      },
    });
  });

  it('drops a stored value that the definition no longer names', () => {
    const secrets = { headers: { Authorization: 'Bearer old', 'X-Old': 'x' }, env: {} };
    expect(joinSecrets({ headers: { Authorization: SECRET_SET } }, secrets)).toEqual({
      definition: { headers: { Authorization: 'Bearer old' } },
    });
  });

  it('reports a marker without a stored value', () => {
    expect(joinSecrets({ headers: { 'X-New': { set: true } } }, { headers: {}, env: {} })).toEqual({
      problem: '"headers.X-New" is {"set": true} but no value is stored for it: send the value itself',
    });
    expect(joinSecrets({ env: { TOKEN: { set: true } } }, null)).toEqual({
      problem: '"env.TOKEN" is {"set": true} but no value is stored for it: send the value itself',
    });
  });

  it('treats only exactly {"set": true} as a marker', () => {
    const secrets = { headers: { A: 'stored' }, env: {} };
    const notMarkers = { A: { set: true, value: 'x' } };
    expect(joinSecrets({ headers: notMarkers }, secrets)).toEqual({ definition: { headers: notMarkers } });
    expect(joinSecrets({ headers: { A: { set: 'true' } } }, secrets)).toEqual({
      definition: { headers: { A: { set: 'true' } } },
    });
  });
});
