import { createHash, randomBytes } from 'node:crypto';
import type { EphemeralStore } from '../storage/contract.js';

/** A browser signed in to Gatehouse's own pages. Kept server-side: the cookie holds only its id. */
export interface WebSession {
  /** How the browser signed in. */
  via: 'entra' | 'break-glass';
  /** Gatehouse's user id (Entra sign-in); null for the break-glass admin, who is no Entra user. */
  userId: string | null;
  /** For people to read: the Entra username, or the break-glass account. */
  name: string;
  /** What Entra said at sign-in; roles are worked out from these and the memberships on each request. */
  appRoles: string[];
  groups: string[];
  /** Epoch ms. */
  createdAt: number;
}

/** How long a browser session lasts without being used again. */
export const WEB_SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/**
 * Browser sessions in the ephemeral store (Redis when configured), so that any instance can serve
 * them and signing out ends them everywhere at once. Stored under a hash of the id: reading the
 * store does not give a usable cookie.
 */
export class WebSessions {
  constructor(
    private readonly store: EphemeralStore,
    private readonly ttlMs = WEB_SESSION_TTL_MS,
  ) {}

  async open(session: WebSession): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.store.set(key(id), JSON.stringify(session), this.ttlMs);
    return id;
  }

  /** The live session with this id, its lifetime extended; undefined when unknown or ended. */
  async find(id: string | undefined): Promise<WebSession | undefined> {
    if (id === undefined || id === '' || id.length > 128) return undefined;
    const stored = await this.store.get(key(id));
    if (stored === undefined) return undefined;
    await this.store.touch(key(id), this.ttlMs);
    return JSON.parse(stored) as WebSession;
  }

  async end(id: string | undefined): Promise<void> {
    if (id !== undefined && id !== '') await this.store.delete(key(id));
  }
}

function key(id: string): string {
  return `web-session:${createHash('sha256').update(id).digest('base64url')}`;
}
