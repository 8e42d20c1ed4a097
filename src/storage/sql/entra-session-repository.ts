import type { EntraSessionRepository } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { epochMs } from './tables.js';

export function createEntraSessionRepository(backend: SqlBackend): EntraSessionRepository {
  const { db } = backend;
  return {
    save: ({ userId, sealedTokens, roles, groups }) =>
      attempt(backend, async () => {
        const row = {
          user_id: userId,
          sealed_tokens: sealedTokens,
          roles: JSON.stringify([...roles]),
          groups: JSON.stringify([...groups]),
          updated_at: Date.now(),
        };
        await db
          .insertInto('entra_sessions')
          .values(row)
          .onConflict((conflict) =>
            conflict.column('user_id').doUpdateSet({
              sealed_tokens: row.sealed_tokens,
              roles: row.roles,
              groups: row.groups,
              updated_at: row.updated_at,
            }),
          )
          .execute();
      }),

    find: (userId) =>
      attempt(backend, async () => {
        const row = await db
          .selectFrom('entra_sessions')
          .selectAll()
          .where('user_id', '=', userId)
          .executeTakeFirst();
        if (row === undefined) return undefined;
        return {
          userId: row.user_id,
          sealedTokens: row.sealed_tokens,
          roles: JSON.parse(row.roles) as string[],
          groups: JSON.parse(row.groups) as string[],
          updatedAt: new Date(epochMs(row.updated_at)),
        };
      }),

    delete: (userId) =>
      attempt(backend, async () => {
        const result = await db.deleteFrom('entra_sessions').where('user_id', '=', userId).executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      }),
  };
}
