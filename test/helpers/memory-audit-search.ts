import type { AuditEvent, MemoryAuditSink } from '../../src/ops/audit.js';
import type { AuditQuery, AuditRow, SearchAudit } from '../../src/ops/audit-log.js';
import { toAuditRow } from '../../src/ops/audit-row.js';

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
  return { id: String(index), ...toAuditRow(event, { logArguments: false }) };
}
