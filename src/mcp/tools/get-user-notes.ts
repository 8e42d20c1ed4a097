import { z } from 'zod';
import { defineTool } from '../tool.js';

export const getUserNotes = defineTool({
  name: 'get_user_notes',
  title: 'List my notes',
  description: "Lists the caller's notes, oldest first.",
  input: z.strictObject({}),
  output: z.object({
    notes: z.array(z.object({ id: z.string(), note: z.string(), createdAt: z.string() })),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(_args, { caller, services }) {
    const records = await services.durable.notes.listByUser(caller.userId);
    const notes = records.map((record) => ({
      id: record.id,
      note: record.text,
      createdAt: record.createdAt.toISOString(),
    }));
    const text =
      notes.length === 0
        ? 'You have no notes.'
        : `You have ${notes.length} note${notes.length === 1 ? '' : 's'}:\n${notes.map((n) => `- ${n.id}: ${n.note}`).join('\n')}`;
    return { structured: { notes }, text };
  },
});
