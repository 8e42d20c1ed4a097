import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../src/errors/index.js';
import { ServerRegistry } from '../../../src/gateway/registry.js';
import { parseServerDefinition, type UpstreamServer } from '../../../src/gateway/server-config.js';
import type { DurableStore, UpstreamServerRepository } from '../../../src/storage/contract.js';
import { createSqliteStore } from '../../../src/storage/sqlite/index.js';
import { createSecretBox } from '../../../src/tokens/secret-box.js';

const root = mkdtempSync(path.join(tmpdir(), 'gatehouse-registry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const SECRET = 'test-secret-of-enough-length';
const TOKEN = 'Bearer ghp_plaintext-token-0123456789';
const BUILT_IN = new Set(['calculate_sum', 'list_servers']);

const remote = (headers: Record<string, unknown> = { Authorization: TOKEN }) => ({
  url: 'https://mcp.example.com/mcp',
  headers,
});

/** A database file and a way to open it, as each instance of Gatehouse would. */
function database() {
  const file = path.join(root, `${Math.random().toString(36).slice(2)}.db`);
  return {
    file,
    async open(): Promise<DurableStore> {
      const store = createSqliteStore({ file });
      cleanup.push(() => store.close());
      await store.migrate();
      return store;
    },
    /** The stored rows as SQLite holds them, read past every Gatehouse layer. */
    rows(): Record<string, unknown>[] {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare('select * from upstream_servers').all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
  };
}

function fileServer(name: string, definition: Record<string, unknown>): UpstreamServer {
  const parsed = parseServerDefinition(name, definition, 'file');
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.server;
}

function registryOn(
  store: DurableStore,
  options: {
    secret?: string;
    allowRuntimeStdio?: boolean;
    repository?: UpstreamServerRepository;
    file?: Record<string, Record<string, unknown>>;
  } = {},
): ServerRegistry {
  const file = options.file ?? {};
  const registry = new ServerRegistry(
    Object.entries(file).map(([name, definition]) => fileServer(name, definition)),
    file,
    options.repository ?? store.upstreamServers,
    createSecretBox(
      { value: options.secret ?? SECRET, source: 'GATEHOUSE_ENCRYPTION_KEY' },
      'gatehouse/upstream-secrets',
    ),
    {
      logger: pino({ level: 'silent' }),
      allowRuntimeStdio: options.allowRuntimeStdio ?? false,
      builtInNames: BUILT_IN,
    },
  );
  cleanup.push(() => registry.stop());
  return registry;
}

async function failure(promise: Promise<unknown>): Promise<GatehouseError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('expected a GatehouseError');
}

function transportOf(registry: ServerRegistry, name: string) {
  return registry.servers().find((server) => server.name === name)?.transport;
}

describe('ServerRegistry: config-file servers', () => {
  const file = {
    docs: { url: 'https://docs.example.com/mcp', headers: { 'X-Api-Key': 'file-key' } },
    local: { command: 'mcp-local', env: { TOKEN: 'file-token' } },
  };

  it('lists them with source file, their secret values masked', async () => {
    const registry = registryOn(await database().open(), { file });
    await registry.sync();
    expect(registry.servers().map((server) => [server.name, server.source])).toEqual([
      ['docs', 'file'],
      ['local', 'file'],
    ]);
    expect(registry.view('docs')).toEqual({
      name: 'docs',
      source: 'file',
      definition: { url: 'https://docs.example.com/mcp', headers: { 'X-Api-Key': { set: true } } },
      revision: null,
      updatedAt: null,
      updatedBy: null,
    });
    expect(registry.view('local').definition).toEqual({
      command: 'mcp-local',
      env: { TOKEN: { set: true } },
    });
    expect(transportOf(registry, 'docs')).toMatchObject({ headers: { 'X-Api-Key': 'file-key' } });
  });

  it('refuses to change or delete them at runtime', async () => {
    const store = await database().open();
    const registry = registryOn(store, { file });
    expect((await failure(registry.update('docs', remote(), 'u1'))).code).toBe('GH_GATEWAY_SERVER_READ_ONLY');
    expect((await failure(registry.delete('docs'))).code).toBe('GH_GATEWAY_SERVER_READ_ONLY');
    expect(await store.upstreamServers.list()).toEqual([]);
    expect(registry.view('docs').source).toBe('file');
  });

  it('refuses to register a server under a config-file name', async () => {
    const store = await database().open();
    const registry = registryOn(store, { file });
    const error = await failure(registry.create('docs', remote(), 'u1'));
    expect(error.code).toBe('GH_GATEWAY_SERVER_EXISTS');
    expect(error.message).toContain("'docs'");
    expect(await store.upstreamServers.list()).toEqual([]);
  });
});

describe('ServerRegistry: registering servers', () => {
  it('creates a server and shows it with its secret values masked, at revision 1', async () => {
    const registry = registryOn(await database().open());
    const view = await registry.create('github', { ...remote(), title: 'GitHub' }, 'user-1');
    expect(view).toMatchObject({
      name: 'github',
      source: 'api',
      definition: {
        url: 'https://mcp.example.com/mcp',
        headers: { Authorization: { set: true } },
        title: 'GitHub',
      },
      revision: 1,
      updatedBy: 'user-1',
    });
    expect(Number.isNaN(Date.parse(view.updatedAt ?? ''))).toBe(false);
    expect(JSON.stringify(view)).not.toContain('ghp_plaintext');
    expect(registry.view('github')).toEqual(view);
    expect(registry.views()).toEqual([view]);
    expect(registry.servers()).toEqual([
      expect.objectContaining({
        name: 'github',
        title: 'GitHub',
        source: 'api',
        transport: {
          kind: 'streamable-http',
          url: 'https://mcp.example.com/mcp',
          headers: { Authorization: TOKEN },
        },
      }),
    ]);
  });

  it('stores the secret values only sealed', async () => {
    const db = database();
    const store = await db.open();
    const registry = registryOn(store, { allowRuntimeStdio: true });
    await registry.create('github', remote(), 'user-1');
    await registry.create('local', { command: 'mcp-local', env: { API_TOKEN: 'env-plaintext-42' } }, null);

    const record = await store.upstreamServers.find('github');
    expect(record?.definition).toEqual({
      url: 'https://mcp.example.com/mcp',
      headers: { Authorization: { set: true } },
    });
    expect(record?.sealedSecrets).toMatch(/^v1\./);

    const rows = db.rows();
    expect(rows).toHaveLength(2);
    const everything = JSON.stringify(rows);
    expect(everything).not.toContain('ghp_plaintext');
    expect(everything).not.toContain('env-plaintext-42');
    for (const row of rows) expect(row.sealed_secrets).toMatch(/^v1\./);
  });

  it('stores no sealed value for a server without secrets', async () => {
    const store = await database().open();
    const registry = registryOn(store);
    await registry.create('open', { url: 'https://open.example.com/mcp' }, null);
    expect((await store.upstreamServers.find('open'))?.sealedSecrets).toBeNull();
    expect(transportOf(registry, 'open')).toEqual({
      kind: 'streamable-http',
      url: 'https://open.example.com/mcp',
      headers: {},
    });
  });

  it('is seen, with the real header value, by other instances on the same database after sync()', async () => {
    const db = database();
    const one = registryOn(await db.open());
    const two = registryOn(await db.open());
    const three = registryOn(await db.open());
    await two.sync();
    await three.sync();
    expect(two.servers()).toEqual([]);

    await one.create('github', remote(), 'user-1');
    expect(two.servers()).toEqual([]);
    await Promise.all([two.sync(), three.sync()]);
    for (const other of [two, three]) {
      expect(transportOf(other, 'github')).toEqual({
        kind: 'streamable-http',
        url: 'https://mcp.example.com/mcp',
        headers: { Authorization: TOKEN },
      });
      expect(other.view('github')).toEqual(one.view('github'));
    }

    await one.delete('github');
    await two.sync();
    expect(two.servers()).toEqual([]);
    expect((await failure(Promise.resolve().then(() => two.view('github')))).code).toBe(
      'GH_GATEWAY_SERVER_NOT_FOUND',
    );
  });

  it('refuses a name another instance registered meanwhile', async () => {
    const db = database();
    const one = registryOn(await db.open());
    const two = registryOn(await db.open());
    await one.create('github', remote(), 'user-1');
    const error = await failure(two.create('github', remote({ Authorization: 'Bearer other' }), 'user-2'));
    expect(error.code).toBe('GH_GATEWAY_SERVER_EXISTS');
    await two.sync();
    expect(transportOf(two, 'github')).toMatchObject({ headers: { Authorization: TOKEN } });
  });

  it('refuses a name that is already registered', async () => {
    const registry = registryOn(await database().open());
    await registry.create('github', remote(), 'user-1');
    expect((await failure(registry.create('github', remote(), 'user-1'))).code).toBe(
      'GH_GATEWAY_SERVER_EXISTS',
    );
  });

  it('refuses an invalid definition, listing every problem, and stores nothing', async () => {
    const store = await database().open();
    const registry = registryOn(store);
    const error = await failure(
      registry.create('github', { url: 'ftp://mcp.example.com', colour: 'blue' }, 'user-1'),
    );
    expect(error.code).toBe('GH_GATEWAY_INVALID_SERVER');
    expect(error.status).toBe(400);
    expect(error.message).toContain("The server definition for 'github' is invalid");
    expect(error.detail).toEqual({
      problems: ['unknown field "colour" (see docs/gateway.md for the fields a server entry takes)'],
    });

    const both = await failure(registry.create('Git Hub', { command: 'x', url: 'https://h' }, null));
    expect(both.code).toBe('GH_GATEWAY_INVALID_SERVER');
    expect((both.detail as { problems: string[] }).problems).toHaveLength(2);
    expect(await store.upstreamServers.list()).toEqual([]);
  });

  it.each(['http', 'sse', 'messages'])('refuses the reserved name %s', async (name) => {
    const store = await database().open();
    const error = await failure(registryOn(store).create(name, remote(), null));
    expect(error.code).toBe('GH_GATEWAY_INVALID_SERVER');
    expect(error.message).toContain(`'${name}' is reserved by the MCP endpoint (/mcp/${name})`);
    expect(await store.upstreamServers.list()).toEqual([]);
  });

  it('refuses the name of a built-in tool', async () => {
    const store = await database().open();
    const error = await failure(registryOn(store).create('calculate_sum', remote(), null));
    expect(error.code).toBe('GH_GATEWAY_INVALID_SERVER');
    expect(error.message).toContain("'calculate_sum' is the name of a built-in tool");
    expect(await store.upstreamServers.list()).toEqual([]);
  });

  it('refuses a stdio server at runtime unless allowed', async () => {
    const db = database();
    const store = await db.open();
    const stdio = { command: 'npx', args: ['-y', 'some-mcp-server'] };
    const error = await failure(registryOn(store).create('local', stdio, 'user-1'));
    expect(error.code).toBe('GH_GATEWAY_STDIO_REFUSED');
    expect(error.message).toContain('GATEHOUSE_GATEWAY_RUNTIME_STDIO=true');
    expect(await store.upstreamServers.list()).toEqual([]);

    const allowed = registryOn(store, { allowRuntimeStdio: true });
    await allowed.create('local', stdio, 'user-1');
    expect(transportOf(allowed, 'local')).toEqual({
      kind: 'stdio',
      command: 'npx',
      args: ['-y', 'some-mcp-server'],
      env: {},
      cwd: undefined,
    });
  });
});

describe('ServerRegistry: updating and deleting', () => {
  it('keeps a stored value sent back as {"set": true}', async () => {
    const store = await database().open();
    const registry = registryOn(store);
    await registry.create('github', remote({ Authorization: TOKEN, 'X-Team': 'blue' }), 'user-1');
    const view = await registry.update(
      'github',
      { ...remote({ Authorization: { set: true }, 'X-Team': 'green' }), title: 'GitHub' },
      'user-2',
    );
    expect(view).toMatchObject({
      revision: 2,
      updatedBy: 'user-2',
      definition: { title: 'GitHub', headers: { Authorization: { set: true }, 'X-Team': { set: true } } },
    });
    expect(transportOf(registry, 'github')).toMatchObject({
      headers: { Authorization: TOKEN, 'X-Team': 'green' },
    });
    expect(registry.servers()[0]?.title).toBe('GitHub');
    expect(JSON.stringify(await store.upstreamServers.find('github'))).not.toContain('green');
  });

  it('replaces a stored value sent anew', async () => {
    const db = database();
    const registry = registryOn(await db.open());
    await registry.create('github', remote(), 'user-1');
    await registry.update('github', remote({ Authorization: 'Bearer rotated-token' }), 'user-1');
    expect(transportOf(registry, 'github')).toMatchObject({
      headers: { Authorization: 'Bearer rotated-token' },
    });

    const other = registryOn(await db.open());
    await other.sync();
    expect(transportOf(other, 'github')).toMatchObject({
      headers: { Authorization: 'Bearer rotated-token' },
    });
    expect(JSON.stringify(db.rows())).not.toContain('rotated-token');
  });

  it('refuses a marker for a header that has no stored value, keeping the server as it was', async () => {
    const store = await database().open();
    const registry = registryOn(store);
    await registry.create('github', remote(), 'user-1');
    const error = await failure(
      registry.update('github', remote({ Authorization: { set: true }, 'X-New': { set: true } }), 'user-1'),
    );
    expect(error.code).toBe('GH_GATEWAY_INVALID_SERVER');
    expect(error.message).toContain('"headers.X-New" is {"set": true} but no value is stored for it');
    expect((await store.upstreamServers.find('github'))?.revision).toBe(1);
    expect(transportOf(registry, 'github')).toMatchObject({ headers: { Authorization: TOKEN } });
  });

  it('refuses an invalid update, listing its problems', async () => {
    const registry = registryOn(await database().open());
    await registry.create('github', remote(), 'user-1');
    const error = await failure(registry.update('github', { url: 'mcp.example.com' }, 'user-1'));
    expect(error.code).toBe('GH_GATEWAY_INVALID_SERVER');
    expect(error.message).toContain('is not a valid URL');
    expect(registry.view('github').revision).toBe(1);
  });

  it('refuses to update or delete a server that does not exist', async () => {
    const registry = registryOn(await database().open());
    expect((await failure(registry.update('nobody', remote(), null))).code).toBe(
      'GH_GATEWAY_SERVER_NOT_FOUND',
    );
    const error = await failure(registry.delete('nobody'));
    expect(error.code).toBe('GH_GATEWAY_SERVER_NOT_FOUND');
    expect(error.message).toContain("'nobody'");
  });

  it('deletes a server', async () => {
    const store = await database().open();
    const registry = registryOn(store);
    await registry.create('github', remote(), 'user-1');
    await registry.delete('github');
    expect(registry.servers()).toEqual([]);
    expect(await store.upstreamServers.find('github')).toBeUndefined();
    expect((await failure(registry.delete('github'))).code).toBe('GH_GATEWAY_SERVER_NOT_FOUND');
  });
});

describe('ServerRegistry: change listeners', () => {
  it('are told on create, update and delete, and not on a sync that finds nothing new', async () => {
    const db = database();
    const registry = registryOn(await db.open(), { file: { docs: { url: 'https://docs.example.com/mcp' } } });
    const seen: string[][] = [];
    registry.onChange((servers) => seen.push(servers.map((server) => `${server.name}:${server.title}`)));

    await registry.sync();
    expect(seen).toEqual([]);

    await registry.create('github', remote(), 'user-1');
    expect(seen).toEqual([['docs:docs', 'github:github']]);
    await registry.sync();
    await registry.sync();
    expect(seen).toHaveLength(1);

    await registry.update('github', { ...remote({ Authorization: { set: true } }), title: 'GitHub' }, 'u');
    expect(seen[1]).toEqual(['docs:docs', 'github:GitHub']);
    await registry.delete('github');
    expect(seen[2]).toEqual(['docs:docs']);
    await registry.sync();
    expect(seen).toHaveLength(3);
  });

  it("are told when another instance's change is read", async () => {
    const db = database();
    const one = registryOn(await db.open());
    const two = registryOn(await db.open());
    let calls = 0;
    two.onChange(() => {
      calls += 1;
    });
    await one.create('github', remote(), 'user-1');
    await two.sync();
    expect(calls).toBe(1);
    await two.sync();
    expect(calls).toBe(1);
  });
});

describe('ServerRegistry: unreadable rows', () => {
  it('leaves out a stored server whose secrets it cannot open, without throwing', async () => {
    const db = database();
    const writer = registryOn(await db.open());
    await writer.create('github', remote(), 'user-1');
    await writer.create('open', { url: 'https://open.example.com/mcp' }, 'user-1');

    const reader = registryOn(await db.open(), { secret: 'another-secret-of-enough-length' });
    await expect(reader.sync()).resolves.toBeUndefined();
    expect(reader.servers().map((server) => server.name)).toEqual(['open']);
    expect(reader.views().map((view) => view.name)).toEqual(['open']);
  });

  it('does not tell listeners again on every sync while a row stays unreadable', async () => {
    // Regression: a row that failed to load used to be seen as changed on every later poll, calling
    // every onChange listener (and logging the error) every syncIntervalMs.
    const db = database();
    const writer = registryOn(await db.open());
    await writer.create('github', remote(), 'user-1');

    const reader = registryOn(await db.open(), { secret: 'another-secret-of-enough-length' });
    let calls = 0;
    reader.onChange(() => {
      calls += 1;
    });
    await reader.sync();
    const afterFirst = calls;
    await reader.sync();
    await reader.sync();
    expect(calls).toBe(afterFirst);
  });
});

describe('ServerRegistry: a change while a poll is under way', () => {
  it('answers a create with the new server even when a sync started before it', async () => {
    // Regression: create() used to share the poll already in flight, whose list() ran before the
    // insert, and answered GH_GATEWAY_SERVER_NOT_FOUND for a server it had stored (update() and
    // delete() showed the old state the same way).
    const store = await database().open();
    const real = store.upstreamServers;
    // The real SQLite repository, its list() answer arriving late as over a network.
    const slowList: UpstreamServerRepository = {
      ...real,
      list: async () => {
        const records = await real.list();
        await delay(50);
        return records;
      },
    };
    const registry = registryOn(store, { repository: slowList });
    const poll = registry.sync();
    const created = registry.create('github', remote(), 'user-1');
    await poll;
    await expect(created).resolves.toMatchObject({ name: 'github', revision: 1 });
  });
});
