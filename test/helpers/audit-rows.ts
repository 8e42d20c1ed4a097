import type { RunningGatehouse } from '../../src/http/server.js';
import type { AuditQuery, AuditRow } from '../../src/ops/audit-log.js';
import type { DurableAuditSink } from '../../src/ops/audit-writer.js';

/**
 * The audit rows a running Gatehouse has written to its durable log, after writing what its
 * audit writer still holds: what the audit log says happened, oldest first.
 */
export async function auditRows(gatehouse: RunningGatehouse, query: AuditQuery = {}): Promise<AuditRow[]> {
  await (gatehouse.audit as DurableAuditSink).flush();
  const page = await gatehouse.stores.durable.auditLog.query({ ...query, limit: 1000 });
  return page.rows.reverse();
}
