import { noteUri } from '../resources/note-uri.js';
import { NOTE_MIME_TYPE } from '../resources/notes.js';
import { definePrompt, invalidArguments } from './prompt.js';

/** Embeds one of the caller's notes and asks for a review; `id` completes to the caller's note ids. */
export const reviewNote = definePrompt({
  name: 'review_note',
  title: 'Review one of my notes',
  description: 'Asks the model to review one of your notes (by id) and suggest how to improve it.',
  arguments: [{ name: 'id', description: 'The id of one of your notes.', required: true }],
  complete(argument, value, { caller, notes }) {
    return argument === 'id' ? notes.completeId(caller.userId, value) : { values: [] };
  },
  async get(args, { caller, notes }) {
    const id = args.id;
    if (id === undefined || id === '') throw invalidArguments('review_note', "'id' is required");
    const uri = noteUri(id);
    const note = await notes.find(caller.userId, uri);
    // The same answer for another user's note as for a missing one.
    if (note === undefined)
      throw invalidArguments(
        'review_note',
        `you have no note with id '${id}' (resources/list shows your notes)`,
      );
    return {
      description: 'A review of one of your notes.',
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: 'Review this note: is it clear, and what would make it more useful?',
          },
        },
        {
          role: 'user',
          content: { type: 'resource', resource: { uri, mimeType: NOTE_MIME_TYPE, text: note.text } },
        },
      ],
    };
  },
});
