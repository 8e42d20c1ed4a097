import { addNumbers } from './add-numbers.js';
import type { PromptDefinition } from './prompt.js';
import { reviewNote } from './review-note.js';
import { summarizeNotes } from './summarize-notes.js';

/** The prompts every Gatehouse serves itself, in the order prompts/list shows them. */
export const BUILT_IN_PROMPTS: readonly PromptDefinition[] = [summarizeNotes, reviewNote, addNumbers];
