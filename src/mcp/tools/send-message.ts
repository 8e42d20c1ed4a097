import { z } from 'zod';
import { GatehouseError } from '../../errors/index.js';
import type { ChatMessage } from '../../storage/contract.js';
import { defineTool } from '../tool.js';

export const sendMessage = defineTool({
  name: 'send_message',
  title: 'Send a chat message',
  description:
    'Sends a message to the chat model and returns its answer. Leave conversationId out to start a conversation; pass the conversationId of an earlier answer to continue it (the model sees the whole conversation). Progress notifications carry the answer as it arrives.',
  input: z.strictObject({
    message: z
      .string()
      .trim()
      .min(1, 'a message cannot be empty')
      .max(32_000, 'a message holds at most 32,000 characters'),
    conversationId: z.string().min(1).max(128).optional(),
  }),
  output: z.object({ conversationId: z.string(), answer: z.string(), messageCount: z.number() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ message, conversationId }, context) {
    const { caller, services, signal, reportProgress } = context;
    const backend = services.chat;
    if (backend === undefined) throw notConfigured();
    const chats = services.durable.chats;
    const existing =
      conversationId === undefined ? undefined : await chats.find(caller.userId, conversationId);
    if (conversationId !== undefined) {
      if (existing === undefined) throw notFound(conversationId);
      if (existing.finishedAt !== null) throw finished(conversationId);
    }
    const question: ChatMessage = { role: 'user', content: message };
    const completion = await backend.complete([...(existing?.messages ?? []), question], {
      signal,
      context,
      onDelta: (delta, received) => reportProgress(received, undefined, delta),
    });
    // Stored only now, whole: a refused or broken answer leaves the conversation as it was.
    const exchange: ChatMessage[] = [question, { role: 'assistant', content: completion.content }];
    let stored: { id: string; messages: ChatMessage[] };
    if (existing === undefined) {
      stored = await chats.create(caller.userId, exchange);
    } else {
      const result = await chats.append(caller.userId, existing.id, exchange, existing.revision);
      if (result.status === 'not-found') throw notFound(existing.id);
      if (result.status === 'finished') throw finished(existing.id);
      if (result.status === 'conflict') {
        throw new GatehouseError(
          'GH_CHAT_CONFLICT',
          `Another message was added to conversation ${existing.id} while this one was being answered, so this answer was not stored: send the message again.`,
        );
      }
      stored = result.chat;
    }
    return {
      structured: {
        conversationId: stored.id,
        answer: completion.content,
        messageCount: stored.messages.length,
      },
      text: `${completion.content}\n\n(conversation ${stored.id}; pass it as conversationId to continue, or end it with finish_chat)`,
    };
  },
});

export function notFound(conversationId: string): GatehouseError {
  return new GatehouseError(
    'GH_CHAT_NOT_FOUND',
    `No conversation ${conversationId.slice(0, 128)} of yours exists: leave conversationId out to start a new one.`,
  );
}

function finished(conversationId: string): GatehouseError {
  return new GatehouseError(
    'GH_CHAT_FINISHED',
    `Conversation ${conversationId} was ended with finish_chat and takes no more messages: leave conversationId out to start a new one.`,
  );
}

export function notConfigured(): GatehouseError {
  return new GatehouseError(
    'GH_TOOL_FAILED',
    'The chat tools have no backend: an administrator sets CHAT_COMPLETIONS_URL (docs/chat.md).',
  );
}
