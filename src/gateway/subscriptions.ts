import type { ServerRuntime } from './runtime.js';

type Notifier = (sessionId: string, message: unknown) => boolean;

/**
 * Resource subscriptions across the shared upstream connections: the upstream is subscribed once
 * per URI, when the first session asks, and unsubscribed when the last one leaves; each update it
 * sends goes to the listening streams of every session that subscribed, under the name it used.
 */
export class Subscriptions {
  /** server → upstream URI → session id → the URI the session subscribed with. */
  readonly #subscribers = new Map<string, Map<string, Map<string, string>>>();
  readonly #notifiers: Notifier[] = [];

  addNotifier(notifier: Notifier): void {
    this.#notifiers.push(notifier);
  }

  async subscribe(runtime: ServerRuntime, uri: string, exposedUri: string, sessionId: string): Promise<void> {
    const byUri = this.#subscribers.get(runtime.server.name) ?? new Map<string, Map<string, string>>();
    this.#subscribers.set(runtime.server.name, byUri);
    let sessions = byUri.get(uri);
    if (sessions === undefined) {
      await runtime.connection.subscribeResource(uri);
      sessions = byUri.get(uri) ?? new Map<string, string>();
      byUri.set(uri, sessions);
    }
    sessions.set(sessionId, exposedUri);
  }

  async unsubscribe(runtime: ServerRuntime, uri: string, sessionId: string): Promise<void> {
    const sessions = this.#subscribers.get(runtime.server.name)?.get(uri);
    if (sessions === undefined || !sessions.delete(sessionId) || sessions.size > 0) return;
    this.#subscribers.get(runtime.server.name)?.delete(uri);
    await runtime.connection.unsubscribeResource(uri);
  }

  /** The upstream says a resource changed: tell every session subscribed to it. */
  updated(server: string, params: Record<string, unknown>): void {
    const sessions = this.#subscribers.get(server)?.get(String(params.uri));
    for (const [sessionId, exposedUri] of sessions ?? []) {
      const message = {
        jsonrpc: '2.0',
        method: 'notifications/resources/updated',
        params: { ...params, uri: exposedUri },
      };
      for (const notify of this.#notifiers) if (notify(sessionId, message)) break;
    }
  }

  /** A session ended: its subscriptions go with it (upstream ones with no subscriber left stay until the connection closes). */
  sessionEnded(sessionId: string): void {
    for (const byUri of this.#subscribers.values()) {
      for (const [uri, sessions] of byUri) {
        sessions.delete(sessionId);
        if (sessions.size === 0) byUri.delete(uri);
      }
    }
  }

  /** A server was redefined or removed: its new connection starts without subscriptions. */
  serverReset(server: string): void {
    this.#subscribers.delete(server);
  }
}
