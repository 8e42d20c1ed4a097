import { sql } from 'kysely';
import type { EphemeralStore } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { epochMs } from './tables.js';
import { assertTtl } from './ttl.js';

/** How often expired rows are deleted in bulk; reads already ignore them in between. */
export const KV_SWEEP_INTERVAL_MS = 60_000;

/**
 * The EphemeralStore kept in the `kv` table of a durable database. Every operation is one
 * statement, so the database's own row locking makes it atomic across connections and instances.
 * `close()` stops the sweep only: the connection belongs to the durable store.
 */
export function createKvEphemeralStore(
  backend: SqlBackend,
  { sweepIntervalMs = KV_SWEEP_INTERVAL_MS }: { sweepIntervalMs?: number } = {},
): EphemeralStore {
  const { db } = backend;
  let sweep: NodeJS.Timeout | undefined;
  let closed = false;

  const purgeExpired = async (now: number): Promise<void> => {
    await db.deleteFrom('kv').where('expires_at', '<=', now).execute();
  };

  /** Starts the sweep on first use, so a store that is never used never touches the database. */
  const run = <T>(operation: (now: number) => Promise<T>): Promise<T> => {
    if (sweep === undefined && !closed) {
      sweep = setInterval(() => {
        // A failed sweep is retried on the next tick; the operations report outages themselves.
        purgeExpired(Date.now()).catch(() => undefined);
      }, sweepIntervalMs);
      sweep.unref();
    }
    return attempt(backend, () => operation(Date.now()));
  };

  return {
    backend: backend.kind,

    ping: () => run(async () => void (await sql`select 1`.execute(db))),

    set: async (key, value, ttlMs) => {
      assertTtl(ttlMs);
      await run((now) =>
        db
          .insertInto('kv')
          .values({ key, value, expires_at: now + ttlMs })
          .onConflict((conflict) =>
            conflict.column('key').doUpdateSet((eb) => ({
              value: eb.ref('excluded.value'),
              expires_at: eb.ref('excluded.expires_at'),
            })),
          )
          .execute(),
      );
    },

    setIfAbsent: async (key, value, ttlMs) => {
      assertTtl(ttlMs);
      const stored = await run((now) =>
        db
          .insertInto('kv')
          .values({ key, value, expires_at: now + ttlMs })
          .onConflict((conflict) =>
            conflict
              .column('key')
              .doUpdateSet((eb) => ({
                value: eb.ref('excluded.value'),
                expires_at: eb.ref('excluded.expires_at'),
              }))
              // An expired row counts as absent, so it may be replaced; a live one may not.
              .where('kv.expires_at', '<=', now),
          )
          .returning('key')
          .executeTakeFirst(),
      );
      return stored !== undefined;
    },

    get: (key) =>
      run(async (now) => {
        const row = await db
          .selectFrom('kv')
          .select(['value', 'expires_at'])
          .where('key', '=', key)
          .executeTakeFirst();
        if (row === undefined) return undefined;
        if (epochMs(row.expires_at) > now) return row.value;
        await db.deleteFrom('kv').where('key', '=', key).where('expires_at', '<=', now).execute();
        return undefined;
      }),

    take: (key) =>
      run(async (now) => {
        const row = await db
          .deleteFrom('kv')
          .where('key', '=', key)
          .returning(['value', 'expires_at'])
          .executeTakeFirst();
        return row !== undefined && epochMs(row.expires_at) > now ? row.value : undefined;
      }),

    delete: (key) =>
      run(async (now) => {
        const row = await db
          .deleteFrom('kv')
          .where('key', '=', key)
          .returning('expires_at')
          .executeTakeFirst();
        return row !== undefined && epochMs(row.expires_at) > now;
      }),

    increment: async (key, ttlMs) => {
      assertTtl(ttlMs);
      const row = await run((now) =>
        db
          .insertInto('kv')
          .values({ key, value: '1', expires_at: now + ttlMs })
          .onConflict((conflict) =>
            conflict.column('key').doUpdateSet({
              // An expired counter starts a new window; a live one keeps its expiry.
              value: sql<string>`case when kv.expires_at <= ${now} then '1' else cast(cast(kv.value as bigint) + 1 as text) end`,
              expires_at: sql<number>`case when kv.expires_at <= ${now} then excluded.expires_at else kv.expires_at end`,
            }),
          )
          .returning(['value', 'expires_at'])
          .executeTakeFirstOrThrow(),
      );
      return { count: Number(row.value), resetAt: epochMs(row.expires_at) };
    },

    touch: async (key, ttlMs) => {
      assertTtl(ttlMs);
      const result = await run((now) =>
        db
          .updateTable('kv')
          .set({ expires_at: now + ttlMs })
          .where('key', '=', key)
          .where('expires_at', '>', now)
          .executeTakeFirst(),
      );
      return result.numUpdatedRows > 0n;
    },

    close: async () => {
      closed = true;
      clearInterval(sweep);
      sweep = undefined;
    },
  };
}
