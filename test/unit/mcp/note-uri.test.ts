import { describe, expect, it } from 'vitest';
import { exposedUri, parseExposedUri } from '../../../src/gateway/naming.js';
import { isNoteUri, NOTE_URI_TEMPLATE, noteIdOf, noteUri } from '../../../src/mcp/resources/note-uri.js';

const ID = '3b0d7a6e-8f5c-4c1e-9a77-2d8f1c0b9e11';

describe('note:// URIs', () => {
  it('round-trips a note id and names the template', () => {
    expect(noteUri(ID)).toBe(`note://${ID}`);
    expect(noteIdOf(noteUri(ID))).toBe(ID);
    expect(NOTE_URI_TEMPLATE).toBe('note://{id}');
  });

  it.each([
    'note://',
    `note://${ID.toUpperCase()}`,
    `note://${ID}/`,
    `note://${ID}?x=1`,
    `note://${ID}#x`,
    'note://../x',
    `notes://${ID}`,
    `gatehouse://note/${ID}`,
  ])('names no note: %s', (uri) => {
    expect(noteIdOf(uri)).toBeUndefined();
  });

  it('never collides with an upstream resource exposed by the gateway, whatever the server or URI', () => {
    for (const server of ['note', 'notes', 'x']) {
      const exposed = exposedUri(server, `note://${ID}`);
      expect(isNoteUri(exposed)).toBe(false);
      expect(parseExposedUri(exposed)).toEqual({ server, uri: `note://${ID}` });
    }
    expect(parseExposedUri(noteUri(ID))).toBeUndefined();
  });
});
