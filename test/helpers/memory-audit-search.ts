import type { AuditEvent, MemoryAuditSink } from '../../src/ops/audit.js';
import type { AuditQuery, AuditRow, SearchAudit } from '../../src/ops/audit-log.js';

/**
 * A SearchAudit over a MemoryAuditSink's events, for tests of the admin console's audit page (the
 * durable log's own search is tested with the log). Newest first; the cursor is a row index.
 */
export function memoryAuditSearch(sink: MemoryAuditSink): SearchAudit {
  return async (query: AuditQuery) => {
    const rows = sink.events
      .map((event, index) => toRow(event, index))
      .filter((row) => matches(row, query))
      .reverse();
    const start = query.cursor === undefined ? 0 : Number(query.cursor);
    const limit = query.limit ?? 50;
    const page = rows.slice(start, start + limit);
    return { rows: page, nextCursor: start + limit < rows.length ? String(start + limit) : null };
  };
}

function matches(row: AuditRow, query: AuditQuery): boolean {
  return (
    (query.userId === undefined || row.userId === query.userId) &&
    (query.type === undefined || row.type === query.type) &&
    (query.tool === undefined || row.tool === query.tool) &&
    (query.server === undefined || row.server === query.server) &&
    (query.outcome === undefined || row.outcome === query.outcome) &&
    (query.since === undefined || row.at >= query.since) &&
    (query.until === undefined || row.at < query.until)
  );
}

function toRow(event: AuditEvent, index: number): AuditRow {
  const base = {
    id: String(index),
    at: new Date(event.at),
    type: event.type,
    userId: null as string | null,
    tenantId: null as string | null,
    clientId: null,
    tool: null as string | null,
    server: null as string | null,
    action: null as string | null,
    outcome: 'ok',
    errorCode: null as string | null,
    durationMs: null as number | null,
    requestId: event.requestId,
    ip: null as string | null,
    details: {} as Record<string, unknown>,
  };
  switch (event.type) {
    case 'auth.failure':
      return {
        ...base,
        ip: event.ip,
        outcome: 'deny',
        errorCode: event.code,
        details: { reason: event.reason },
      };
    case 'tool.decision':
      return {
        ...base,
        userId: event.userId,
        tenantId: event.tenantId,
        tool: event.tool,
        action: event.action,
        outcome: event.outcome,
        details: { reason: event.reason, missing: event.missing },
      };
    case 'gateway.forward':
      return {
        ...base,
        userId: event.userId,
        tenantId: event.tenantId,
        server: event.server,
        tool: event.name,
        action: event.method,
        outcome: event.outcome,
        durationMs: event.durationMs,
      };
    case 'gateway.registry':
      return { ...base, userId: event.userId, server: event.server, action: event.action };
    case 'admin.action':
      return {
        ...base,
        userId: event.userId,
        action: event.action,
        outcome: event.outcome,
        details: { target: event.target },
      };
  }
}
