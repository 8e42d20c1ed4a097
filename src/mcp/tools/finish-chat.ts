import { z } from 'zod';
import { defineTool } from '../tool.js';
import { notConfigured, notFound } from './send-message.js';

export const finishChat = defineTool({
  name: 'finish_chat',
  title: 'Finish a chat conversation',
  description:
    'Ends a conversation started with send_message. It is kept, but takes no more messages; send_message without conversationId starts a new one.',
  input: z.strictObject({ conversationId: z.string().min(1).max(128) }),
  output: z.object({ conversationId: z.string(), finished: z.boolean(), messageCount: z.number() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run({ conversationId }, { caller, services }) {
    if (services.chat === undefined) throw notConfigured();
    const outcome = await services.durable.chats.finish(caller.userId, conversationId);
    if (outcome === 'not-found') throw notFound(conversationId);
    const chat = await services.durable.chats.find(caller.userId, conversationId);
    const messageCount = chat?.messages.length ?? 0;
    return {
      structured: { conversationId, finished: true, messageCount },
      text:
        outcome === 'finished'
          ? `Conversation ${conversationId} is finished (${messageCount} messages kept).`
          : `Conversation ${conversationId} was already finished.`,
    };
  },
});
