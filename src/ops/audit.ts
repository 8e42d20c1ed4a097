/**
 * Typed audit events. Every authentication failure and every tool decision is emitted here; the
 * sink decides where they go (in memory for now; a durable, append-only log later).
 */
export type AuditEvent =
  | {
      type: 'auth.failure';
      at: string;
      requestId: string;
      ip: string;
      code: string;
      /** The detailed reason (the wire gets the same text; detail may add more). */
      reason: string;
    }
  | {
      type: 'tool.decision';
      at: string;
      requestId: string;
      userId: string;
      tenantId: string;
      tool: string;
      action: 'list' | 'call';
      outcome: 'allow' | 'deny';
      reason: 'scope' | 'role' | null;
      /** For denials: the scopes or roles that were missing. */
      missing: string[];
    }
  | {
      /** A request relayed to an upstream server (after its tool.decision allowed it). */
      type: 'gateway.forward';
      at: string;
      requestId: string;
      userId: string;
      tenantId: string;
      server: string;
      method: string;
      /** The tool or prompt name, or the resource URI, as the caller named it. */
      name: string;
      /** 'ok', 'tool-error' (a result with isError), 'upstream-error' (its JSON-RPC error), or a GH_… code. */
      outcome: string;
      durationMs: number;
    }
  | {
      /** A change to the upstream-server registry. */
      type: 'gateway.registry';
      at: string;
      requestId: string;
      userId: string;
      action: 'create' | 'update' | 'delete';
      server: string;
    }
  | {
      /** Something done in the admin console (or its break-glass login). */
      type: 'admin.action';
      at: string;
      requestId: string;
      /** Who did it: a user id, or `break-glass:<username>` for the local admin. */
      userId: string;
      /** 'add-membership', 'remove-membership', 'revoke-grant', 'sign-in', … */
      action: string;
      /** What it was done to (a user id and membership, a grant id, …). */
      target: string;
      outcome: 'ok' | 'error' | 'denied';
    };

export interface AuditSink {
  emit(event: AuditEvent): void;
}

/** Keeps the most recent events in memory (at least `limit`, at most twice as many). */
export class MemoryAuditSink implements AuditSink {
  readonly events: AuditEvent[] = [];

  constructor(private readonly limit = 10_000) {}

  emit(event: AuditEvent): void {
    this.events.push(event);
    // Trim in chunks: removing one event per call would shift the whole array every time.
    if (this.events.length >= this.limit * 2) this.events.splice(0, this.events.length - this.limit);
  }

  clear(): void {
    this.events.length = 0;
  }
}
