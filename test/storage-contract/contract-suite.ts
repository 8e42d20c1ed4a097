/**
 * The storage contract suite. Every backend runs it (sqlite.test.ts, postgres.test.ts,
 * redis.test.ts); a new backend is done when it passes. Each case checks one promise made in
 * src/storage/contract.ts and docs/storage.md.
 */
import { randomUUID } from 'node:crypto';
import { type Migration, sql } from 'kysely';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { isGatehouseError, StorageUnavailableError } from '../../src/errors/index.js';
import type { DurableStore, EphemeralStore } from '../../src/storage/contract.js';
import { MIGRATIONS } from '../../src/storage/sql/migrations.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The real migrations followed by one that does some work, then fails. */
export const FAILING_MIGRATIONS: Readonly<Record<string, Migration>> = {
  ...MIGRATIONS,
  '999_always_fails': {
    async up(db) {
      await db.schema.createTable('half_applied').addColumn('id', 'text').execute();
      await sql`select * from no_such_table`.execute(db);
    },
  },
};

export interface FreshDatabase {
  /** A new store on this database; every call reaches the same data. */
  open(): DurableStore;
  /** A store on this database whose migration list is FAILING_MIGRATIONS. */
  openWithFailingMigrations(): DurableStore;
  /** Closes what open() returned and removes the database. */
  dispose(): Promise<void>;
}

export interface Unreachable<T> {
  open(): T;
  /** The setting the error message must name. */
  variable: string;
  /** A password in the configured URL, which the message must not repeat. */
  secret?: string;
}

export interface DurableTarget {
  /** A database no other test uses. */
  fresh(): Promise<FreshDatabase>;
  unreachable: Unreachable<DurableStore>;
}

export interface EphemeralTarget {
  open(): Promise<{ store: EphemeralStore; dispose(): Promise<void> }>;
  unreachable: Unreachable<EphemeralStore>;
}

/**
 * Opens a shared fixture on first use. A failure to open (the server is down) then fails every
 * test that needs it, where a throwing beforeAll would only mark them skipped.
 */
export function lazily<T extends { dispose(): Promise<void> }>(open: () => Promise<T>) {
  let opening: Promise<T> | undefined;
  return {
    get: () => {
      opening ??= open();
      return opening;
    },
    dispose: async () => {
      const fixture = await opening?.catch(() => undefined);
      await fixture?.dispose();
    },
  };
}

async function expectUnavailable(operation: Promise<unknown>, target: Unreachable<unknown>): Promise<void> {
  const error = await operation.then(
    () => expect.fail('expected the operation to fail'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StorageUnavailableError);
  const { code, message } = error as StorageUnavailableError;
  expect(code).toBe('GH_STORAGE_UNAVAILABLE');
  expect(message).toContain(target.variable);
  if (target.secret !== undefined) expect(message).not.toContain(target.secret);
}

async function expectInvalidArgument(operation: Promise<unknown>): Promise<void> {
  const error = await operation.then(
    () => expect.fail('expected the operation to be rejected'),
    (reason: unknown) => reason,
  );
  expect(isGatehouseError(error) && error.code).toBe('GH_STORAGE_INVALID_ARGUMENT');
}

export function describeDurableContract(name: string, target: DurableTarget): void {
  describe(`${name}: durable store contract`, () => {
    describe('migrate', () => {
      it('applies every migration once, then nothing', async () => {
        const database = await target.fresh();
        try {
          const store = database.open();
          expect(await store.migrate()).toEqual({ applied: ['001_initial'], current: '001_initial' });
          expect(await store.migrate()).toEqual({ applied: [], current: '001_initial' });
          expect(await database.open().migrate()).toEqual({ applied: [], current: '001_initial' });
        } finally {
          await database.dispose();
        }
      });

      it('lets concurrent callers, in one store or several, apply each migration exactly once', async () => {
        const database = await target.fresh();
        try {
          const shared = database.open();
          const stores = [shared, shared, database.open(), database.open(), database.open()];
          const reports = await Promise.all(stores.map((store) => store.migrate()));
          expect(reports.flatMap((report) => report.applied)).toEqual(['001_initial']);
          for (const report of reports) expect(report.current).toBe('001_initial');
        } finally {
          await database.dispose();
        }
      });

      it('rolls a failed run back entirely and reports GH_STORAGE_MIGRATION_FAILED', async () => {
        const database = await target.fresh();
        try {
          const failing = await database
            .openWithFailingMigrations()
            .migrate()
            .then(
              () => expect.fail('expected the migration to fail'),
              (reason: unknown) => reason,
            );
          expect(isGatehouseError(failing) && failing.code).toBe('GH_STORAGE_MIGRATION_FAILED');
          expect(isGatehouseError(failing) && failing.detail).toEqual({ migration: '999_always_fails' });
          // 001 ran in the same transaction; had anything been kept, it would not apply again.
          expect(await database.open().migrate()).toEqual({
            applied: ['001_initial'],
            current: '001_initial',
          });
        } finally {
          await database.dispose();
        }
      });
    });

    describe('repositories', () => {
      const tenantId = randomUUID();
      const opened = lazily(async () => {
        const database = await target.fresh();
        const store = database.open();
        await store.migrate();
        return { store, dispose: () => database.dispose() };
      });
      let store: DurableStore;
      beforeEach(async () => {
        ({ store } = await opened.get());
      });
      afterAll(() => opened.dispose());

      it('names its backend and answers ping', async () => {
        expect(['sqlite', 'postgres']).toContain(store.backend);
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('creates a user on first sight', async () => {
        const before = Date.now();
        const user = await store.users.upsert({
          tenantId,
          objectId: randomUUID(),
          displayName: 'Alice Example',
          preferredUsername: 'alice@example.test',
        });
        expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(user).toMatchObject({
          tenantId,
          displayName: 'Alice Example',
          preferredUsername: 'alice@example.test',
        });
        expect(user.createdAt).toBeInstanceOf(Date);
        expect(user.createdAt.getTime()).toBeGreaterThanOrEqual(before);
        expect(user.lastSeenAt.getTime()).toBe(user.createdAt.getTime());
      });

      it('defaults missing display fields to null', async () => {
        const user = await store.users.upsert({ tenantId, objectId: randomUUID() });
        expect(user.displayName).toBeNull();
        expect(user.preferredUsername).toBeNull();
      });

      it('on a later sight keeps id and createdAt, refreshes display fields and lastSeenAt', async () => {
        const objectId = randomUUID();
        const first = await store.users.upsert({
          tenantId,
          objectId,
          displayName: 'Old',
          preferredUsername: 'old@x',
        });
        await sleep(5);
        const second = await store.users.upsert({
          tenantId,
          objectId,
          displayName: 'New',
          preferredUsername: 'new@x',
        });
        expect(second.id).toBe(first.id);
        expect(second.createdAt.getTime()).toBe(first.createdAt.getTime());
        expect(second.lastSeenAt.getTime()).toBeGreaterThan(first.lastSeenAt.getTime());
        expect(second).toMatchObject({ displayName: 'New', preferredUsername: 'new@x' });
      });

      it('keeps a display field left undefined and clears one set to null', async () => {
        const objectId = randomUUID();
        await store.users.upsert({ tenantId, objectId, displayName: 'Kept', preferredUsername: 'cleared@x' });
        const updated = await store.users.upsert({ tenantId, objectId, preferredUsername: null });
        expect(updated).toMatchObject({ displayName: 'Kept', preferredUsername: null });
      });

      it('finds users by id and by identity, and nothing for unknown ones', async () => {
        const objectId = randomUUID();
        const user = await store.users.upsert({ tenantId, objectId, displayName: 'Findable' });
        expect(await store.users.findById(user.id)).toEqual(user);
        expect(await store.users.findByIdentity(tenantId, objectId)).toEqual(user);
        expect(await store.users.findById(randomUUID())).toBeUndefined();
        expect(await store.users.findById('not-a-uuid')).toBeUndefined();
        expect(await store.users.findByIdentity(tenantId, randomUUID())).toBeUndefined();
        expect(await store.users.findByIdentity(randomUUID(), objectId)).toBeUndefined();
      });

      it('keys identity on tenant and object id together', async () => {
        const objectId = randomUUID();
        const here = await store.users.upsert({ tenantId, objectId });
        const elsewhere = await store.users.upsert({ tenantId: randomUUID(), objectId });
        expect(elsewhere.id).not.toBe(here.id);
      });

      it('creates one user when the same identity is upserted concurrently', async () => {
        const objectId = randomUUID();
        const users = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.users.upsert({ tenantId, objectId, displayName: `n${i}` }),
          ),
        );
        expect(new Set(users.map((user) => user.id)).size).toBe(1);
      });

      it('stores notes and lists a user’s own, oldest first', async () => {
        const user = await store.users.upsert({ tenantId, objectId: randomUUID() });
        const texts = ['first', 'second — ünïcødé ✓', 'x'.repeat(10_000)];
        const created = [];
        for (const text of texts) {
          created.push(await store.notes.create(user.id, text));
          await sleep(2);
        }
        expect(created[0]).toMatchObject({ userId: user.id, text: 'first' });
        expect(created[0]?.createdAt).toBeInstanceOf(Date);
        expect(await store.notes.listByUser(user.id)).toEqual(created);
        expect(await store.notes.listByUser(randomUUID())).toEqual([]);
      });

      it('never lets one user list or delete another’s note', async () => {
        const alice = await store.users.upsert({ tenantId, objectId: randomUUID() });
        const bob = await store.users.upsert({ tenantId, objectId: randomUUID() });
        const note = await store.notes.create(alice.id, 'alice only');
        await store.notes.create(bob.id, 'bob only');

        expect((await store.notes.listByUser(bob.id)).map((n) => n.text)).toEqual(['bob only']);
        expect(await store.notes.deleteForUser(bob.id, note.id)).toBe(false);
        expect(await store.notes.listByUser(alice.id)).toEqual([note]);

        expect(await store.notes.deleteForUser(alice.id, note.id)).toBe(true);
        expect(await store.notes.deleteForUser(alice.id, note.id)).toBe(false);
        expect(await store.notes.listByUser(alice.id)).toEqual([]);
        expect(await store.notes.deleteForUser(alice.id, randomUUID())).toBe(false);
      });

      it('rejects a note for a user that does not exist', async () => {
        await expectInvalidArgument(store.notes.create(randomUUID(), 'orphan'));
      });
    });

    describe('an unreachable server', () => {
      it('yields StorageUnavailableError naming the setting to check', async () => {
        const store = target.unreachable.open();
        try {
          await expectUnavailable(store.ping(), target.unreachable);
          await expectUnavailable(store.migrate(), target.unreachable);
          await expectUnavailable(store.users.findById(randomUUID()), target.unreachable);
          await expectUnavailable(store.ephemeral.get('any'), target.unreachable);
        } finally {
          await store.close();
        }
      });
    });
  });
}

export function describeEphemeralContract(name: string, target: EphemeralTarget): void {
  describe(`${name}: ephemeral store contract`, () => {
    const opened = lazily(() => target.open());
    let store: EphemeralStore;
    beforeEach(async () => {
      ({ store } = await opened.get());
    });
    afterAll(() => opened.dispose());
    const key = (label: string) => `contract:${label}:${randomUUID()}`;

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('gets what was set, and nothing for an absent key', async () => {
      const k = key('set');
      const value = JSON.stringify({ text: 'ünïcødé ✓', n: 1 });
      await store.set(k, value, 10_000);
      expect(await store.get(k)).toBe(value);
      expect(await store.get(key('absent'))).toBeUndefined();
      const empty = key('empty');
      await store.set(empty, '', 10_000);
      expect(await store.get(empty)).toBe('');
    });

    it('replaces both the value and the TTL on set', async () => {
      const k = key('overwrite');
      await store.set(k, 'short', 60);
      await store.set(k, 'long', 10_000);
      await sleep(150);
      expect(await store.get(k)).toBe('long');
    });

    it('treats an expired key as absent in every operation', async () => {
      const k = key('expiry');
      await store.set(k, 'v', 50);
      await sleep(120);
      expect(await store.get(k)).toBeUndefined();
      expect(await store.take(k)).toBeUndefined();
      await store.set(k, 'v', 50);
      await sleep(120);
      expect(await store.delete(k)).toBe(false);
      await store.set(k, 'v', 50);
      await sleep(120);
      expect(await store.touch(k, 10_000)).toBe(false);
      expect(await store.get(k)).toBeUndefined();
    });

    it('setIfAbsent stores only when the key is absent or expired', async () => {
      const k = key('nx');
      expect(await store.setIfAbsent(k, 'first', 80)).toBe(true);
      expect(await store.setIfAbsent(k, 'second', 10_000)).toBe(false);
      expect(await store.get(k)).toBe('first');
      await sleep(150);
      expect(await store.setIfAbsent(k, 'third', 10_000)).toBe(true);
      expect(await store.get(k)).toBe('third');
    });

    it('setIfAbsent lets exactly one of 20 concurrent callers win', async () => {
      const k = key('nx-race');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.setIfAbsent(k, `caller-${i}`, 10_000)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get(k)).toBe(`caller-${results.indexOf(true)}`);
    });

    it('take returns the value once and removes it', async () => {
      const k = key('take');
      await store.set(k, 'once', 10_000);
      expect(await store.take(k)).toBe('once');
      expect(await store.take(k)).toBeUndefined();
      expect(await store.get(k)).toBeUndefined();
      expect(await store.take(key('absent'))).toBeUndefined();
    });

    it('take hands the value to exactly one of 20 concurrent callers', async () => {
      const k = key('take-race');
      await store.set(k, 'single-use', 10_000);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.take(k)));
      expect(results.filter((value) => value !== undefined)).toEqual(['single-use']);
    });

    it('delete reports whether a live key was removed', async () => {
      const k = key('delete');
      await store.set(k, 'v', 10_000);
      expect(await store.delete(k)).toBe(true);
      expect(await store.get(k)).toBeUndefined();
      expect(await store.delete(k)).toBe(false);
    });

    it('increment counts within one window that keeps the first expiry', async () => {
      const k = key('counter');
      const before = Date.now();
      const first = await store.increment(k, 10_000);
      expect(first.count).toBe(1);
      expect(first.resetAt).toBeGreaterThanOrEqual(before + 10_000 - 5);
      expect(first.resetAt).toBeLessThanOrEqual(Date.now() + 10_000 + 5);
      await sleep(20);
      const second = await store.increment(k, 60_000);
      const third = await store.increment(k, 60_000);
      expect([second.count, third.count]).toEqual([2, 3]);
      expect(Math.abs(third.resetAt - first.resetAt)).toBeLessThanOrEqual(5);
    });

    it('increment gives 20 concurrent callers the counts 1 to 20', async () => {
      const k = key('counter-race');
      const results = await Promise.all(Array.from({ length: 20 }, () => store.increment(k, 10_000)));
      expect(results.map((state) => state.count).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it('increment starts a new window once the old one expired', async () => {
      const k = key('window');
      const first = await store.increment(k, 60);
      await store.increment(k, 60);
      await sleep(150);
      const fresh = await store.increment(k, 10_000);
      expect(fresh.count).toBe(1);
      expect(fresh.resetAt).toBeGreaterThan(first.resetAt);
    });

    it('touch extends a live key and reports an absent one', async () => {
      const k = key('touch');
      await store.set(k, 'kept', 80);
      expect(await store.touch(k, 10_000)).toBe(true);
      await sleep(150);
      expect(await store.get(k)).toBe('kept');
      expect(await store.touch(key('absent'), 10_000)).toBe(false);
    });

    it('rejects a TTL that is not a positive integer, storing nothing', async () => {
      const k = key('invalid-ttl');
      for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectInvalidArgument(store.set(k, 'v', ttl));
        await expectInvalidArgument(store.setIfAbsent(k, 'v', ttl));
        await expectInvalidArgument(store.increment(k, ttl));
        await expectInvalidArgument(store.touch(k, ttl));
      }
      expect(await store.get(k)).toBeUndefined();
    });

    it('yields StorageUnavailableError naming the setting to check when the server is unreachable', async () => {
      const unreachable = target.unreachable.open();
      try {
        await expectUnavailable(unreachable.ping(), target.unreachable);
        await expectUnavailable(unreachable.get('any'), target.unreachable);
        await expectUnavailable(unreachable.increment('any', 1_000), target.unreachable);
      } finally {
        await unreachable.close();
      }
    });
  });
}
