/**
 * The storage contract suite. Every backend runs it (sqlite.test.ts, postgres.test.ts,
 * redis.test.ts); a new backend is done when it passes. Each case checks one promise made in
 * src/storage/contract.ts and docs/storage.md.
 */
import { randomUUID } from 'node:crypto';
import { type Migration, sql } from 'kysely';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isGatehouseError, StorageUnavailableError } from '../../src/errors/index.js';
import type { AuditQuery, AuditRowInput } from '../../src/ops/audit-log.js';
import type {
  DurableStore,
  EphemeralStore,
  MembershipInput,
  SigningKeyInput,
  UpstreamServerInput,
} from '../../src/storage/contract.js';
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX } from '../../src/storage/contract.js';
import { MIGRATIONS } from '../../src/storage/sql/migrations.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every migration's name, in the order they run, and the newest. */
const MIGRATION_NAMES = Object.keys(MIGRATIONS).sort();
const LATEST_MIGRATION = MIGRATION_NAMES[MIGRATION_NAMES.length - 1];

/** What a database migrated by the first release holds: the first migration only. */
const FIRST_RELEASE_MIGRATIONS: Readonly<Record<string, Migration>> = {
  '001_initial': MIGRATIONS['001_initial']!,
};

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
  /** A store on this database whose migration list is `migrations` instead of the real one. */
  openWith(migrations: Readonly<Record<string, Migration>>): DurableStore;
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
          expect(await store.migrate()).toEqual({ applied: MIGRATION_NAMES, current: LATEST_MIGRATION });
          expect(await store.migrate()).toEqual({ applied: [], current: LATEST_MIGRATION });
          expect(await database.open().migrate()).toEqual({ applied: [], current: LATEST_MIGRATION });
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
          expect(reports.flatMap((report) => report.applied)).toEqual(MIGRATION_NAMES);
          for (const report of reports) expect(report.current).toBe(LATEST_MIGRATION);
        } finally {
          await database.dispose();
        }
      });

      it('rolls a failed run back entirely and reports GH_STORAGE_MIGRATION_FAILED', async () => {
        const database = await target.fresh();
        try {
          const failing = await database
            .openWith(FAILING_MIGRATIONS)
            .migrate()
            .then(
              () => expect.fail('expected the migration to fail'),
              (reason: unknown) => reason,
            );
          expect(isGatehouseError(failing) && failing.code).toBe('GH_STORAGE_MIGRATION_FAILED');
          expect(isGatehouseError(failing) && failing.detail).toEqual({ migration: '999_always_fails' });
          // The real migrations ran in the same transaction; had anything been kept, they would not apply again.
          expect(await database.open().migrate()).toEqual({
            applied: MIGRATION_NAMES,
            current: LATEST_MIGRATION,
          });
        } finally {
          await database.dispose();
        }
      });

      it('upgrades a database migrated by the first release, keeping its data', async () => {
        const database = await target.fresh();
        try {
          const old = database.openWith(FIRST_RELEASE_MIGRATIONS);
          expect(await old.migrate()).toEqual({ applied: ['001_initial'], current: '001_initial' });
          const user = await old.users.upsert({ tenantId: randomUUID(), objectId: randomUUID() });
          const note = await old.notes.create(user.id, 'kept across the upgrade');

          const store = database.open();
          expect(await store.migrate()).toEqual({
            applied: MIGRATION_NAMES.slice(1),
            current: LATEST_MIGRATION,
          });
          expect(await store.users.findById(user.id)).toEqual(user);
          expect(await store.notes.listByUser(user.id)).toEqual([note]);
          const membership = { userId: user.id, org: 'contoso', team: null, role: 'member' };
          expect(await store.memberships.addIfNone(membership)).toBe(true);
          expect(await store.memberships.listForUser(user.id)).toMatchObject([membership]);
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
        return { database, store, dispose: () => database.dispose() };
      });
      let database: FreshDatabase;
      let store: DurableStore;
      beforeEach(async () => {
        ({ database, store } = await opened.get());
      });
      const newUser = () => store.users.upsert({ tenantId, objectId: randomUUID() });
      afterAll(() => opened.dispose());

      it('keeps each user’s conversations: created with an exchange, appended in order, never another user’s', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const first = [
          { role: 'user' as const, content: 'Hello ✓ ünïcødé' },
          { role: 'assistant' as const, content: 'Hi Alice.' },
        ];
        const before = Date.now();
        const chat = await store.chats.create(alice.id, first);
        expect(chat).toMatchObject({ userId: alice.id, messages: first, finishedAt: null, revision: 1 });
        expect(chat.createdAt.getTime()).toBeGreaterThanOrEqual(before);
        expect(await store.chats.find(alice.id, chat.id)).toEqual(chat);
        expect(await store.chats.find(bob.id, chat.id)).toBeUndefined();

        const second = [
          { role: 'user' as const, content: 'And again?' },
          { role: 'assistant' as const, content: 'Again.' },
        ];
        expect(await store.chats.append(bob.id, chat.id, second, 1)).toEqual({ status: 'not-found' });
        const appended = await store.chats.append(alice.id, chat.id, second, 1);
        expect(appended).toMatchObject({
          status: 'appended',
          chat: { revision: 2, messages: [...first, ...second] },
        });
        expect(await store.chats.find(alice.id, chat.id)).toEqual(
          appended.status === 'appended' ? appended.chat : undefined,
        );
        // A write based on the older revision is refused and changes nothing.
        expect(await store.chats.append(alice.id, chat.id, second, 1)).toEqual({ status: 'conflict' });
        expect((await store.chats.find(alice.id, chat.id))?.messages).toHaveLength(4);
        expect(await store.chats.append(alice.id, randomUUID(), second, 1)).toEqual({ status: 'not-found' });
      });

      it('finishes a conversation once, for its owner only; a finished one takes no more messages', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const chat = await store.chats.create(alice.id, [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'a' },
        ]);
        expect(await store.chats.finish(bob.id, chat.id)).toBe('not-found');
        expect(await store.chats.finish(alice.id, chat.id)).toBe('finished');
        expect(await store.chats.finish(alice.id, chat.id)).toBe('already-finished');
        const found = await store.chats.find(alice.id, chat.id);
        expect(found?.finishedAt).toBeInstanceOf(Date);
        expect(await store.chats.append(alice.id, chat.id, [{ role: 'user', content: 'late' }], 1)).toEqual({
          status: 'finished',
        });
        expect((await store.chats.find(alice.id, chat.id))?.messages).toHaveLength(2);
      });

      it('refuses a conversation for a user that does not exist', async () => {
        await expectInvalidArgument(store.chats.create(randomUUID(), [{ role: 'user', content: 'q' }]));
      });

      it('keeps one Entra session per user: saved, replaced, found, deleted, never another user’s', async () => {
        const alice = await newUser();
        const bob = await newUser();
        expect(await store.entraSessions.find(alice.id)).toBeUndefined();
        await store.entraSessions.save({
          userId: alice.id,
          sealedTokens: 'v1.k.iv.first',
          roles: ['admin'],
          groups: ['g1', 'g2'],
        });
        await store.entraSessions.save({
          userId: bob.id,
          sealedTokens: 'v1.k.iv.bob',
          roles: [],
          groups: [],
        });
        await store.entraSessions.save({
          userId: alice.id,
          sealedTokens: 'v1.k.iv.second',
          roles: ['user'],
          groups: [],
        });
        expect(await store.entraSessions.find(alice.id)).toMatchObject({
          userId: alice.id,
          sealedTokens: 'v1.k.iv.second',
          roles: ['user'],
          groups: [],
        });
        expect((await store.entraSessions.find(alice.id))?.updatedAt).toBeInstanceOf(Date);
        expect(await store.entraSessions.delete(alice.id)).toBe(true);
        expect(await store.entraSessions.delete(alice.id)).toBe(false);
        expect(await store.entraSessions.find(alice.id)).toBeUndefined();
        expect(await store.entraSessions.find(bob.id)).toMatchObject({ sealedTokens: 'v1.k.iv.bob' });
      });

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

      it('adds memberships and lists a user’s own, oldest first', async () => {
        const user = await newUser();
        const before = Date.now();
        const inputs: MembershipInput[] = [
          { userId: user.id, org: 'contoso', team: null, role: 'member' },
          { userId: user.id, org: 'contoso', team: 'platform', role: 'admin' },
          { userId: user.id, org: 'fabrikam — ünïcødé ✓', team: 'x'.repeat(200), role: 'r'.repeat(200) },
        ];
        const added = [];
        for (const input of inputs) {
          added.push(await store.memberships.add(input));
          await sleep(2);
        }
        expect(added).toMatchObject(inputs);
        expect(added[0]?.createdAt).toBeInstanceOf(Date);
        expect(added[0]?.createdAt.getTime()).toBeGreaterThanOrEqual(before);
        expect(await store.memberships.listForUser(user.id)).toEqual(added);
        expect(await store.memberships.listForUser(randomUUID())).toEqual([]);
      });

      it('lists every membership, each user’s oldest first', async () => {
        const first = await newUser();
        const second = await newUser();
        const a = await store.memberships.add({
          userId: second.id,
          org: 'contoso',
          team: null,
          role: 'member',
        });
        await sleep(2);
        const b = await store.memberships.add({
          userId: first.id,
          org: 'contoso',
          team: 'ops',
          role: 'admin',
        });
        await sleep(2);
        const c = await store.memberships.add({
          userId: second.id,
          org: 'contoso',
          team: 'ops',
          role: 'admin',
        });
        const all = await store.memberships.listAll();
        const ours = all.filter((m) => m.userId === first.id || m.userId === second.id);
        const [low, high] = first.id < second.id ? [[b], [a, c]] : [[a, c], [b]];
        expect(ours).toEqual([...low!, ...high!]);
        const ids = all.map((m) => m.userId);
        expect(ids).toEqual([...ids].sort());
      });

      it('finds users by preferred username, ignoring case, in every tenant', async () => {
        const name = `someone-${randomUUID()}@contoso.example`;
        const here = await store.users.upsert({ tenantId, objectId: randomUUID(), preferredUsername: name });
        expect(await store.users.findByPreferredUsername(name.toUpperCase())).toEqual([here]);
        const there = await store.users.upsert({
          tenantId: randomUUID(),
          objectId: randomUUID(),
          preferredUsername: name,
        });
        expect((await store.users.findByPreferredUsername(name)).map((user) => user.id).sort()).toEqual(
          [here.id, there.id].sort(),
        );
        expect(await store.users.findByPreferredUsername(`nobody-${randomUUID()}`)).toEqual([]);
      });

      it('orders memberships added in the same millisecond by org, team (none first) and role', async () => {
        const user = await newUser();
        const inputs: MembershipInput[] = [
          { userId: user.id, org: 'b', team: null, role: 'a' },
          { userId: user.id, org: 'a', team: 'z', role: 'a' },
          { userId: user.id, org: 'a', team: null, role: 'b' },
          { userId: user.id, org: 'a', team: null, role: 'a' },
        ];
        // Only Date is faked: the database drivers' own timers keep running.
        vi.useFakeTimers({ toFake: ['Date'] });
        try {
          vi.setSystemTime(Date.now());
          for (const input of inputs) await store.memberships.add(input);
        } finally {
          vi.useRealTimers();
        }
        expect(await store.memberships.listForUser(user.id)).toMatchObject([...inputs].reverse());
      });

      it('keeps one membership when the same one is added twice, organization-wide or in a team', async () => {
        const user = await newUser();
        for (const team of [null, 'platform']) {
          const input = { userId: user.id, org: 'contoso', team, role: 'admin' };
          const first = await store.memberships.add(input);
          await sleep(5);
          expect(await store.memberships.add(input)).toEqual(first);
          const again = await Promise.all(Array.from({ length: 5 }, () => store.memberships.add(input)));
          for (const record of again) expect(record).toEqual(first);
        }
        expect(await store.memberships.listForUser(user.id)).toHaveLength(2);
      });

      it('treats memberships differing in org, team (or none) or role as distinct', async () => {
        const user = await newUser();
        const base = { userId: user.id, org: 'contoso', team: null, role: 'admin' };
        const variants: MembershipInput[] = [
          base,
          { ...base, team: 'platform' },
          { ...base, team: 'security' },
          { ...base, role: 'member' },
          { ...base, org: 'fabrikam' },
          // Case matters: names are compared exactly as given.
          { ...base, org: 'Contoso' },
        ];
        for (const input of variants) await store.memberships.add(input);
        expect(await store.memberships.listForUser(user.id)).toHaveLength(variants.length);

        expect(await store.memberships.remove({ ...base, team: 'platform' })).toBe(true);
        const left = await store.memberships.listForUser(user.id);
        expect(left).toHaveLength(variants.length - 1);
        expect(left).toContainEqual(expect.objectContaining(base));
        expect(left).not.toContainEqual(expect.objectContaining({ team: 'platform' }));
      });

      it('remove reports whether the membership existed', async () => {
        const user = await newUser();
        const orgWide = { userId: user.id, org: 'contoso', team: null, role: 'admin' };
        const inTeam = { ...orgWide, team: 'platform' };
        expect(await store.memberships.remove(orgWide)).toBe(false);
        await store.memberships.add(orgWide);
        await store.memberships.add(inTeam);
        expect(await store.memberships.remove(orgWide)).toBe(true);
        expect(await store.memberships.remove(orgWide)).toBe(false);
        expect(await store.memberships.listForUser(user.id)).toMatchObject([inTeam]);
        expect(await store.memberships.remove(inTeam)).toBe(true);
        expect(await store.memberships.listForUser(user.id)).toEqual([]);
        expect(await store.memberships.remove({ ...orgWide, userId: randomUUID() })).toBe(false);
      });

      it('never lets one user’s memberships affect another’s', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const membership = { org: 'contoso', team: null, role: 'admin' };
        const alices = await store.memberships.add({ userId: alice.id, ...membership });
        expect(await store.memberships.listForUser(bob.id)).toEqual([]);
        expect(await store.memberships.remove({ userId: bob.id, ...membership })).toBe(false);
        expect(await store.memberships.addIfNone({ userId: bob.id, ...membership })).toBe(true);
        expect(await store.memberships.remove({ userId: bob.id, ...membership })).toBe(true);
        expect(await store.memberships.listForUser(alice.id)).toEqual([alices]);
      });

      it('addIfNone adds only for a user with no membership at all', async () => {
        const user = await newUser();
        const first = { userId: user.id, org: 'contoso', team: null, role: 'member' };
        const other = { userId: user.id, org: 'fabrikam', team: 'platform', role: 'admin' };
        expect(await store.memberships.addIfNone(first)).toBe(true);
        expect(await store.memberships.listForUser(user.id)).toMatchObject([first]);
        expect(await store.memberships.addIfNone(other)).toBe(false);
        expect(await store.memberships.addIfNone(first)).toBe(false);
        expect(await store.memberships.listForUser(user.id)).toMatchObject([first]);

        // A team membership alone counts as a membership; once none is left, addIfNone adds again.
        await store.memberships.remove(first);
        await store.memberships.add(other);
        expect(await store.memberships.addIfNone(first)).toBe(false);
        await store.memberships.remove(other);
        expect(await store.memberships.addIfNone(other)).toBe(true);
        expect(await store.memberships.listForUser(user.id)).toMatchObject([other]);
      });

      it('addIfNone lets exactly one of 20 concurrent callers, across instances, add', async () => {
        const stores = [store, database.open(), database.open()];
        // Several rounds, each for a new user, so a race that wins only now and then still shows.
        for (let round = 0; round < 5; round++) {
          const user = await newUser();
          // A different role per caller, so only the "no membership yet" check can stop the others.
          const inputs = Array.from({ length: 20 }, (_, i) => ({
            userId: user.id,
            org: 'contoso',
            team: null,
            role: `role-${i}`,
          }));
          const results = await Promise.all(
            inputs.map((input, i) => stores[i % stores.length]!.memberships.addIfNone(input)),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
          expect(await store.memberships.listForUser(user.id)).toMatchObject([inputs[results.indexOf(true)]]);
        }
      });

      it('rejects a membership outside the contract, storing nothing', async () => {
        const user = await newUser();
        const valid = { userId: user.id, org: 'contoso', team: null, role: 'member' };
        const invalid: unknown[] = [
          { ...valid, org: '' },
          { ...valid, org: 'o'.repeat(201) },
          { ...valid, role: '' },
          { ...valid, role: 'r'.repeat(201) },
          { ...valid, team: '' },
          { ...valid, team: 't'.repeat(201) },
          { ...valid, team: undefined },
          { ...valid, org: 42 },
          { ...valid, role: null },
          { ...valid, userId: undefined },
          null,
        ];
        for (const input of invalid as MembershipInput[]) {
          await expectInvalidArgument(store.memberships.add(input));
          await expectInvalidArgument(store.memberships.addIfNone(input));
          await expectInvalidArgument(store.memberships.remove(input));
        }
        expect(await store.memberships.listForUser(user.id)).toEqual([]);
      });

      it('rejects a membership for a user that does not exist', async () => {
        const orphan = { userId: randomUUID(), org: 'contoso', team: null, role: 'member' };
        await expectInvalidArgument(store.memberships.add(orphan));
        await expectInvalidArgument(store.memberships.addIfNone(orphan));
        expect(await store.memberships.listForUser(orphan.userId)).toEqual([]);
      });

      describe('oauthModels', () => {
        const id = () => randomUUID();
        const remainingMs = (record: { expiresAt: Date | null } | undefined) =>
          record?.expiresAt === null || record === undefined
            ? undefined
            : record.expiresAt.getTime() - Date.now();

        it('finds what was upserted, by model and id, with its expiry', async () => {
          const sessionId = id();
          const payload = { jti: sessionId, uid: id(), accountId: 'ünïcødé ✓', nested: { a: [1, 2] } };
          await store.oauthModels.upsert('Session', sessionId, payload, 3600);
          const found = await store.oauthModels.find('Session', sessionId);
          expect(found).toMatchObject({ id: sessionId, payload, consumedAt: null });
          expect(remainingMs(found)).toBeGreaterThan(3_590_000);
          expect(remainingMs(found)).toBeLessThanOrEqual(3_600_000);
          expect(await store.oauthModels.find('Interaction', sessionId)).toBeUndefined();
          expect(await store.oauthModels.find('Session', id())).toBeUndefined();
          expect(await store.oauthModels.find('Session', '')).toBeUndefined();

          // No expiresIn: the row never expires (a registered client, for one).
          const clientId = id();
          await store.oauthModels.upsert('Client', clientId, { client_id: clientId, client_secret: 's' });
          expect(await store.oauthModels.find('Client', clientId)).toEqual({
            id: clientId,
            payload: { client_id: clientId, client_secret: 's' },
            consumedAt: null,
            expiresAt: null,
          });
        });

        it('upsert replaces the payload, the lookups, the expiry and the consumption', async () => {
          const codeId = id();
          const [oldUid, newUid] = [id(), id()];
          await store.oauthModels.upsert('Interaction', codeId, { uid: oldUid, grantId: 'g-old', n: 1 }, 60);
          await store.oauthModels.consume('Interaction', codeId);
          await store.oauthModels.upsert('Interaction', codeId, { uid: newUid, n: 2 });
          expect(await store.oauthModels.find('Interaction', codeId)).toEqual({
            id: codeId,
            payload: { uid: newUid, n: 2 },
            consumedAt: null,
            expiresAt: null,
          });
          expect(await store.oauthModels.findByUid('Interaction', oldUid)).toBeUndefined();
          expect(await store.oauthModels.findByUid('Interaction', newUid)).toMatchObject({ id: codeId });
          expect(await store.oauthModels.revokeByGrantId('g-old')).toBe(0);
        });

        it('finds by uid and by user code within the model only', async () => {
          const [sessionId, uid, userCode] = [id(), id(), `UC-${id()}`];
          await store.oauthModels.upsert('Session', sessionId, { jti: sessionId, uid }, 60);
          expect(await store.oauthModels.findByUid('Session', uid)).toMatchObject({
            id: sessionId,
            payload: { jti: sessionId, uid },
          });
          expect(await store.oauthModels.findByUid('Interaction', uid)).toBeUndefined();
          expect(await store.oauthModels.findByUid('Session', id())).toBeUndefined();

          const interactionId = id();
          await store.oauthModels.upsert('Interaction', interactionId, { userCode }, 60);
          expect(await store.oauthModels.findByUserCode('Interaction', userCode)).toMatchObject({
            id: interactionId,
            payload: { userCode },
          });
          expect(await store.oauthModels.findByUserCode('Session', userCode)).toBeUndefined();
          expect(await store.oauthModels.findByUserCode('Interaction', 'UC-unknown')).toBeUndefined();
        });

        it('keeps a credential only as a hash: its jti comes back only from the presented id', async () => {
          const refreshToken = id();
          const payload = { jti: refreshToken, grantId: id(), scope: 'openid' };
          await store.oauthModels.upsert('RefreshToken', refreshToken, payload, 60);
          expect(await store.oauthModels.find('RefreshToken', refreshToken)).toMatchObject({
            id: refreshToken,
            payload,
          });

          // Found without the credential (by user code), the row names itself by a reference to its hash.
          const deviceCode = id();
          const userCode = `UC-${id()}`;
          await store.oauthModels.upsert('DeviceCode', deviceCode, { jti: deviceCode, userCode }, 60);
          const byUserCode = await store.oauthModels.findByUserCode('DeviceCode', userCode);
          expect(byUserCode?.id).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
          expect(JSON.stringify(byUserCode)).not.toContain(deviceCode);
          expect(byUserCode?.payload.jti).toBe(byUserCode?.id);

          // Written back under the reference, the same row changes; the credential still finds it.
          const reference = byUserCode!.id;
          await store.oauthModels.upsert(
            'DeviceCode',
            reference,
            { jti: reference, userCode, accountId: 'a' },
            60,
          );
          expect(await store.oauthModels.find('DeviceCode', deviceCode)).toMatchObject({
            id: deviceCode,
            payload: { jti: deviceCode, userCode, accountId: 'a' },
          });
          // A reference is no credential: it never finds a row.
          expect(await store.oauthModels.find('DeviceCode', reference)).toBeUndefined();
          expect(await store.oauthModels.consume('DeviceCode', reference)).toBe(true);
          expect((await store.oauthModels.find('DeviceCode', deviceCode))?.consumedAt).toBeInstanceOf(Date);
          expect(await store.oauthModels.destroy('DeviceCode', reference)).toBe(true);
          expect(await store.oauthModels.find('DeviceCode', deviceCode)).toBeUndefined();

          // A payload whose jti is another value would put that value in the row.
          await expectInvalidArgument(
            store.oauthModels.upsert('AuthorizationCode', id(), { jti: 'something-else' }, 60),
          );
        });

        it('consume marks a live row once; a repeat keeps the first time', async () => {
          const code = id();
          await store.oauthModels.upsert('AuthorizationCode', code, { jti: code }, 60);
          const before = Date.now();
          expect(await store.oauthModels.consume('AuthorizationCode', code)).toBe(true);
          const first = (await store.oauthModels.find('AuthorizationCode', code))?.consumedAt;
          expect(first?.getTime()).toBeGreaterThanOrEqual(before);
          expect(first?.getTime()).toBeLessThanOrEqual(Date.now());
          await sleep(5);
          expect(await store.oauthModels.consume('AuthorizationCode', code)).toBe(false);
          expect((await store.oauthModels.find('AuthorizationCode', code))?.consumedAt).toEqual(first);
          expect(await store.oauthModels.consume('AuthorizationCode', id())).toBe(false);
        });

        it('consume lets exactly one of 20 concurrent callers, across instances, mark the row', async () => {
          const stores = [store, database.open(), database.open()];
          const token = id();
          await store.oauthModels.upsert('RefreshToken', token, { jti: token }, 60);
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              stores[i % stores.length]!.oauthModels.consume('RefreshToken', token),
            ),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
        });

        it('destroy reports whether a live row was deleted', async () => {
          const grantId = id();
          await store.oauthModels.upsert('Grant', grantId, { accountId: 'a', clientId: 'c' }, 60);
          expect(await store.oauthModels.destroy('Grant', grantId)).toBe(true);
          expect(await store.oauthModels.find('Grant', grantId)).toBeUndefined();
          expect(await store.oauthModels.destroy('Grant', grantId)).toBe(false);
        });

        it('lists the live rows of one model, latest expiry first, up to the limit; never credentials', async () => {
          const model = `Listed-${id()}`;
          const [soon, later, latest, gone] = [id(), id(), id(), id()];
          await store.oauthModels.upsert(model, soon, { accountId: 'a', n: 1 }, 60);
          await store.oauthModels.upsert(model, latest, { accountId: 'a', n: 3 }, 3600);
          await store.oauthModels.upsert(model, later, { accountId: 'b', n: 2 }, 600);
          await store.oauthModels.upsert(model, gone, { accountId: 'b', n: 4 }, 60);
          await store.oauthModels.destroy(model, gone);
          await store.oauthModels.upsert(`Other-${id()}`, id(), { accountId: 'a' }, 60);
          const all = await store.oauthModels.list(model, 10);
          expect(all.map((row) => row.id)).toEqual([latest, later, soon]);
          expect(all[0]?.payload).toEqual({ accountId: 'a', n: 3 });
          expect((await store.oauthModels.list(model, 2)).map((row) => row.id)).toEqual([latest, later]);
          await expect(store.oauthModels.list('AccessToken', 10)).rejects.toMatchObject({
            code: 'GH_STORAGE_INVALID_ARGUMENT',
          });
        });

        it('lists users, most recently seen first, up to the limit', async () => {
          const first = await newUser();
          await sleep(5);
          const second = await newUser();
          const listed = await store.users.list(1000);
          const ids = listed.map((user) => user.id);
          expect(ids.indexOf(second.id)).toBeGreaterThanOrEqual(0);
          expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
          expect(await store.users.list(1)).toHaveLength(1);
        });

        it('revokeByGrantId deletes every row of the grant, of any model, and nothing else', async () => {
          const [grantId, otherGrant] = [id(), id()];
          const rows = [
            ['AuthorizationCode', id(), grantId],
            ['AccessToken', id(), grantId],
            ['RefreshToken', id(), grantId],
            ['Interaction', id(), grantId],
            ['RefreshToken', id(), otherGrant],
          ] as const;
          for (const [model, rowId, grant] of rows) {
            const payload = model === 'Interaction' ? { grantId: grant } : { jti: rowId, grantId: grant };
            await store.oauthModels.upsert(model, rowId, payload, 60);
          }
          const sessionId = id();
          await store.oauthModels.upsert('Session', sessionId, { authorizations: { c: { grantId } } }, 60);

          expect(await store.oauthModels.revokeByGrantId(grantId)).toBe(4);
          for (const [model, rowId, grant] of rows) {
            const found = await store.oauthModels.find(model, rowId);
            if (grant === grantId) expect(found).toBeUndefined();
            else expect(found).toBeDefined();
          }
          expect(await store.oauthModels.find('Session', sessionId)).toBeDefined();
          expect(await store.oauthModels.revokeByGrantId(grantId)).toBe(0);
        });

        it('treats an expired row as absent in every operation', async () => {
          const [token, uid, userCode, grantId] = [id(), id(), `UC-${id()}`, id()];
          const payload = { jti: token, uid, userCode, grantId };
          const expire = async () => {
            await store.oauthModels.upsert('DeviceCode', token, payload, 0.05);
            await sleep(120);
          };
          await expire();
          expect(await store.oauthModels.findByUid('DeviceCode', uid)).toBeUndefined();
          expect(await store.oauthModels.findByUserCode('DeviceCode', userCode)).toBeUndefined();
          expect(await store.oauthModels.consume('DeviceCode', token)).toBe(false);
          expect(await store.oauthModels.find('DeviceCode', token)).toBeUndefined();
          await expire();
          expect(await store.oauthModels.destroy('DeviceCode', token)).toBe(false);
          await expire();
          expect(await store.oauthModels.revokeByGrantId(grantId)).toBe(0);
          // An upsert over an expired row brings it back as new.
          await store.oauthModels.upsert('DeviceCode', token, payload, 60);
          expect(await store.oauthModels.find('DeviceCode', token)).toMatchObject({
            payload,
            consumedAt: null,
          });
        });

        it('rejects arguments outside the contract, storing nothing', async () => {
          const rowId = id();
          for (const expiresIn of [Number.NaN, Number.POSITIVE_INFINITY]) {
            await expectInvalidArgument(store.oauthModels.upsert('Session', rowId, {}, expiresIn));
          }
          for (const payload of [null, 'text', [1]] as unknown as Record<string, unknown>[]) {
            await expectInvalidArgument(store.oauthModels.upsert('Session', rowId, payload, 60));
          }
          await expectInvalidArgument(store.oauthModels.upsert('Session', '', {}, 60));
          await expectInvalidArgument(store.oauthModels.upsert('', rowId, {}, 60));
          await expectInvalidArgument(store.oauthModels.find('Session', undefined as unknown as string));
          expect(await store.oauthModels.find('Session', rowId)).toBeUndefined();
        });
      });
    });

    /**
     * A migrated store on a database of its own, for questions about a whole table: whether any
     * signing key is live, which servers are registered.
     */
    async function freshStore() {
      const database = await target.fresh();
      const store = database.open();
      await store.migrate();
      return { database, store };
    }

    describe('signingKeys', () => {
      const keyInput = (activatedAt = new Date()): SigningKeyInput => {
        const kid = randomUUID();
        return {
          kid,
          alg: 'RS256',
          publicJwk: { kty: 'RSA', n: 'x'.repeat(342), e: 'AQAB', kid, alg: 'RS256', use: 'sig' },
          encryptedPrivateJwk: `v1.opaque.${'y'.repeat(2_000)}`,
          activatedAt,
        };
      };

      it('stores keys and lists them all, oldest activation first, every field as given', async () => {
        const { database, store } = await freshStore();
        try {
          expect(await store.signingKeys.list()).toEqual([]);
          const before = Date.now();
          const later = keyInput(new Date(before + 60_000));
          const earlier = keyInput(new Date(before - 60_000));
          const storedLater = await store.signingKeys.insert(later);
          const storedEarlier = await store.signingKeys.insert(earlier);
          const { activatedAt: _, ...laterFields } = later;
          expect(storedLater).toMatchObject({ ...laterFields, retireAfter: null });
          expect(storedLater.activatedAt.getTime()).toBe(later.activatedAt.getTime());
          expect(storedLater.createdAt.getTime()).toBeGreaterThanOrEqual(before);
          expect(storedLater.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
          expect(await store.signingKeys.list()).toEqual([storedEarlier, storedLater]);
          expect(await database.open().signingKeys.list()).toEqual([storedEarlier, storedLater]);
        } finally {
          await database.dispose();
        }
      });

      it('rejects a kid already stored and a key outside the contract, storing nothing more', async () => {
        const { database, store } = await freshStore();
        try {
          const valid = keyInput();
          const stored = await store.signingKeys.insert(valid);
          await expectInvalidArgument(store.signingKeys.insert({ ...keyInput(), kid: valid.kid }));
          const invalid: unknown[] = [
            { ...keyInput(), kid: '' },
            { ...keyInput(), alg: undefined },
            { ...keyInput(), publicJwk: 'not an object' },
            { ...keyInput(), publicJwk: null },
            { ...keyInput(), encryptedPrivateJwk: '' },
            { ...keyInput(), activatedAt: new Date(Number.NaN) },
            { ...keyInput(), activatedAt: Date.now() },
            null,
          ];
          for (const input of invalid as SigningKeyInput[]) {
            await expectInvalidArgument(store.signingKeys.insert(input));
            await expectInvalidArgument(store.signingKeys.insertIfNoneLive(input));
          }
          await expectInvalidArgument(store.signingKeys.retire(valid.kid, new Date(Number.NaN)));
          expect(await store.signingKeys.list()).toEqual([stored]);
        } finally {
          await database.dispose();
        }
      });

      it('retire sets retireAfter, never postpones it, and finds nothing for an unknown kid', async () => {
        const { database, store } = await freshStore();
        try {
          const key = await store.signingKeys.insert(keyInput());
          const other = await store.signingKeys.insert(keyInput(new Date(Date.now() + 1_000)));
          const soon = new Date(Date.now() + 60_000);
          expect(await store.signingKeys.retire(key.kid, soon)).toEqual({ ...key, retireAfter: soon });
          expect(await store.signingKeys.retire(key.kid, new Date(soon.getTime() + 60_000))).toEqual({
            ...key,
            retireAfter: soon,
          });
          const sooner = new Date(soon.getTime() - 30_000);
          expect((await store.signingKeys.retire(key.kid, sooner))?.retireAfter).toEqual(sooner);
          expect(await store.signingKeys.retire(randomUUID(), soon)).toBeUndefined();
          expect(await store.signingKeys.list()).toEqual([{ ...key, retireAfter: sooner }, other]);
        } finally {
          await database.dispose();
        }
      });

      it('insertIfNoneLive stores only while no key is live', async () => {
        const { database, store } = await freshStore();
        try {
          const first = keyInput();
          expect(await store.signingKeys.insertIfNoneLive(first)).toBe(true);
          expect(await store.signingKeys.insertIfNoneLive(keyInput())).toBe(false);
          // Retiring in the future keeps the key live; once its time is past, another may be stored.
          await store.signingKeys.retire(first.kid, new Date(Date.now() + 60_000));
          expect(await store.signingKeys.insertIfNoneLive(keyInput())).toBe(false);
          await store.signingKeys.retire(first.kid, new Date(Date.now() - 1));
          const second = keyInput();
          expect(await store.signingKeys.insertIfNoneLive(second)).toBe(true);
          expect((await store.signingKeys.list()).map((key) => key.kid)).toEqual([first.kid, second.kid]);
        } finally {
          await database.dispose();
        }
      });

      it('insertIfNoneLive lets exactly one of 20 concurrent callers, across instances, store', async () => {
        const { database, store } = await freshStore();
        try {
          const stores = [store, database.open(), database.open()];
          const inputs = Array.from({ length: 20 }, () => keyInput());
          const results = await Promise.all(
            inputs.map((input, i) => stores[i % stores.length]!.signingKeys.insertIfNoneLive(input)),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
          expect((await store.signingKeys.list()).map((key) => key.kid)).toEqual([
            inputs[results.indexOf(true)]!.kid,
          ]);
        } finally {
          await database.dispose();
        }
      });
    });

    describe('upstreamServers', () => {
      const serverInput = (
        name: string,
        overrides: Partial<UpstreamServerInput> = {},
      ): UpstreamServerInput => ({
        name,
        definition: {
          type: 'streamable-http',
          url: `https://${name}.example.test/mcp`,
          headers: { 'X-Tenant': 'ünïcødé ✓' },
          timeoutMs: 30_000,
          enabled: true,
          tools: { allow: ['search', 'fetch'], deny: [] },
          description: null,
        },
        sealedSecrets: `v1.key.iv.${'s'.repeat(500)}`,
        updatedBy: randomUUID(),
        ...overrides,
      });
      /** What a record of a server just created from `input` holds, its times aside. */
      const createdFrom = (input: UpstreamServerInput) => ({
        ...input,
        createdAt: expect.any(Date),
        updatedAt: expect.any(Date),
        revision: 1,
      });

      it('stores a server and finds and lists it with every field as given', async () => {
        const { database, store } = await freshStore();
        try {
          expect(await store.upstreamServers.list()).toEqual([]);
          const before = Date.now();
          const withSecrets = serverInput('docs');
          const without = serverInput('weather', { sealedSecrets: null, updatedBy: null });
          const stored = await store.upstreamServers.create(withSecrets);
          const storedWithout = await store.upstreamServers.create(without);
          expect(stored).toEqual(createdFrom(withSecrets));
          expect(storedWithout).toEqual(createdFrom(without));
          expect(stored?.createdAt.getTime()).toBeGreaterThanOrEqual(before);
          expect(stored?.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
          expect(stored?.updatedAt).toEqual(stored?.createdAt);

          expect(await store.upstreamServers.find('docs')).toEqual(stored);
          expect(await store.upstreamServers.find('weather')).toEqual(storedWithout);
          expect(await store.upstreamServers.find('absent')).toBeUndefined();
          // Names are compared exactly as given.
          expect(await store.upstreamServers.find('Docs')).toBeUndefined();
          expect(await store.upstreamServers.list()).toEqual([stored, storedWithout]);
        } finally {
          await database.dispose();
        }
      });

      it('keeps its servers when the store is closed and another opened', async () => {
        const { database, store } = await freshStore();
        try {
          const stored = await store.upstreamServers.create(serverInput('kept'));
          await store.close();
          const reopened = database.open();
          expect(await reopened.upstreamServers.find('kept')).toEqual(stored);
          expect(await reopened.upstreamServers.list()).toEqual([stored]);
        } finally {
          await database.dispose();
        }
      });

      it('create refuses a name already taken, keeping the first server', async () => {
        const { database, store } = await freshStore();
        try {
          const first = await store.upstreamServers.create(serverInput('docs'));
          const second = serverInput('docs', {
            definition: { type: 'stdio', command: 'other' },
            sealedSecrets: null,
          });
          expect(await store.upstreamServers.create(second)).toBeUndefined();
          expect(await store.upstreamServers.list()).toEqual([first]);
        } finally {
          await database.dispose();
        }
      });

      it('create lets exactly one of 8 concurrent callers, across instances, store a name', async () => {
        const { database, store } = await freshStore();
        try {
          const stores = [store, database.open(), database.open()];
          const inputs = Array.from({ length: 8 }, (_, i) =>
            serverInput('contested', { definition: { type: 'stdio', command: `caller-${i}` } }),
          );
          const results = await Promise.all(
            inputs.map((input, i) => stores[i % stores.length]!.upstreamServers.create(input)),
          );
          const winners = results.filter((result) => result !== undefined);
          expect(winners).toHaveLength(1);
          expect(winners[0]).toEqual(createdFrom(inputs[results.indexOf(winners[0])]!));
          expect(await store.upstreamServers.list()).toEqual(winners);
        } finally {
          await database.dispose();
        }
      });

      it('update replaces definition, sealed secrets and updatedBy whole, bumps the revision, keeps createdAt', async () => {
        const { database, store } = await freshStore();
        try {
          const created = await store.upstreamServers.create(serverInput('docs'));
          await sleep(5);
          // A smaller definition: it replaces the stored one, it is not merged into it.
          const change = serverInput('docs', {
            definition: { type: 'sse', url: 'https://sse.example.test' },
            sealedSecrets: null,
          });
          const updated = await store.upstreamServers.update(change);
          expect(updated).toEqual({
            ...change,
            createdAt: created?.createdAt,
            updatedAt: expect.any(Date),
            revision: 2,
          });
          expect(updated?.updatedAt.getTime()).toBeGreaterThan(created!.updatedAt.getTime());
          expect(await store.upstreamServers.find('docs')).toEqual(updated);

          await sleep(5);
          const again = serverInput('docs', { updatedBy: null });
          const third = await store.upstreamServers.update(again, 2);
          expect(third).toEqual({
            ...again,
            createdAt: created?.createdAt,
            updatedAt: expect.any(Date),
            revision: 3,
          });
          expect(third?.updatedAt.getTime()).toBeGreaterThan(updated!.updatedAt.getTime());
          expect(await store.upstreamServers.list()).toEqual([third]);
        } finally {
          await database.dispose();
        }
      });

      it('update with another expectedRevision, or of an absent server, changes nothing', async () => {
        const { database, store } = await freshStore();
        try {
          await store.upstreamServers.create(serverInput('docs'));
          const current = await store.upstreamServers.update(serverInput('docs'));
          expect(current?.revision).toBe(2);
          const change = serverInput('docs', { definition: { type: 'stdio', command: 'stale' } });
          expect(await store.upstreamServers.update(change, 1)).toBeUndefined();
          expect(await store.upstreamServers.update(change, 3)).toBeUndefined();
          expect(await store.upstreamServers.find('docs')).toEqual(current);

          expect(await store.upstreamServers.update(serverInput('absent'))).toBeUndefined();
          expect(await store.upstreamServers.update(serverInput('absent'), 1)).toBeUndefined();
          expect(await store.upstreamServers.list()).toEqual([current]);
        } finally {
          await database.dispose();
        }
      });

      it('update with an expectedRevision lets exactly one of 8 concurrent callers, across instances, win', async () => {
        const { database, store } = await freshStore();
        try {
          const stores = [store, database.open(), database.open()];
          await store.upstreamServers.create(serverInput('docs'));
          const inputs = Array.from({ length: 8 }, (_, i) =>
            serverInput('docs', { definition: { type: 'stdio', command: `caller-${i}` } }),
          );
          const results = await Promise.all(
            inputs.map((input, i) => stores[i % stores.length]!.upstreamServers.update(input, 1)),
          );
          const winners = results.filter((result) => result !== undefined);
          expect(winners).toHaveLength(1);
          expect(winners[0]).toMatchObject({ ...inputs[results.indexOf(winners[0])], revision: 2 });
          expect(await store.upstreamServers.find('docs')).toEqual(winners[0]);
        } finally {
          await database.dispose();
        }
      });

      it('update without an expectedRevision: concurrent callers each get a revision of their own', async () => {
        const { database, store } = await freshStore();
        try {
          const stores = [store, database.open(), database.open()];
          await store.upstreamServers.create(serverInput('docs'));
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              stores[i % stores.length]!.upstreamServers.update(serverInput('docs')),
            ),
          );
          expect(results.map((result) => result?.revision).sort((a, b) => a! - b!)).toEqual([
            2, 3, 4, 5, 6, 7, 8, 9,
          ]);
          expect((await store.upstreamServers.find('docs'))?.revision).toBe(9);
        } finally {
          await database.dispose();
        }
      });

      it('delete reports whether the server existed and leaves the others alone', async () => {
        const { database, store } = await freshStore();
        try {
          await store.upstreamServers.create(serverInput('docs'));
          const other = await store.upstreamServers.create(serverInput('weather'));
          expect(await store.upstreamServers.delete('docs')).toBe(true);
          expect(await store.upstreamServers.delete('docs')).toBe(false);
          expect(await store.upstreamServers.find('docs')).toBeUndefined();
          expect(await store.upstreamServers.delete('absent')).toBe(false);
          expect(await store.upstreamServers.list()).toEqual([other]);
          // The name is free again: a new server starts over at revision 1.
          expect(await store.upstreamServers.create(serverInput('docs'))).toMatchObject({ revision: 1 });
        } finally {
          await database.dispose();
        }
      });

      // Byte order, not the database's text order: on PostgreSQL with a locale collation such as
      // en-US, a plain ORDER BY puts 'alpha' before 'Zeta'.
      it('lists servers by name in byte order', async () => {
        const { database, store } = await freshStore();
        try {
          const names = [
            'beta',
            'Zeta',
            'alpha',
            'a_b',
            'a-b',
            'émile',
            'zulu',
            'B',
            '10',
            '9',
            '😀',
            '\uFF01',
          ];
          for (const name of names) await store.upstreamServers.create(serverInput(name));
          const byteOrder = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
          expect(byteOrder.slice(0, 4)).toEqual(['10', '9', 'B', 'Zeta']);
          expect((await store.upstreamServers.list()).map((server) => server.name)).toEqual(byteOrder);
        } finally {
          await database.dispose();
        }
      });

      it('rejects arguments outside the contract, storing and changing nothing', async () => {
        const { database, store } = await freshStore();
        try {
          const stored = await store.upstreamServers.create(serverInput('docs'));
          const cyclic: Record<string, unknown> = { type: 'stdio' };
          cyclic.self = cyclic;
          const invalid: unknown[] = [
            { ...serverInput('docs'), name: '' },
            { ...serverInput('docs'), name: undefined },
            { ...serverInput('docs'), name: 42 },
            { ...serverInput('docs'), definition: null },
            { ...serverInput('docs'), definition: undefined },
            { ...serverInput('docs'), definition: [{ type: 'stdio' }] },
            { ...serverInput('docs'), definition: '{"type":"stdio"}' },
            { ...serverInput('docs'), definition: new Date() },
            { ...serverInput('docs'), definition: new Map([['type', 'stdio']]) },
            { ...serverInput('docs'), definition: cyclic },
            { ...serverInput('docs'), definition: { type: 'stdio', big: 1n } },
            { ...serverInput('docs'), sealedSecrets: undefined },
            { ...serverInput('docs'), sealedSecrets: '' },
            { ...serverInput('docs'), sealedSecrets: { header: 'plain' } },
            { ...serverInput('docs'), updatedBy: undefined },
            { ...serverInput('docs'), updatedBy: 7 },
            null,
          ];
          for (const input of invalid as UpstreamServerInput[]) {
            await expectInvalidArgument(store.upstreamServers.create(input));
            await expectInvalidArgument(store.upstreamServers.update(input));
            await expectInvalidArgument(store.upstreamServers.update(input, 1));
          }
          for (const expectedRevision of [0, -1, 1.5, Number.NaN, '1'] as number[]) {
            await expectInvalidArgument(store.upstreamServers.update(serverInput('docs'), expectedRevision));
          }
          for (const name of ['', undefined, 42] as string[]) {
            await expectInvalidArgument(store.upstreamServers.find(name));
            await expectInvalidArgument(store.upstreamServers.delete(name));
          }
          expect(await store.upstreamServers.list()).toEqual([stored]);
        } finally {
          await database.dispose();
        }
      });
    });

    describe('auditLog', () => {
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
      /** A row of its own kind, so that each case reads only what it wrote. */
      const row = (type: string, overrides: Partial<AuditRowInput> = {}): AuditRowInput => ({
        at: new Date('2026-12-01T10:00:00.000Z'),
        type,
        userId: 'user-1',
        tenantId: 'tenant-1',
        clientId: 'client-1',
        tool: 'whoami',
        server: null,
        action: 'call',
        outcome: 'ok',
        errorCode: null,
        durationMs: 1.25,
        requestId: 'req-1',
        ip: '203.0.113.7',
        details: { arguments: { text: 'ünïcødé ✓' }, nested: [1, null, true] },
        ...overrides,
      });
      const kind = () => `test.${randomUUID()}`;

      it('appends rows and reads every field back, newest first, with increasing ids', async () => {
        const type = kind();
        const first = row(type);
        const second = row(type, {
          at: new Date('2026-12-01T10:00:01.000Z'),
          userId: null,
          tenantId: null,
          clientId: null,
          tool: null,
          server: 'docs',
          action: null,
          outcome: 'error',
          errorCode: 'GH_GATEWAY_UPSTREAM_TIMEOUT',
          durationMs: null,
          requestId: null,
          ip: null,
          details: {},
        });
        await store.auditLog.append([first, second]);
        const page = await store.auditLog.query({ type });
        expect(page.nextCursor).toBeNull();
        expect(page.rows.map(({ id: _id, ...rest }) => rest)).toEqual([second, first]);
        const [newer, older] = page.rows.map((stored) => BigInt(stored.id));
        expect(newer! > older!).toBe(true);
        await store.auditLog.append([]);
        expect((await store.auditLog.query({ type })).rows).toHaveLength(2);
      });

      it('filters by user, tool, server, outcome, type and time range (since inclusive, until exclusive)', async () => {
        const type = kind();
        const at = (second: number) => new Date(Date.UTC(2026, 11, 1, 10, 0, second));
        await store.auditLog.append([
          row(type, { at: at(0), userId: 'alice', tool: 'whoami', outcome: 'ok' }),
          row(type, { at: at(1), userId: 'bob', tool: 'whoami', outcome: 'deny' }),
          row(type, { at: at(2), userId: 'alice', tool: 'docs__search', server: 'docs', outcome: 'ok' }),
          row(type, { at: at(3), userId: 'alice', tool: 'whoami', outcome: 'tool-error' }),
        ]);
        const seconds = async (query: Omit<AuditQuery, 'type'>) =>
          (await store.auditLog.query({ ...query, type })).rows.map((stored) => stored.at.getUTCSeconds());
        expect(await seconds({})).toEqual([3, 2, 1, 0]);
        expect(await seconds({ userId: 'alice' })).toEqual([3, 2, 0]);
        expect(await seconds({ tool: 'whoami' })).toEqual([3, 1, 0]);
        expect(await seconds({ server: 'docs' })).toEqual([2]);
        expect(await seconds({ outcome: 'ok' })).toEqual([2, 0]);
        expect(await seconds({ userId: 'alice', tool: 'whoami', outcome: 'ok' })).toEqual([0]);
        expect(await seconds({ since: at(1), until: at(3) })).toEqual([2, 1]);
        expect(await seconds({ userId: 'nobody' })).toEqual([]);
        expect((await store.auditLog.query({ type: kind() })).rows).toEqual([]);
      });

      it('pages with an opaque cursor until nextCursor is null, and caps the limit', async () => {
        const type = kind();
        await store.auditLog.append(
          Array.from({ length: 7 }, (_, index) => row(type, { requestId: `r${index}` })),
        );
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.auditLog.query({ type, limit: 3, ...(cursor ? { cursor } : {}) });
          pages++;
          seen.push(...page.rows.map((stored) => stored.requestId!));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        expect(pages).toBe(3);
        expect(seen).toEqual(['r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
        const exact = await store.auditLog.query({ type, limit: 7 });
        expect(exact.rows).toHaveLength(7);
        expect(exact.nextCursor).toBeNull();

        const many = kind();
        await store.auditLog.append(Array.from({ length: AUDIT_PAGE_MAX + 5 }, () => row(many)));
        const capped = await store.auditLog.query({ type: many, limit: AUDIT_PAGE_MAX * 10 });
        expect(capped.rows).toHaveLength(AUDIT_PAGE_MAX);
        expect(capped.nextCursor).not.toBeNull();
        expect((await store.auditLog.query({ type: many })).rows).toHaveLength(AUDIT_PAGE_DEFAULT);
      });

      it('stores a batch all or nothing', async () => {
        const type = kind();
        const broken = { ...row(type), details: { loop: {} as Record<string, unknown> } };
        (broken.details.loop as Record<string, unknown>).self = broken.details.loop;
        await expectInvalidArgument(store.auditLog.append([row(type), broken]));
        // Larger than one statement: a failure in the second statement keeps nothing of the first.
        const late = Array.from({ length: 1500 }, () => row(type));
        late[1400] = { ...row(type), outcome: null as unknown as string };
        await expectInvalidArgument(store.auditLog.append(late));
        expect((await store.auditLog.query({ type })).rows).toEqual([]);
        await store.auditLog.append(Array.from({ length: 1500 }, () => row(type)));
        let count = 0;
        let cursor: string | undefined;
        do {
          const page = await store.auditLog.query({
            type,
            limit: AUDIT_PAGE_MAX,
            ...(cursor ? { cursor } : {}),
          });
          count += page.rows.length;
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        expect(count).toBe(1500);
      });

      it('deletes only rows older than the cutoff, and concurrent deletes together delete each once', async () => {
        const type = kind();
        const at = (day: number) => new Date(Date.UTC(2020, 0, day));
        await store.auditLog.append([1, 2, 3, 4].map((day) => row(type, { at: at(day) })));
        const deleted = await Promise.all([
          store.auditLog.deleteOlderThan(at(3)),
          store.auditLog.deleteOlderThan(at(3)),
          store.auditLog.deleteOlderThan(at(3)),
        ]);
        expect(deleted.reduce((sum, count) => sum + count, 0)).toBe(2);
        expect((await store.auditLog.query({ type })).rows.map((stored) => stored.at)).toEqual([
          at(4),
          at(3),
        ]);
        expect(await store.auditLog.deleteOlderThan(at(3))).toBe(0);
      });

      it('rejects a cursor it did not issue, a bad limit and malformed rows', async () => {
        for (const cursor of ['', 'abc', 'a1.', 'a1.bm90LWFuLWlk', '42'])
          await expectInvalidArgument(store.auditLog.query({ cursor }));
        for (const limit of [0, -1, 1.5, Number.NaN, '10'] as number[])
          await expectInvalidArgument(store.auditLog.query({ limit }));
        await expectInvalidArgument(store.auditLog.query({ since: new Date('nope') }));
        const type = kind();
        const malformed = [
          { ...row(type), at: 'yesterday' },
          { ...row(type), type: '' },
          { ...row(type), outcome: '' },
          { ...row(type), durationMs: Number.POSITIVE_INFINITY },
          { ...row(type), userId: 7 },
          { ...row(type), details: [] },
          null,
        ];
        for (const input of malformed)
          await expectInvalidArgument(store.auditLog.append([input as unknown as AuditRowInput]));
        expect((await store.auditLog.query({ type })).rows).toEqual([]);
      });
    });

    describe('an unreachable server', () => {
      it('yields StorageUnavailableError naming the setting to check', async () => {
        const store = target.unreachable.open();
        try {
          await expectUnavailable(store.ping(), target.unreachable);
          await expectUnavailable(store.migrate(), target.unreachable);
          await expectUnavailable(store.users.findById(randomUUID()), target.unreachable);
          const membership = { userId: randomUUID(), org: 'contoso', team: null, role: 'member' };
          await expectUnavailable(store.memberships.listForUser(membership.userId), target.unreachable);
          await expectUnavailable(store.memberships.add(membership), target.unreachable);
          await expectUnavailable(store.memberships.addIfNone(membership), target.unreachable);
          await expectUnavailable(store.oauthModels.find('RefreshToken', 'any'), target.unreachable);
          await expectUnavailable(store.ephemeral.get('any'), target.unreachable);
          await expectUnavailable(store.signingKeys.list(), target.unreachable);
          await expectUnavailable(store.upstreamServers.list(), target.unreachable);
          await expectUnavailable(store.auditLog.query({}), target.unreachable);
          await expectUnavailable(store.auditLog.deleteOlderThan(new Date()), target.unreachable);
          await expectUnavailable(
            store.upstreamServers.create({
              name: 'docs',
              definition: {},
              sealedSecrets: null,
              updatedBy: null,
            }),
            target.unreachable,
          );
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
