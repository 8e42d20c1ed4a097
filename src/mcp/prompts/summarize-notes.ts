import { noteUri } from '../resources/note-uri.js';
import { NOTE_MIME_TYPE } from '../resources/notes.js';
import { completeFrom, definePrompt, invalidArguments } from './prompt.js';

const STYLES = ['bullets', 'paragraph', 'action-items'] as const;
/** The most notes one prompt embeds (the most recent ones): a prompt is meant for a model's context. */
const MAX_NOTES = 100;
const ASK: Record<(typeof STYLES)[number], string> = {
  bullets: 'as a short bulleted list, one bullet per theme',
  paragraph: 'in one short paragraph',
  'action-items': 'as a list of action items, each starting with a verb',
};

/** Embeds every note of the caller (as note:// resources) and asks for a summary. */
export const summarizeNotes = definePrompt({
  name: 'summarize_notes',
  title: 'Summarize my notes',
  description: 'Asks the model to summarize all of your notes, which the prompt embeds.',
  arguments: [
    {
      name: 'style',
      description: `How to summarize: ${STYLES.join(', ')} (default bullets).`,
      required: false,
    },
  ],
  complete(argument, value) {
    return argument === 'style' ? completeFrom(STYLES, value) : { values: [] };
  },
  async get(args, { caller, notes }) {
    const style = (args.style ?? 'bullets') as (typeof STYLES)[number];
    if (!STYLES.includes(style))
      throw invalidArguments('summarize_notes', `'style' must be one of ${STYLES.join(', ')}`);
    const all = await notes.records(caller.userId);
    const records = all.slice(-MAX_NOTES);
    if (records.length === 0) {
      return {
        description: 'You have no notes to summarize.',
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text: 'I have no notes yet. Suggest how I could use the save_user_note tool to keep some.',
            },
          },
        ],
      };
    }
    return {
      description:
        records.length < all.length
          ? `A summary of your ${records.length} most recent notes (of ${all.length}).`
          : `A summary of your ${records.length} note${records.length === 1 ? '' : 's'}.`,
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Summarize the notes that follow ${ASK[style]}.` },
        },
        ...records.map((note) => ({
          role: 'user' as const,
          content: {
            type: 'resource' as const,
            resource: { uri: noteUri(note.id), mimeType: NOTE_MIME_TYPE, text: note.text },
          },
        })),
      ],
    };
  },
});
