import { noteUri } from './note-uri.js';

type UserNotifier = (userId: string, message: unknown) => void;
type SessionNotifier = (sessionId: string, message: unknown) => boolean;

const LIST_CHANGED = Object.freeze({ jsonrpc: '2.0', method: 'notifications/resources/list_changed' });

/**
 * What clients hear when a user's notes change: the user's own listening streams get
 * notifications/resources/list_changed (no other user's do: a note's existence is private), and a
 * session subscribed to a note gets notifications/resources/updated when it is deleted. This is
 * per process: a client listening on another instance hears of changes made on that instance.
 */
export class NoteEvents {
  readonly #userNotifiers: UserNotifier[] = [];
  readonly #sessionNotifiers: SessionNotifier[] = [];
  /** note id → session id → the user who subscribed. */
  readonly #subscribers = new Map<string, Map<string, string>>();

  addUserNotifier(notify: UserNotifier): void {
    this.#userNotifiers.push(notify);
  }

  addSessionNotifier(notify: SessionNotifier): void {
    this.#sessionNotifiers.push(notify);
  }

  /** A note of `userId` was created or deleted. */
  changed(userId: string, noteId: string, change: 'created' | 'deleted'): void {
    for (const notify of this.#userNotifiers) notify(userId, LIST_CHANGED);
    if (change !== 'deleted') return;
    const sessions = this.#subscribers.get(noteId);
    this.#subscribers.delete(noteId);
    const message = {
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: noteUri(noteId) },
    };
    for (const [sessionId, owner] of sessions ?? []) {
      if (owner !== userId) continue;
      for (const notify of this.#sessionNotifiers) if (notify(sessionId, message)) break;
    }
  }

  subscribe(noteId: string, sessionId: string, userId: string): void {
    const sessions = this.#subscribers.get(noteId) ?? new Map<string, string>();
    this.#subscribers.set(noteId, sessions);
    sessions.set(sessionId, userId);
  }

  unsubscribe(noteId: string, sessionId: string): void {
    const sessions = this.#subscribers.get(noteId);
    if (sessions === undefined) return;
    sessions.delete(sessionId);
    if (sessions.size === 0) this.#subscribers.delete(noteId);
  }

  sessionEnded(sessionId: string): void {
    for (const [noteId, sessions] of this.#subscribers) {
      sessions.delete(sessionId);
      if (sessions.size === 0) this.#subscribers.delete(noteId);
    }
  }
}
