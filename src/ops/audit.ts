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
      clientId?: string | null;
      /** The GH_… code of a refusal or failure, or the one a tool-error result carries. */
      errorCode?: string | null;
      /** A tools/call's arguments; stored only when AUDIT_LOG_ARGUMENTS is true, and then redacted. */
      arguments?: unknown;
    }
  | {
      /** A call of one of Gatehouse's own tools, when it finished (forwarded calls are gateway.forward). */
      type: 'tool.call';
      /** Epoch milliseconds, not ISO text: the call path does not format a date; the audit log does. */
      at: number;
      requestId: string;
      userId: string;
      tenantId: string;
      clientId: string | null;
      tool: string;
      /** 'ok', or 'tool-error' (a result with isError: bad arguments, a refusal, a failure). */
      outcome: 'ok' | 'tool-error';
      errorCode: string | null;
      durationMs: number;
      /** As the caller sent them; stored only when AUDIT_LOG_ARGUMENTS is true, and then redacted. */
      arguments: unknown;
    }
  | {
      /** The end of a sign-in at Entra ID through Gatehouse's authorization server (/auth/callback). */
      type: 'auth.sign-in';
      at: string;
      requestId: string;
      ip: string;
      /** The OAuth client the sign-in is for (null when the response matched no sign-in in progress). */
      clientId: string | null;
      /** Set when the sign-in succeeded. */
      userId: string | null;
      tenantId: string | null;
      outcome: 'ok' | 'error';
      errorCode: string | null;
      reason: string | null;
    }
  | {
      /** A user's decision on the consent page, or one remembered from before and applied again. */
      type: 'consent.decision';
      at: string;
      requestId: string;
      ip: string;
      clientId: string;
      /** null when the user decides before signing in (consent comes first; the sign-in follows an allow). */
      userId: string | null;
      outcome: 'allow' | 'deny';
      /** True when no page was shown: an earlier decision applied. */
      remembered: boolean;
      scopes: string[];
    }
  | {
      /** A grant ended, and with it every token issued under it. */
      type: 'token.revoked';
      at: string;
      requestId: string | null;
      ip: string | null;
      userId: string | null;
      clientId: string | null;
      /** 'revocation' (the /revoke endpoint), 'token' (a refresh token used twice), 'entra-sign-in-ended', … */
      action: string;
      grantId: string;
      outcome: 'ok';
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
      /** A request refused by a rate limit (429). */
      type: 'rate.limited';
      at: string;
      requestId: string;
      /** The caller, for limits counted per user (MCP, tools); null for limits counted per address. */
      userId: string | null;
      ip: string;
      /** Which limit: mcp, tool:{name}, register, token, authorize, auth or login. */
      scope: string;
      /** The budget that was used up: requests per window. */
      limit: { max: number; windowMs: number };
    }
  | {
      /** An attempt at the break-glass administrator login, whatever its outcome. */
      type: 'auth.break-glass';
      at: string;
      requestId: string | null;
      /** The user name as typed (it may not be the configured one). */
      username: string;
      ip: string;
      outcome: 'success' | 'wrong-credentials' | 'too-early' | 'locked';
      /** For refusals by the throttle: seconds until an attempt is considered again. */
      retryAfterSeconds: number | null;
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
  /** How the sink is keeping up, when it writes somewhere that can fail (DurableAuditSink). */
  stats?(): AuditSinkStats;
}

export interface AuditSinkStats {
  /** Events waiting to be written (the buffer and the batch being written). */
  queued: number;
  /** Events lost since start (buffer full, shutdown with the database unreachable, unstorable). */
  dropped: number;
  /** Events written since start. */
  written: number;
  /** Why the last write failed, while writes are failing; null once one succeeds. */
  lastError: string | null;
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
