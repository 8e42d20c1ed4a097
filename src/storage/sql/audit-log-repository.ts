import { CompiledQuery, type Insertable, type Kysely, type Selectable } from 'kysely';
import { GatehouseError } from '../../errors/index.js';
import type { AuditPage, AuditRow, AuditRowInput } from '../../ops/audit-log.js';
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, type AuditLogRepository } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { type AuditLogTable, epochMs, type Tables } from './tables.js';

/**
 * Rows per INSERT statement, largest first: a batch is cut into statements of these sizes, so the
 * statements' texts are few and always the same (a database that keeps prepared statements, as
 * Gatehouse's SQLite does, compiles each once), and 15 parameters a row stay far under both
 * databases' limits on bound parameters. Several statements run in one transaction.
 */
const STATEMENT_SIZES = [100, 10, 1] as const;
const CURSOR_PREFIX = 'a1.';

export function createAuditLogRepository(backend: SqlBackend): AuditLogRepository {
  const { db } = backend;
  return {
    append: async (rows) => {
      if (!Array.isArray(rows)) throw invalid('append takes an array of audit rows.');
      if (rows.length === 0) return;
      const values = rows.map(toColumns);
      const chunks = chunked(values);
      await attempt(backend, async () => {
        // One statement is atomic on its own; only several need a transaction.
        if (chunks.length === 1) return void (await insert(db, backend.kind, chunks[0]!));
        await db.transaction().execute(async (trx) => {
          for (const chunk of chunks) await insert(trx, backend.kind, chunk);
        });
      });
    },

    query: async (query) => {
      const limit = pageLimit(query?.limit);
      let select = db.selectFrom('audit_log').selectAll();
      if (query.userId !== undefined) select = select.where('user_id', '=', text('userId', query.userId));
      if (query.tool !== undefined) select = select.where('tool', '=', text('tool', query.tool));
      if (query.server !== undefined) select = select.where('server', '=', text('server', query.server));
      if (query.outcome !== undefined) select = select.where('outcome', '=', text('outcome', query.outcome));
      if (query.type !== undefined) select = select.where('type', '=', text('type', query.type));
      if (query.since !== undefined) select = select.where('at', '>=', time('since', query.since));
      if (query.until !== undefined) select = select.where('at', '<', time('until', query.until));
      if (query.cursor !== undefined) select = select.where('id', '<', decodeCursor(query.cursor));
      const found = await attempt(backend, () =>
        select
          .orderBy('id', 'desc')
          .limit(limit + 1)
          .execute(),
      );
      const rows = found.slice(0, limit).map(toAuditRow);
      const last = rows[rows.length - 1];
      return {
        rows,
        nextCursor: found.length > limit && last !== undefined ? encodeCursor(last.id) : null,
      } satisfies AuditPage;
    },

    deleteOlderThan: async (cutoff) => {
      const before = time('cutoff', cutoff);
      // One statement: concurrent prunes from several instances each delete what is still there.
      const result = await attempt(backend, () =>
        db.deleteFrom('audit_log').where('at', '<', before).executeTakeFirst(),
      );
      return Number(result.numDeletedRows);
    },
  };
}

const COLUMNS = [
  'at',
  'type',
  'user_id',
  'tenant_id',
  'client_id',
  'tool',
  'server',
  'action',
  'outcome',
  'error_code',
  'duration_ms',
  'request_id',
  'ip',
  'details',
] as const satisfies readonly (keyof AuditLogTable)[];

/** The rows cut into runs of STATEMENT_SIZES, largest first. */
function chunked<T>(values: T[]): T[][] {
  const chunks: T[][] = [];
  let start = 0;
  for (const size of STATEMENT_SIZES) {
    while (values.length - start >= size) {
      chunks.push(values.slice(start, start + size));
      start += size;
    }
  }
  return chunks;
}

/** The text of a multi-row INSERT of `rows` rows, made once per size and database kind. */
const statementTexts = new Map<string, string>();
function insertText(kind: SqlBackend['kind'], rows: number): string {
  const key = `${kind}:${rows}`;
  let text = statementTexts.get(key);
  if (text === undefined) {
    const tuples: string[] = [];
    let parameter = 0;
    for (let row = 0; row < rows; row++) {
      const placeholders = COLUMNS.map(() => (kind === 'postgres' ? `$${++parameter}` : '?'));
      tuples.push(`(${placeholders.join(', ')})`);
    }
    text = `insert into audit_log (${COLUMNS.join(', ')}) values ${tuples.join(', ')}`;
    statementTexts.set(key, text);
  }
  return text;
}

/**
 * One multi-row INSERT, its text written here rather than by kysely's builder: the audit log writes
 * a row per tool call, and building a statement node by node cost more CPU than the call.
 */
function insert(db: Kysely<Tables>, kind: SqlBackend['kind'], values: Insertable<AuditLogTable>[]) {
  const parameters: unknown[] = [];
  for (const value of values) for (const column of COLUMNS) parameters.push(value[column] ?? null);
  return db.executeQuery(CompiledQuery.raw(insertText(kind, values.length), parameters));
}

function toColumns(row: AuditRowInput): Insertable<AuditLogTable> {
  if (typeof row !== 'object' || row === null) throw invalid('Each audit row must be an object.');
  const at = time('at', row.at);
  if (typeof row.type !== 'string' || row.type === '')
    throw invalid('An audit row needs a type (the event kind, e.g. tool.call).');
  if (typeof row.outcome !== 'string' || row.outcome === '')
    throw invalid('An audit row needs an outcome (ok, allow, deny, error, …).');
  if (row.durationMs !== null && !(typeof row.durationMs === 'number' && Number.isFinite(row.durationMs)))
    throw invalid('An audit row’s durationMs must be a finite number of milliseconds or null.');
  if (typeof row.details !== 'object' || row.details === null || Array.isArray(row.details))
    throw invalid('An audit row’s details must be an object.');
  let details: string;
  try {
    details = JSON.stringify(row.details);
  } catch (error) {
    throw invalid('An audit row’s details must be JSON-serialisable (no cycles, no BigInt).', error);
  }
  return {
    at,
    type: row.type,
    user_id: optionalText('userId', row.userId),
    tenant_id: optionalText('tenantId', row.tenantId),
    client_id: optionalText('clientId', row.clientId),
    tool: optionalText('tool', row.tool),
    server: optionalText('server', row.server),
    action: optionalText('action', row.action),
    outcome: row.outcome,
    error_code: optionalText('errorCode', row.errorCode),
    duration_ms: row.durationMs,
    request_id: optionalText('requestId', row.requestId),
    ip: optionalText('ip', row.ip),
    details,
  };
}

function toAuditRow(row: Selectable<AuditLogTable>): AuditRow {
  return {
    id: String(row.id),
    at: new Date(epochMs(row.at)),
    type: row.type,
    userId: row.user_id,
    tenantId: row.tenant_id,
    clientId: row.client_id,
    tool: row.tool,
    server: row.server,
    action: row.action,
    outcome: row.outcome,
    errorCode: row.error_code,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    requestId: row.request_id,
    ip: row.ip,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

function pageLimit(limit: unknown): number {
  if (limit === undefined) return AUDIT_PAGE_DEFAULT;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1)
    throw invalid(`limit must be a whole number from 1 (at most ${AUDIT_PAGE_MAX} are returned).`);
  return Math.min(limit, AUDIT_PAGE_MAX);
}

export function encodeCursor(id: string): string {
  return CURSOR_PREFIX + Buffer.from(id, 'utf8').toString('base64url');
}

/** The id a cursor stands for; throws GH_STORAGE_INVALID_ARGUMENT for anything this store did not issue. */
export function decodeCursor(cursor: unknown): number {
  if (typeof cursor === 'string' && cursor.startsWith(CURSOR_PREFIX)) {
    const id = Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url').toString('utf8');
    if (/^[1-9]\d{0,15}$/.test(id) && Number.isSafeInteger(Number(id))) return Number(id);
  }
  throw invalid('The cursor is not one a previous page returned (nextCursor): start again without it.');
}

function time(field: string, value: unknown): number {
  if (value instanceof Date && Number.isFinite(value.getTime())) return value.getTime();
  throw invalid(`${field} must be a valid Date.`);
}

function text(field: string, value: unknown): string {
  if (typeof value === 'string') return value;
  throw invalid(`The ${field} filter must be a string.`);
}

function optionalText(field: string, value: unknown): string | null {
  if (value === null || typeof value === 'string') return value;
  throw invalid(`An audit row’s ${field} must be a string or null.`);
}

function invalid(message: string, cause?: unknown): GatehouseError {
  return new GatehouseError('GH_STORAGE_INVALID_ARGUMENT', message, { cause });
}
