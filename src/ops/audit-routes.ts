import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import type { ToolAccess } from '../mcp/tool-access.js';
import { AUDIT_PAGE_MAX, type AuditLogRepository } from '../storage/contract.js';
import type { AuditPage, AuditQuery, AuditRow, SearchAudit } from './audit-log.js';

const TAG = 'audit';
const ADMIN_ROLE = 'admin';
const MAX_FILTER_LENGTH = 512;

/** The audit log's query as the admin console (and anything else in-process) calls it. */
export function auditSearch(log: AuditLogRepository): SearchAudit {
  return (query) => log.query(query);
}

const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' } },
} as const;
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 503: errorBody };
const filters = {
  type: 'object',
  properties: {
    user: { type: 'string', description: "Gatehouse's user id (the `userId` of a row)." },
    tool: { type: 'string', description: 'Tool, prompt or resource name as the caller named it.' },
    server: { type: 'string', description: 'Upstream server name.' },
    outcome: { type: 'string', description: 'ok, tool-error, allow, deny, error, or a GH_… code.' },
    type: { type: 'string', description: 'Event kind: tool.call, gateway.forward, auth.failure, …' },
    since: { type: 'string', description: 'ISO 8601 time; rows at or after it.' },
    until: { type: 'string', description: 'ISO 8601 time; rows before it.' },
    cursor: { type: 'string', description: 'The nextCursor of the previous page.' },
    limit: { type: 'string', description: `Rows per page, 1 to ${AUDIT_PAGE_MAX} (default 100).` },
  },
} as const;
const rowSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    type: { type: 'string' },
    userId: { type: ['string', 'null'] },
    tenantId: { type: ['string', 'null'] },
    clientId: { type: ['string', 'null'] },
    tool: { type: ['string', 'null'] },
    server: { type: ['string', 'null'] },
    action: { type: ['string', 'null'] },
    outcome: { type: 'string' },
    errorCode: { type: ['string', 'null'] },
    durationMs: { type: ['number', 'null'] },
    requestId: { type: ['string', 'null'] },
    ip: { type: ['string', 'null'] },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

/**
 * /api/audit: the audit log for administrators, a page at a time, and /api/audit/export, every
 * matching row as NDJSON for a SIEM. Only callers with the admin role may read it.
 */
export async function auditRoutes(
  app: FastifyInstance,
  options: {
    search: SearchAudit;
    access: ToolAccess;
    resolveCaller(request: FastifyRequest): Caller | Promise<Caller>;
  },
) {
  const { search, access } = options;

  async function admin(request: FastifyRequest): Promise<Caller> {
    const caller = await options.resolveCaller(request);
    access.checkScopes(caller, 'tools/list', undefined, request.id);
    if (!caller.roles.includes(ADMIN_ROLE)) {
      const held = caller.roles.length === 0 ? 'none' : caller.roles.join(', ');
      throw new GatehouseError(
        'GH_API_ROLE_REQUIRED',
        `Only callers with the ${ADMIN_ROLE} role may read the audit log; your roles: ${held}. Ask an administrator for the role.`,
      );
    }
    return caller;
  }

  app.get(
    '/api/audit',
    {
      schema: {
        tags: [TAG],
        summary: 'Search the audit log (newest first, a page at a time)',
        security: [{ bearer: [] }],
        querystring: filters,
        response: {
          200: {
            type: 'object',
            properties: {
              rows: { type: 'array', items: rowSchema },
              nextCursor: { type: ['string', 'null'] },
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      await admin(request);
      const query = parseFilters(request.query as Record<string, unknown>, true);
      const page = await searchPage(search, query);
      return { rows: page.rows.map(wireRow), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/api/audit/export',
    {
      schema: {
        tags: [TAG],
        summary: 'Export the audit log as NDJSON (every matching row, newest first)',
        description:
          'One JSON object per line, the same fields as /api/audit rows; the same filters, without limit. Streams until the last matching row.',
        security: [{ bearer: [] }],
        querystring: filters,
        response: { 200: { type: 'string', description: 'application/x-ndjson' }, ...errors },
      },
    },
    async (request, reply) => {
      await admin(request);
      const query = parseFilters(request.query as Record<string, unknown>, false);
      // The first page before the status is sent: a bad cursor or a database down is still a clean error.
      const first = await searchPage(search, { ...query, limit: AUDIT_PAGE_MAX });
      const lines = async function* () {
        let page = first;
        for (;;) {
          if (page.rows.length > 0)
            yield `${page.rows.map((row) => JSON.stringify(wireRow(row))).join('\n')}\n`;
          if (page.nextCursor === null) return;
          page = await search({ ...query, cursor: page.nextCursor, limit: AUDIT_PAGE_MAX });
        }
      };
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', 'attachment; filename="gatehouse-audit.ndjson"')
        .header('cache-control', 'no-store')
        .send(Readable.from(lines()));
    },
  );
}

async function searchPage(search: SearchAudit, query: AuditQuery): Promise<AuditPage> {
  try {
    return await search(query);
  } catch (error) {
    // Every filter but the cursor was checked already: a refusal here is the cursor.
    if (isGatehouseError(error) && error.code === 'GH_STORAGE_INVALID_ARGUMENT')
      throw invalidQuery(
        'cursor is not one a previous page returned (its nextCursor): leave it out to start from the newest row.',
      );
    throw error;
  }
}

function wireRow(row: AuditRow) {
  return { ...row, at: row.at.toISOString() };
}

/** The filters of a request, checked: each problem is GH_AUDIT_INVALID_QUERY naming the parameter. */
export function parseFilters(raw: Record<string, unknown>, paged: boolean): AuditQuery {
  const query: AuditQuery = {};
  const text = (name: string): string | undefined => {
    const value = raw[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '' || value.length > MAX_FILTER_LENGTH)
      throw invalidQuery(`${name} must be given once, as 1 to ${MAX_FILTER_LENGTH} characters.`);
    return value;
  };
  const user = text('user');
  if (user !== undefined) query.userId = user;
  for (const name of ['tool', 'server', 'outcome', 'type'] as const) {
    const value = text(name);
    if (value !== undefined) query[name] = value;
  }
  for (const name of ['since', 'until'] as const) {
    const value = text(name);
    if (value === undefined) continue;
    const time = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)
      ? new Date(value)
      : undefined;
    if (time === undefined || !Number.isFinite(time.getTime()))
      throw invalidQuery(
        `${name} must be an ISO 8601 date or time, e.g. 2026-12-01 or 2026-12-01T10:00:00Z; got '${value}'.`,
      );
    query[name] = time;
  }
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until)
    throw invalidQuery('since must be earlier than until.');
  const cursor = text('cursor');
  if (cursor !== undefined) query.cursor = cursor;
  const limit = text('limit');
  if (limit !== undefined) {
    if (!paged) throw invalidQuery('limit does not apply to the export, which returns every matching row.');
    if (!/^\d{1,7}$/.test(limit) || Number(limit) < 1 || Number(limit) > AUDIT_PAGE_MAX)
      throw invalidQuery(`limit must be a whole number from 1 to ${AUDIT_PAGE_MAX}; got '${limit}'.`);
    query.limit = Number(limit);
  }
  return query;
}

function invalidQuery(message: string): GatehouseError {
  return new GatehouseError('GH_AUDIT_INVALID_QUERY', message);
}
