import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DurableStore } from '../../src/storage/contract.js';
import { createSqlDurableStore } from '../../src/storage/sql/durable-store.js';
import { createKvEphemeralStore } from '../../src/storage/sql/kv-ephemeral-store.js';
import { MIGRATIONS } from '../../src/storage/sql/migrations.js';
import {
  createSqliteStore,
  defaultSqliteDriver,
  type SqliteDriverName,
  sqliteBackend,
} from '../../src/storage/sqlite/index.js';
import { loadableSqliteDrivers } from '../helpers/sqlite-drivers.js';
import { describeDurableContract, describeEphemeralContract, sleep } from './contract-suite.js';

// Every SQLite driver this runtime can load passes the whole contract; npm test runs this file
// under each supported Node.js (scripts/runtime-check.sh).
const drivers = loadableSqliteDrivers();

const root = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function freshFile(): string {
  // A directory that does not exist yet: the store must create it.
  return join(root, randomUUID(), 'gatehouse.db');
}

const notADirectory = join(root, 'not-a-directory');
writeFileSync(notADirectory, '');

describe('the SQLite driver of this runtime', () => {
  it('is node:sqlite where the runtime has it, else better-sqlite3, and it loads', () => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    const builtIn = major >= 24 || (major === 22 && minor >= 16) || (major === 23 && minor >= 11);
    expect(defaultSqliteDriver()).toBe(builtIn ? 'node:sqlite' : 'better-sqlite3');
    expect(drivers).toContain(defaultSqliteDriver());
  });
});

for (const driver of drivers) describeDriver(driver);

function describeDriver(driver: SqliteDriverName) {
  const unreachable = {
    open: () => createSqliteStore({ file: join(notADirectory, 'gatehouse.db'), driver }),
    variable: 'GATEHOUSE_DATA_DIR',
  };

  describeDurableContract(`sqlite (${driver})`, {
    async fresh() {
      const file = freshFile();
      const opened: DurableStore[] = [];
      const track = (store: DurableStore) => {
        opened.push(store);
        return store;
      };
      return {
        open: () => track(createSqliteStore({ file, driver })),
        openWith: (migrations) => track(createSqlDurableStore(sqliteBackend({ file, driver }), migrations)),
        dispose: async () => {
          await Promise.all(opened.map((store) => store.close()));
        },
      };
    },
    unreachable,
  });

  describeEphemeralContract(`sqlite kv table (${driver})`, {
    async open() {
      const store = createSqliteStore({ file: freshFile(), driver });
      await store.migrate();
      return { store: store.ephemeral, dispose: () => store.close() };
    },
    unreachable: { ...unreachable, open: () => unreachable.open().ephemeral },
  });

  describe(`sqlite specifics (${driver})`, () => {
    it('works in memory', async () => {
      const store = createSqliteStore({ file: ':memory:', driver });
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
      const backend = sqliteBackend({ file: freshFile(), driver });
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
}
