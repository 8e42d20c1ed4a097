import { createHash } from 'node:crypto';
import type { EphemeralStore } from '../storage/contract.js';

/** How long a user's decision for a client is remembered. */
const DECISION_TTL_MS = 90 * 24 * 60 * 60 * 1000;
/** Redirect URIs remembered per decision; the oldest go first. */
const MAX_REDIRECT_URIS = 20;

export interface Decision {
  decision: 'allow' | 'deny';
  scopes: string[];
  /** Where codes went with the user's approval: the exact URIs the consent page named (ports included). */
  redirectUris: string[];
}

/**
 * What a user decided for a client on the consent page. An approval covers a later request only for
 * the scopes and the exact redirect URIs the user saw: a loopback redirect on another port (or any
 * other URI of the same client) is asked about again, so that a process that borrows a client's
 * identity cannot collect a code on its own port without the user seeing it (RFC 8252 §8.6, the MCP
 * security best practices on confused deputies). A client that keeps its port keeps its approval.
 */
export class ConsentMemory {
  constructor(private readonly store: EphemeralStore) {}

  async find(accountId: string, clientId: string): Promise<Decision | undefined> {
    const stored = await this.store.get(key(accountId, clientId));
    if (stored === undefined) return undefined;
    const parsed = JSON.parse(stored) as Partial<Decision>;
    return {
      decision: parsed.decision === 'allow' ? 'allow' : 'deny',
      scopes: parsed.scopes ?? [],
      redirectUris: parsed.redirectUris ?? [],
    };
  }

  async remember(
    accountId: string,
    clientId: string,
    decision: 'allow' | 'deny',
    scopes: string[],
    redirectUri: string | undefined,
  ): Promise<void> {
    let redirectUris: string[] = [];
    if (decision === 'allow' && redirectUri !== undefined) {
      const earlier = await this.find(accountId, clientId);
      const kept =
        earlier?.decision === 'allow' ? earlier.redirectUris.filter((uri) => uri !== redirectUri) : [];
      redirectUris = [...kept, redirectUri].slice(-MAX_REDIRECT_URIS);
    }
    await this.store.set(
      key(accountId, clientId),
      JSON.stringify({ decision, scopes, redirectUris } satisfies Decision),
      DECISION_TTL_MS,
    );
  }

  /** Whether an earlier approval covers these scopes sent to this redirect URI. */
  static covers(decision: Decision | undefined, scopes: readonly string[], redirectUri: string): boolean {
    return (
      decision?.decision === 'allow' &&
      decision.redirectUris.includes(redirectUri) &&
      scopes.every((scope) => decision.scopes.includes(scope))
    );
  }
}

function key(accountId: string, clientId: string): string {
  return `consent-decision:${accountId}:${createHash('sha256').update(clientId).digest('base64url')}`;
}
