import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DurableStore } from '../../src/storage/contract.js';
import { createSqlDurableStore } from '../../src/storage/sql/durable-store.js';
import { createKvEphemeralStore } from '../../src/storage/sql/kv-ephemeral-store.js';
import { MIGRATIONS } from '../../src/storage/sql/migrations.js';
import { createSqliteStore, sqliteBackend } from '../../src/storage/sqlite/index.js';
import { describeDurableContract, describeEphemeralContract, sleep } from './contract-suite.js';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function freshFile(): string {
  // A directory that does not exist yet: the store must create it.
  return join(root, randomUUID(), 'gatehouse.db');
}

const notADirectory = join(root, 'not-a-directory');
writeFileSync(notADirectory, '');
const unreachable = {
  open: () => createSqliteStore({ file: join(notADirectory, 'gatehouse.db') }),
  variable: 'GATEHOUSE_DATA_DIR',
};

describeDurableContract('sqlite', {
  async fresh() {
    const file = freshFile();
    const opened: DurableStore[] = [];
    const track = (store: DurableStore) => {
      opened.push(store);
      return store;
    };
    return {
      open: () => track(createSqliteStore({ file })),
      openWith: (migrations) => track(createSqlDurableStore(sqliteBackend({ file }), migrations)),
      dispose: async () => {
        await Promise.all(opened.map((store) => store.close()));
      },
    };
  },
  unreachable,
});

describeEphemeralContract('sqlite kv table', {
  async open() {
    const store = createSqliteStore({ file: freshFile() });
    await store.migrate();
    return { store: store.ephemeral, dispose: () => store.close() };
  },
  unreachable: { ...unreachable, open: () => unreachable.open().ephemeral },
});

describe('sqlite specifics', () => {
  it('works in memory', async () => {
    const store = createSqliteStore({ file: ':memory:' });
    try {
      expect((await store.migrate()).applied).toEqual(Object.keys(MIGRATIONS).sort());
      const user = await store.users.upsert({ tenantId: 't', objectId: 'o' });
      await store.notes.create(user.id, 'in memory');
      expect(await store.notes.listByUser(user.id)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('names both data settings when the file cannot be opened', async () => {
    const store = unreachable.open();
    try {
      await expect(store.ping()).rejects.toThrow(/\(GATEHOUSE_DATA_DIR\)/);
    } finally {
      await store.close();
    }
  });

  it('purges expired kv rows when read and in the periodic sweep', async () => {
    const backend = sqliteBackend({ file: freshFile() });
    const store = createSqlDurableStore(backend);
    const kv = createKvEphemeralStore(backend, { sweepIntervalMs: 20 });
    try {
      await store.migrate();
      const rows = async () =>
        (await backend.db.selectFrom('kv').select('key').execute()).map((row) => row.key);
      // The durable store's own kv sweeps only every minute, so here only the read can purge.
      await store.ephemeral.set('read', 'v', 30);
      await sleep(60);
      expect(await store.ephemeral.get('read')).toBeUndefined();
      expect(await rows()).toEqual([]);

      await kv.set('swept', 'v', 30);
      await sleep(150);
      expect(await rows()).toEqual([]);
    } finally {
      await kv.close();
      await store.close();
    }
  });
});
