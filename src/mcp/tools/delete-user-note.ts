import { z } from 'zod';
import { GatehouseError } from '../../errors/index.js';
import { defineTool } from '../tool.js';

export const deleteUserNote = defineTool({
  name: 'delete_user_note',
  title: 'Delete a note',
  description: "Deletes one of the caller's notes by id.",
  input: z.strictObject({
    id: z.string().uuid('must be a note id as returned by save_user_note or get_user_notes'),
  }),
  output: z.object({ deleted: z.literal(true), id: z.string() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run({ id }, { caller, services }) {
    const deleted = await services.durable.notes.deleteForUser(caller.userId, id);
    if (!deleted) {
      throw new GatehouseError(
        'GH_NOTE_NOT_FOUND',
        `No note with id ${id} belongs to you. Call get_user_notes to see your notes.`,
      );
    }
    services.notesChanged?.(caller.userId, id, 'deleted');
    return { structured: { deleted: true as const, id }, text: `Deleted note ${id}.` };
  },
});
