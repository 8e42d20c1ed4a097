import { z } from 'zod';
import { defineTool } from '../tool.js';

export const saveUserNote = defineTool({
  name: 'save_user_note',
  title: 'Save a note',
  description: 'Saves a private note for the caller. Only the caller can read or delete it.',
  input: z.strictObject({
    note: z
      .string()
      .trim()
      .min(1, 'a note cannot be empty')
      .max(10_000, 'a note holds at most 10,000 characters'),
  }),
  output: z.object({ id: z.string() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run({ note }, { caller, services }) {
    const saved = await services.durable.notes.create(caller.userId, note);
    services.notesChanged?.(caller.userId, saved.id, 'created');
    return { structured: { id: saved.id }, text: `Saved note ${saved.id}.` };
  },
});
