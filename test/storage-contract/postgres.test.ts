import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { DurableStore } from '../../src/storage/contract.js';
import { createPostgresStore, postgresBackend } from '../../src/storage/postgres/index.js';
import { createSqlDurableStore } from '../../src/storage/sql/durable-store.js';
import { describeDurableContract, describeEphemeralContract, lazily } from './contract-suite.js';

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseName = `gatehouse_test_${randomBytes(6).toString('hex')}`;
const testUrl = (() => {
  const url = new URL(adminUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
})();

async function adminQuery(statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

// Created on first use rather than in beforeAll: when the server is down every test then fails
// with the connection error, instead of being reported as skipped.
const testDatabase = lazily(async () => {
  await adminQuery(`create database ${databaseName}`);
  return { dispose: () => adminQuery(`drop database if exists ${databaseName} with (force)`) };
});
afterAll(() => testDatabase.dispose());

const randomSchema = () => `contract_${randomBytes(6).toString('hex')}`;

describeDurableContract('postgres', {
  async fresh() {
    await testDatabase.get();
    // A schema of its own is a fresh database as far as Gatehouse can tell.
    const schema = randomSchema();
    const opened: DurableStore[] = [];
    const track = (store: DurableStore) => {
      opened.push(store);
      return store;
    };
    return {
      open: () => track(createPostgresStore({ url: testUrl, schema, poolSize: 4 })),
      openWith: (migrations) =>
        track(createSqlDurableStore(postgresBackend({ url: testUrl, schema, poolSize: 2 }), migrations)),
      dispose: async () => {
        await Promise.all(opened.map((store) => store.close()));
      },
    };
  },
  unreachable: {
    open: () => createPostgresStore({ url: 'postgres://gatehouse:hunter2-secret@127.0.0.1:1/gatehouse' }),
    variable: 'DATABASE_URL',
    secret: 'hunter2-secret',
  },
});

describeEphemeralContract('postgres kv table', {
  async open() {
    await testDatabase.get();
    // The database's default schema, so the path without a schema option is covered too.
    const store = createPostgresStore({ url: testUrl });
    await store.migrate();
    return { store: store.ephemeral, dispose: () => store.close() };
  },
  unreachable: {
    open: () =>
      createPostgresStore({ url: 'postgres://gatehouse:hunter2-secret@127.0.0.1:1/gatehouse' }).ephemeral,
    variable: 'DATABASE_URL',
    secret: 'hunter2-secret',
  },
});

describe('postgres specifics', () => {
  it('keeps instances in different schemas apart', async () => {
    await testDatabase.get();
    const one = createPostgresStore({ url: testUrl, schema: randomSchema() });
    const two = createPostgresStore({ url: testUrl, schema: randomSchema() });
    try {
      await Promise.all([one.migrate(), two.migrate()]);
      const user = await one.users.upsert({ tenantId: 't', objectId: 'o' });
      expect(await two.users.findById(user.id)).toBeUndefined();
      expect(await two.users.findByIdentity('t', 'o')).toBeUndefined();
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('leaves pg’s process-wide bigint parser alone', () => {
    expect(pg.types.getTypeParser(pg.types.builtins.INT8)('9007199254740993')).toBe('9007199254740993');
  });
});
