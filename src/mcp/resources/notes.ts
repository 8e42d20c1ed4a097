import { GatehouseError } from '../../errors/index.js';
import type { NoteRecord, NoteRepository } from '../../storage/contract.js';
import { NOTE_URI_PREFIX, NOTE_URI_TEMPLATE, noteIdOf, noteUri } from './note-uri.js';

/** The policy name every note resource is decided under (the config file's resources.notes). */
export const NOTES_RESOURCE = 'notes';
export const NOTE_MIME_TYPE = 'text/plain';
const TITLE_LENGTH = 60;
/** The most values a completion returns (the MCP limit). */
const MAX_COMPLETIONS = 100;

/**
 * Each user's notes as MCP resources: resources/list shows the caller's notes, the template
 * `note://{id}` names any one of them, and a read returns the note's text. Everything is looked up
 * under the caller's user id, so another user's note is indistinguishable from a missing one.
 */
export class NoteResources {
  constructor(private readonly notes: NoteRepository) {}

  /** The caller's notes, oldest first. */
  records(userId: string): Promise<NoteRecord[]> {
    return this.notes.listByUser(userId);
  }

  async list(userId: string): Promise<Record<string, unknown>[]> {
    return (await this.notes.listByUser(userId)).map((note) => describe(note));
  }

  templates(): Record<string, unknown>[] {
    return [
      {
        uriTemplate: NOTE_URI_TEMPLATE,
        name: 'note',
        title: 'One of my notes',
        description: `One of your notes by id (${NOTE_URI_PREFIX}{id}); resources/list shows your notes, completion suggests their ids.`,
        mimeType: NOTE_MIME_TYPE,
      },
    ];
  }

  async read(userId: string, uri: string): Promise<Record<string, unknown>> {
    const note = await this.find(userId, uri);
    if (note === undefined) throw notFound(uri);
    return { contents: [{ uri, mimeType: NOTE_MIME_TYPE, text: note.text }] };
  }

  /** The caller's note, or undefined for a URI that names none of theirs. */
  async find(userId: string, uri: string): Promise<NoteRecord | undefined> {
    const id = noteIdOf(uri);
    if (id === undefined) return undefined;
    return (await this.notes.listByUser(userId)).find((note) => note.id === id);
  }

  /** The caller's note ids that start with `prefix`: completion for `{id}`. */
  async completeId(
    userId: string,
    prefix: string,
  ): Promise<{ values: string[]; total: number; hasMore: boolean }> {
    const ids = (await this.notes.listByUser(userId))
      .map((note) => note.id)
      .filter((id) => id.startsWith(prefix.toLowerCase()));
    return {
      values: ids.slice(0, MAX_COMPLETIONS),
      total: ids.length,
      hasMore: ids.length > MAX_COMPLETIONS,
    };
  }
}

export function describe(note: NoteRecord): Record<string, unknown> {
  const firstLine = note.text.split('\n', 1)[0] ?? '';
  return {
    uri: noteUri(note.id),
    name: note.id,
    title: firstLine.length > TITLE_LENGTH ? `${firstLine.slice(0, TITLE_LENGTH - 1)}…` : firstLine,
    description: `Your note of ${note.createdAt.toISOString()}.`,
    mimeType: NOTE_MIME_TYPE,
    size: Buffer.byteLength(note.text, 'utf8'),
  };
}

export function notFound(uri: string): GatehouseError {
  return new GatehouseError(
    'GH_MCP_RESOURCE_NOT_FOUND',
    `Resource not found: '${uri}'. Your notes are ${NOTE_URI_PREFIX}{id}; resources/list shows them.`,
  );
}
