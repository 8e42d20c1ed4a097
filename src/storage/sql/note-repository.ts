import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { GatehouseError } from '../../errors/index.js';
import type { NoteRecord, NoteRepository } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { epochMs, type NotesTable } from './tables.js';

export function createNoteRepository(backend: SqlBackend): NoteRepository {
  const { db } = backend;
  return {
    create: (userId, text) =>
      attempt(backend, async () => {
        const row = { id: randomUUID(), user_id: userId, text, created_at: Date.now() };
        try {
          await db.insertInto('notes').values(row).execute();
        } catch (error) {
          if (!backend.isForeignKeyViolation(error)) throw error;
          throw new GatehouseError(
            'GH_STORAGE_INVALID_ARGUMENT',
            `No user has id ${userId}: a note must belong to a user created with users.upsert.`,
            { cause: error },
          );
        }
        return toNoteRecord(row);
      }),

    listByUser: (userId) =>
      attempt(backend, async () => {
        const rows = await db
          .selectFrom('notes')
          .selectAll()
          .where('user_id', '=', userId)
          // Notes saved in the same millisecond fall back to id order, which is stable.
          .orderBy('created_at', 'asc')
          .orderBy('id', 'asc')
          .execute();
        return rows.map(toNoteRecord);
      }),

    deleteForUser: (userId, noteId) =>
      attempt(backend, async () => {
        const result = await db
          .deleteFrom('notes')
          .where('id', '=', noteId)
          .where('user_id', '=', userId)
          .executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),
  };
}

function toNoteRecord(row: Selectable<NotesTable>): NoteRecord {
  return { id: row.id, userId: row.user_id, text: row.text, createdAt: new Date(epochMs(row.created_at)) };
}
