import { randomUUID } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import type { UserRecord, UserRepository } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { epochMs, type UsersTable } from './tables.js';

export function createUserRepository(backend: SqlBackend): UserRepository {
  const { db } = backend;
  return {
    upsert: (input) =>
      attempt(backend, async () => {
        const now = Date.now();
        const row = await db
          .insertInto('users')
          .values({
            id: randomUUID(),
            tenant_id: input.tenantId,
            object_id: input.objectId,
            display_name: input.displayName ?? null,
            preferred_username: input.preferredUsername ?? null,
            created_at: now,
            last_seen_at: now,
          })
          .onConflict((conflict) =>
            conflict.columns(['tenant_id', 'object_id']).doUpdateSet((eb) => ({
              last_seen_at: eb.ref('excluded.last_seen_at'),
              // A display field left undefined keeps its stored value; null clears it.
              ...(input.displayName === undefined ? {} : { display_name: eb.ref('excluded.display_name') }),
              ...(input.preferredUsername === undefined
                ? {}
                : { preferred_username: eb.ref('excluded.preferred_username') }),
            })),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        return toUserRecord(row);
      }),

    findById: (id) =>
      attempt(backend, async () => {
        const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
        return row === undefined ? undefined : toUserRecord(row);
      }),

    findByIdentity: (tenantId, objectId) =>
      attempt(backend, async () => {
        const row = await db
          .selectFrom('users')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('object_id', '=', objectId)
          .executeTakeFirst();
        return row === undefined ? undefined : toUserRecord(row);
      }),

    list: (limit) =>
      attempt(backend, async () => {
        const rows = await db
          .selectFrom('users')
          .selectAll()
          .orderBy('last_seen_at', 'desc')
          .orderBy('id')
          .limit(Math.max(0, Math.floor(limit)))
          .execute();
        return rows.map(toUserRecord);
      }),

    findByPreferredUsername: (username) =>
      attempt(backend, async () => {
        const rows = await db
          .selectFrom('users')
          .selectAll()
          .where(sql<string>`lower(preferred_username)`, '=', username.toLowerCase())
          .orderBy('created_at', 'asc')
          .orderBy('id', 'asc')
          .execute();
        return rows.map(toUserRecord);
      }),
  };
}

function toUserRecord(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    objectId: row.object_id,
    displayName: row.display_name,
    preferredUsername: row.preferred_username,
    createdAt: new Date(epochMs(row.created_at)),
    lastSeenAt: new Date(epochMs(row.last_seen_at)),
  };
}
