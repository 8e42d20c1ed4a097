import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, createTestApp, MCP_HEADERS, type TestApp } from '../helpers/test-app.js';

describe('notes belong to their owner', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({}, { multiUser: true });
  });
  afterAll(() => t.close());

  const as = async (user: string, name: string, args: Record<string, unknown> = {}) =>
    (
      await t.app.inject({
        method: 'POST',
        url: '/mcp',
        headers: { ...MCP_HEADERS, 'x-test-user': user },
        payload: JSON.stringify(callTool(name, args)),
      })
    ).json().result;

  it("one user can neither list nor delete another's note", async () => {
    const aliceNote = (await as('alice', 'save_user_note', { note: 'alice secret' })).structuredContent.id;
    await as('bob', 'save_user_note', { note: 'bob note' });

    const bobNotes = (await as('bob', 'get_user_notes')).structuredContent.notes;
    expect(bobNotes.map((n: { note: string }) => n.note)).toEqual(['bob note']);

    const attempt = await as('bob', 'delete_user_note', { id: aliceNote });
    expect(attempt.isError).toBe(true);
    expect(attempt._meta['io.gatehouse/error-code']).toBe('GH_NOTE_NOT_FOUND');
    // The same answer as for a note that never existed: nothing tells bob alice's id is real.
    const missing = await as('bob', 'delete_user_note', { id: '3b0d7a6e-8f5c-4c1e-9a77-2d8f1c0b9e11' });
    expect(missing.content[0].text.replace(/[0-9a-f-]{36}/, 'ID')).toBe(
      attempt.content[0].text.replace(/[0-9a-f-]{36}/, 'ID'),
    );

    const aliceNotes = (await as('alice', 'get_user_notes')).structuredContent.notes;
    expect(aliceNotes).toEqual([expect.objectContaining({ id: aliceNote, note: 'alice secret' })]);
  });

  it('a session belongs to the user who opened it', async () => {
    const init = await t.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { ...MCP_HEADERS, 'x-test-user': 'alice' },
      payload: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    const sessionId = init.headers['mcp-session-id'] as string;
    const stolen = await t.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { ...MCP_HEADERS, 'x-test-user': 'bob', 'mcp-session-id': sessionId },
      payload: JSON.stringify(callTool('get_user_notes')),
    });
    expect(stolen.statusCode).toBe(404);
    const ended = await t.app.inject({
      method: 'DELETE',
      url: '/mcp',
      headers: { 'x-test-user': 'bob', 'mcp-session-id': sessionId },
    });
    expect(ended.statusCode).toBe(404);
    const own = await t.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { ...MCP_HEADERS, 'x-test-user': 'alice', 'mcp-session-id': sessionId },
      payload: JSON.stringify(callTool('get_user_notes')),
    });
    expect(own.statusCode).toBe(200);
  });
});
