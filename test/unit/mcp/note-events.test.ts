import { describe, expect, it } from 'vitest';
import { NoteEvents } from '../../../src/mcp/resources/note-events.js';

const NOTE = '3b0d7a6e-8f5c-4c1e-9a77-2d8f1c0b9e11';

function recorder() {
  const events = new NoteEvents();
  const toUsers: [string, unknown][] = [];
  const toSessions: [string, unknown][] = [];
  events.addUserNotifier((userId, message) => toUsers.push([userId, message]));
  events.addSessionNotifier((sessionId, message) => {
    toSessions.push([sessionId, message]);
    return true;
  });
  return { events, toUsers, toSessions };
}

describe('note change notifications', () => {
  it('tells only the owner that the list changed', () => {
    const { events, toUsers, toSessions } = recorder();
    events.changed('alice', NOTE, 'created');
    expect(toUsers).toEqual([['alice', { jsonrpc: '2.0', method: 'notifications/resources/list_changed' }]]);
    expect(toSessions).toEqual([]);
  });

  it("sends resources/updated on deletion to the owner's subscribed sessions, once", () => {
    const { events, toSessions } = recorder();
    events.subscribe(NOTE, 's1', 'alice');
    events.subscribe(NOTE, 's2', 'alice');
    events.subscribe(NOTE, 's3', 'alice');
    events.unsubscribe(NOTE, 's2');
    events.sessionEnded('s3');
    events.changed('alice', NOTE, 'deleted');
    events.changed('alice', NOTE, 'deleted');
    expect(toSessions).toEqual([
      [
        's1',
        { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: `note://${NOTE}` } },
      ],
    ]);
  });

  it("never tells another user's session, even one that subscribed to the same id", () => {
    const { events, toSessions } = recorder();
    events.subscribe(NOTE, 'bob-session', 'bob');
    events.changed('alice', NOTE, 'deleted');
    expect(toSessions).toEqual([]);
  });
});
