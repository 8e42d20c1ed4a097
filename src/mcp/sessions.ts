import { randomUUID } from 'node:crypto';
import type { EphemeralStore } from '../storage/contract.js';

export interface McpSession {
  readonly id: string;
  /** Sessions belong to one user: another user presenting the id is told it does not exist. */
  readonly userId: string;
  readonly protocolVersion: string;
  readonly clientName: string | null;
  readonly createdAt: number;
  /** Whether the client can answer requests from servers (it declared sampling or elicitation). */
  readonly answersRequests?: boolean;
  /** The level set with logging/setLevel; log messages are relayed to the client only when set. */
  readonly logLevel?: string;
}

interface CachedSession {
  session: McpSession;
  /** When the stored TTL was last extended; extending it on every request would cost a write each. */
  touchedAt: number;
}

const KEY_PREFIX = 'mcp-session:';
const LOCAL_CACHE_LIMIT = 10_000;
/** How stale a cached session may be: a session ended on another instance is refused here within this. */
const REVALIDATE_MS = 5_000;

/**
 * MCP sessions, kept in the ephemeral store (so any instance behind a load balancer can serve
 * them) with a local cache in front. A session is never authentication: it only narrows which
 * user may use it.
 */
export class SessionManager {
  readonly #cache = new Map<string, CachedSession>();

  constructor(
    private readonly store: EphemeralStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async create(
    userId: string,
    protocolVersion: string,
    clientName: string | null,
    answersRequests = false,
  ): Promise<McpSession> {
    const session: McpSession = {
      id: randomUUID(),
      userId,
      protocolVersion,
      clientName,
      createdAt: this.now(),
      ...(answersRequests ? { answersRequests } : {}),
    };
    await this.store.set(KEY_PREFIX + session.id, JSON.stringify(session), this.ttlMs);
    this.remember(session);
    return session;
  }

  /** The live session with this id that belongs to userId, or undefined. */
  async find(id: string, userId: string): Promise<McpSession | undefined> {
    const now = this.now();
    const cached = this.#cache.get(id);
    if (cached !== undefined) {
      if (cached.session.userId !== userId) return undefined;
      if (now - cached.touchedAt < Math.min(this.ttlMs / 10, REVALIDATE_MS)) return cached.session;
      // Refresh the stored TTL; this also notices a session ended by another instance.
      if (!(await this.store.touch(KEY_PREFIX + id, this.ttlMs))) {
        this.#cache.delete(id);
        return undefined;
      }
      cached.touchedAt = now;
      return cached.session;
    }
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const stored = await this.store.get(KEY_PREFIX + id);
    if (stored === undefined) return undefined;
    const session = JSON.parse(stored) as McpSession;
    if (session.userId !== userId) return undefined;
    await this.store.touch(KEY_PREFIX + id, this.ttlMs);
    this.remember(session);
    return session;
  }

  /** Stores the session's log level (logging/setLevel); the session as now stored. */
  async setLogLevel(session: McpSession, logLevel: string): Promise<McpSession> {
    const updated: McpSession = { ...session, logLevel };
    await this.store.set(KEY_PREFIX + session.id, JSON.stringify(updated), this.ttlMs);
    this.remember(updated);
    return updated;
  }

  async end(id: string): Promise<boolean> {
    this.#cache.delete(id);
    return this.store.delete(KEY_PREFIX + id);
  }

  private remember(session: McpSession): void {
    if (this.#cache.size >= LOCAL_CACHE_LIMIT) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(session.id, { session, touchedAt: this.now() });
  }
}
