/**
 * The durable audit log's row shape and its query. Every audit event (src/ops/audit.ts) becomes one
 * row: the fields every kind shares are columns (so they can be filtered), the rest is `details`.
 */

export interface AuditRowInput {
  at: Date;
  /** The event kind: 'tool.call', 'auth.failure', 'auth.sign-in', 'admin.action', … */
  type: string;
  userId: string | null;
  tenantId: string | null;
  clientId: string | null;
  /** The tool, prompt or resource named, when the event concerns one. */
  tool: string | null;
  /** The upstream server, when the event concerns one. */
  server: string | null;
  /** What was done: 'call', 'create', 'revoke', 'add-membership', … */
  action: string | null;
  /** 'ok', 'allow', 'deny', 'error', … */
  outcome: string;
  errorCode: string | null;
  durationMs: number | null;
  requestId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

export interface AuditRow extends AuditRowInput {
  /** Increasing with insertion order; the cursor of a page is built from it. */
  id: string;
}

export interface AuditQuery {
  userId?: string;
  tool?: string;
  server?: string;
  outcome?: string;
  type?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  /** From a previous page's nextCursor. */
  cursor?: string;
  /** Rows per page (newest first). */
  limit?: number;
}

export interface AuditPage {
  rows: AuditRow[];
  /** null on the last page. */
  nextCursor: string | null;
}

export type SearchAudit = (query: AuditQuery) => Promise<AuditPage>;
