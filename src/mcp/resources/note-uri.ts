/**
 * Built-in note resources are named `note://{id}`. The scheme is Gatehouse's own and distinct from
 * `gatehouse://`, under which every upstream server's resources are exposed, so no upstream can
 * ever produce a note's URI (and a note URI is never routed to an upstream). The URI names a note
 * of the caller: the same URI read by another user is a note that does not exist.
 */
export const NOTE_URI_PREFIX = 'note://';
export const NOTE_URI_TEMPLATE = `${NOTE_URI_PREFIX}{id}`;

const NOTE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function noteUri(id: string): string {
  return `${NOTE_URI_PREFIX}${id}`;
}

/** Whether the URI is in the note scheme at all (whatever follows). */
export function isNoteUri(uri: string): boolean {
  return uri.startsWith(NOTE_URI_PREFIX);
}

/** The note id a `note://{id}` URI names, or undefined when it names none. */
export function noteIdOf(uri: string): string | undefined {
  if (!isNoteUri(uri)) return undefined;
  const id = uri.slice(NOTE_URI_PREFIX.length);
  return NOTE_ID.test(id) ? id : undefined;
}
