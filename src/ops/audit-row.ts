import type { AuditEvent } from './audit.js';
import type { AuditRowInput } from './audit-log.js';

/**
 * Turns any audit event into a row without knowing its kind: the field names every kind may share
 * become columns, everything else goes into `details`. A kind added later (admin.action,
 * rate.limited, …) therefore needs no change here, as long as it names its fields like these.
 */
type Column =
  | 'userId'
  | 'tenantId'
  | 'clientId'
  | 'tool'
  | 'server'
  | 'action'
  | 'errorCode'
  | 'requestId'
  | 'ip';

/** Field name → the column it fills. */
const TEXT_COLUMNS: ReadonlyMap<string, Column> = new Map<string, Column>([
  ['userId', 'userId'],
  ['tenantId', 'tenantId'],
  ['clientId', 'clientId'],
  ['tool', 'tool'],
  ['server', 'server'],
  ['action', 'action'],
  ['errorCode', 'errorCode'],
  ['requestId', 'requestId'],
  ['ip', 'ip'],
]);
/**
 * Aliases fill their column only when the column's own field is absent (otherwise they are details):
 * gateway.forward names the tool (or prompt, or resource) `name` and its MCP method `method`;
 * auth.failure names its error `code`.
 */
const ALIASES: ReadonlyMap<string, Column> = new Map<string, Column>([
  ['name', 'tool'],
  ['method', 'action'],
  ['code', 'errorCode'],
]);

/** The event field that carries a tool call's arguments: kept only when configured, then redacted. */
const ARGUMENTS_FIELD = 'arguments';

/** Keys whose values are never stored, at any depth of the arguments. */
const SECRET_KEY =
  /pass(word|phrase|wd)?$|secret|token|api[-_]?key|^key$|private[-_]?key|authorization|cookie|credential|session[-_]?id|^otp$|^pin$/i;
export const REDACTED = '[redacted]';
const MAX_DEPTH = 8;
const MAX_STRING = 2000;

export interface AuditRowOptions {
  /** AUDIT_LOG_ARGUMENTS: keep tool-call arguments (redacted) in details. */
  logArguments: boolean;
}

// Runs for every audit event (one per tool call), so it is written as one pass over the event's own
// keys with map lookups: no entry arrays, no per-field closures.
export function toAuditRow(event: AuditEvent, options: AuditRowOptions): AuditRowInput {
  const source = event as unknown as Record<string, unknown>;
  const details: Record<string, unknown> = {};
  const row: AuditRowInput = {
    at: timeOf(source.at),
    type: String(source.type),
    userId: null,
    tenantId: null,
    clientId: null,
    tool: null,
    server: null,
    action: null,
    outcome: '',
    errorCode: null,
    durationMs: null,
    requestId: null,
    ip: null,
    details,
  };
  for (const field of Object.keys(source)) {
    const value = source[field];
    if (value === undefined || field === 'type' || field === 'at') continue;
    let column = TEXT_COLUMNS.get(field);
    if (column === undefined) {
      column = ALIASES.get(field);
      const own = column === undefined ? undefined : source[column];
      if (own !== undefined && own !== null) column = undefined;
    }
    if (column !== undefined) {
      row[column] = value === null ? null : String(value);
    } else if (field === 'outcome') {
      row.outcome = String(value);
    } else if (field === 'durationMs') {
      row.durationMs = typeof value === 'number' && Number.isFinite(value) ? value : null;
    } else if (field === ARGUMENTS_FIELD) {
      if (options.logArguments) details[field] = redact(value, 0);
    } else {
      details[field] = value;
    }
  }
  if (row.outcome === '') row.outcome = row.errorCode === null ? 'ok' : 'error';
  return row;
}

/** A copy of `value` with the values under secret-looking keys replaced, long strings cut, deep nesting cut. */
export function redact(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' ? String(value) : value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value))
    copy[key] = SECRET_KEY.test(key) ? REDACTED : redact(item, depth + 1);
  return copy;
}

function timeOf(at: unknown): Date {
  const time =
    typeof at === 'string' || typeof at === 'number' || at instanceof Date ? new Date(at) : undefined;
  return time !== undefined && Number.isFinite(time.getTime()) ? time : new Date();
}
