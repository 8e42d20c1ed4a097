import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { GatehouseError } from '../../errors/index.js';
import type { ChatMessage, ChatRecord, ChatRepository } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { type ChatsTable, epochMs } from './tables.js';

/**
 * Conversations as one row each, the messages as JSON: an exchange is then one UPDATE guarded by
 * the revision, atomic on both databases without a transaction.
 */
export function createChatRepository(backend: SqlBackend): ChatRepository {
  const { db } = backend;
  const find = async (userId: string, chatId: string) => {
    const row = await db
      .selectFrom('chats')
      .selectAll()
      .where('id', '=', chatId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row === undefined ? undefined : toChatRecord(row);
  };
  return {
    create: (userId, exchange) =>
      attempt(backend, async () => {
        const now = Date.now();
        const row = {
          id: randomUUID(),
          user_id: userId,
          messages: JSON.stringify(exchange.map(copyMessage)),
          created_at: now,
          updated_at: now,
          finished_at: null,
          revision: 1,
        };
        try {
          await db.insertInto('chats').values(row).execute();
        } catch (error) {
          if (!backend.isForeignKeyViolation(error)) throw error;
          throw new GatehouseError(
            'GH_STORAGE_INVALID_ARGUMENT',
            `No user has id ${userId}: a conversation must belong to a user created with users.upsert.`,
            { cause: error },
          );
        }
        return toChatRecord(row);
      }),

    find: (userId, chatId) => attempt(backend, () => find(userId, chatId)),

    append: (userId, chatId, exchange, expectedRevision) =>
      attempt(backend, async () => {
        const current = await find(userId, chatId);
        if (current === undefined) return { status: 'not-found' as const };
        if (current.finishedAt !== null) return { status: 'finished' as const };
        if (current.revision !== expectedRevision) return { status: 'conflict' as const };
        const messages = [...current.messages, ...exchange.map(copyMessage)];
        const now = Math.max(Date.now(), current.updatedAt.getTime());
        const result = await db
          .updateTable('chats')
          .set({ messages: JSON.stringify(messages), updated_at: now, revision: expectedRevision + 1 })
          .where('id', '=', chatId)
          .where('user_id', '=', userId)
          .where('revision', '=', expectedRevision)
          .where('finished_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) {
          const after = await find(userId, chatId);
          return after?.finishedAt != null
            ? { status: 'finished' as const }
            : { status: 'conflict' as const };
        }
        return {
          status: 'appended' as const,
          chat: { ...current, messages, updatedAt: new Date(now), revision: expectedRevision + 1 },
        };
      }),

    finish: (userId, chatId) =>
      attempt(backend, async () => {
        const result = await db
          .updateTable('chats')
          .set({ finished_at: Date.now() })
          .where('id', '=', chatId)
          .where('user_id', '=', userId)
          .where('finished_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows > 0n) return 'finished';
        return (await find(userId, chatId)) === undefined ? 'not-found' : 'already-finished';
      }),
  };
}

function copyMessage(message: ChatMessage): ChatMessage {
  return { role: message.role, content: message.content };
}

function toChatRecord(row: Selectable<ChatsTable>): ChatRecord {
  return {
    id: row.id,
    userId: row.user_id,
    messages: JSON.parse(row.messages) as ChatMessage[],
    createdAt: new Date(epochMs(row.created_at)),
    updatedAt: new Date(epochMs(row.updated_at)),
    finishedAt: row.finished_at === null ? null : new Date(epochMs(row.finished_at)),
    revision: epochMs(row.revision),
  };
}
