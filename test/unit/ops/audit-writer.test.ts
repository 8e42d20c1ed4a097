import { describe, expect, it } from 'vitest';
import { GatehouseError, StorageUnavailableError } from '../../../src/errors/index.js';
import type { AuditEvent } from '../../../src/ops/audit.js';
import type { AuditPage, AuditRowInput } from '../../../src/ops/audit-log.js';
import { REDACTED, toAuditRow } from '../../../src/ops/audit-row.js';
import { DurableAuditSink, type DurableAuditSinkOptions } from '../../../src/ops/audit-writer.js';
import type { AuditLogRepository } from '../../../src/storage/contract.js';

/** An audit log in memory that can be made unreachable. */
class FakeLog implements AuditLogRepository {
  rows: AuditRowInput[] = [];
  down = false;
  appends = 0;
  cutoffs: Date[] = [];
  /** Goes down at this many appends (counting from 1). */
  downAtAppend = Number.POSITIVE_INFINITY;
  async append(rows: readonly AuditRowInput[]): Promise<void> {
    this.appends++;
    if (this.appends >= this.downAtAppend) this.down = true;
    if (this.down)
      throw new StorageUnavailableError('PostgreSQL at 127.0.0.1:5432 did not answer (DATABASE_URL)');
    if (rows.some((row) => row.type === 'unstorable'))
      throw new GatehouseError('GH_STORAGE_INVALID_ARGUMENT', 'an unstorable row');
    this.rows.push(...rows);
  }
  async query(): Promise<AuditPage> {
    return { rows: [], nextCursor: null };
  }
  async deleteOlderThan(cutoff: Date): Promise<number> {
    this.cutoffs.push(cutoff);
    return 0;
  }
}

const logged: { level: string; object: object; message: string }[] = [];
const logger = {
  warn: (object: object, message: string) => logged.push({ level: 'warn', object, message }),
  error: (object: object, message: string) => logged.push({ level: 'error', object, message }),
};

function sink(log: FakeLog, options: Partial<DurableAuditSinkOptions> = {}) {
  return new DurableAuditSink({
    log,
    logger,
    bufferSize: 100,
    whenFull: 'drop-newest',
    flushIntervalMs: 60_000,
    batchSize: 1000,
    logArguments: false,
    retentionDays: 0,
    ...options,
  });
}

const registry = (n: number): AuditEvent => ({
  type: 'gateway.registry',
  at: new Date(Date.UTC(2026, 11, 1, 0, 0, n)).toISOString(),
  requestId: `r${n}`,
  userId: 'admin-1',
  action: 'create',
  server: `s${n}`,
});

describe('toAuditRow', () => {
  it('maps the shared field names to columns and everything else to details, for any kind', () => {
    const row = toAuditRow(
      {
        type: 'admin.action',
        at: '2026-12-01T10:00:00.000Z',
        requestId: 'req-1',
        userId: 'u1',
        tenantId: 't1',
        clientId: 'c1',
        action: 'add-membership',
        outcome: 'ok',
        ip: '203.0.113.9',
        target: { userId: 'carol', org: 'contoso', team: 'red' },
        durationMs: 3.5,
      } as unknown as AuditEvent,
      { logArguments: false },
    );
    expect(row).toEqual({
      at: new Date('2026-12-01T10:00:00.000Z'),
      type: 'admin.action',
      userId: 'u1',
      tenantId: 't1',
      clientId: 'c1',
      tool: null,
      server: null,
      action: 'add-membership',
      outcome: 'ok',
      errorCode: null,
      durationMs: 3.5,
      requestId: 'req-1',
      ip: '203.0.113.9',
      details: { target: { userId: 'carol', org: 'contoso', team: 'red' } },
    });
  });

  it('reads name, method and code as tool, action and error code when those are absent; derives the outcome', () => {
    const failure = toAuditRow(
      {
        type: 'auth.failure',
        at: '2026-12-01T10:00:00Z',
        requestId: 'r',
        ip: '::1',
        code: 'GH_AUTH_EXPIRED',
        reason: 'expired',
      },
      { logArguments: false },
    );
    expect(failure).toMatchObject({
      errorCode: 'GH_AUTH_EXPIRED',
      outcome: 'error',
      details: { reason: 'expired' },
    });
    const forward = toAuditRow(
      {
        type: 'gateway.forward',
        at: '2026-12-01T10:00:00Z',
        requestId: 'r',
        userId: 'u',
        tenantId: 't',
        server: 'docs',
        method: 'tools/call',
        name: 'docs__search',
        outcome: 'ok',
        durationMs: 12.5,
      },
      { logArguments: false },
    );
    expect(forward).toMatchObject({
      tool: 'docs__search',
      action: 'tools/call',
      server: 'docs',
      durationMs: 12.5,
      outcome: 'ok',
      details: {},
    });
    const both = toAuditRow(
      { ...(registry(1) as object), tool: 't', name: 'other' } as unknown as AuditEvent,
      { logArguments: false },
    );
    expect(both).toMatchObject({ tool: 't', details: { name: 'other' } });
  });

  it('keeps arguments only when configured, with secret-looking keys redacted at any depth', () => {
    const call: AuditEvent = {
      type: 'tool.call',
      at: Date.UTC(2026, 11, 1),
      requestId: 'r',
      userId: 'u',
      tenantId: 't',
      clientId: 'c',
      tool: 'login_somewhere',
      outcome: 'ok',
      errorCode: null,
      durationMs: 1,
      arguments: {
        user: 'alice',
        password: 'hunter2',
        nested: { apiKey: 'k-123', list: [{ Authorization: 'Bearer x', keep: 'yes' }], client_secret: 's' },
        refresh_token: 'rt',
      },
    };
    expect(toAuditRow(call, { logArguments: false }).details).toEqual({});
    const kept = toAuditRow(call, { logArguments: true });
    expect(kept.at).toEqual(new Date(Date.UTC(2026, 11, 1)));
    expect(kept.details.arguments).toEqual({
      user: 'alice',
      password: REDACTED,
      nested: { apiKey: REDACTED, list: [{ Authorization: REDACTED, keep: 'yes' }], client_secret: REDACTED },
      refresh_token: REDACTED,
    });
    expect(JSON.stringify(kept)).not.toMatch(/hunter2|k-123|Bearer x|"rt"/);
  });
});

describe('DurableAuditSink', () => {
  it('writes what was emitted, in order, in one batch per flush', async () => {
    const log = new FakeLog();
    const audit = sink(log);
    for (let n = 0; n < 5; n++) audit.emit(registry(n));
    expect(audit.stats()).toEqual({ queued: 5, dropped: 0, written: 0, lastError: null });
    expect(log.appends).toBe(0);
    await audit.flush();
    expect(log.appends).toBe(1);
    expect(log.rows.map((row) => row.server)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    expect(audit.stats()).toEqual({ queued: 0, dropped: 0, written: 5, lastError: null });
  });

  it('keeps events through an outage and writes them all, in order, once the database is back', async () => {
    const log = new FakeLog();
    const audit = sink(log);
    audit.emit(registry(0));
    log.down = true;
    await audit.flush();
    audit.emit(registry(1));
    await audit.flush();
    expect(audit.stats()).toMatchObject({ queued: 2, dropped: 0, written: 0 });
    expect(audit.stats().lastError).toContain('DATABASE_URL');
    expect(logged.some((line) => line.message.includes('could not be written'))).toBe(true);
    log.down = false;
    await audit.flush();
    expect(log.rows.map((row) => row.server)).toEqual(['s0', 's1']);
    expect(audit.stats()).toEqual({ queued: 0, dropped: 0, written: 2, lastError: null });
  });

  it('drop-newest: a full buffer keeps the waiting events and counts and logs every one it refuses', async () => {
    const log = new FakeLog();
    log.down = true;
    const audit = sink(log, { bufferSize: 100, batchSize: 10 });
    logged.length = 0;
    for (let n = 0; n < 130; n++) audit.emit(registry(n));
    await audit.flush();
    expect(audit.stats()).toMatchObject({ queued: 100, dropped: 30 });
    expect(logged.find((line) => line.level === 'error')?.object).toMatchObject({
      dropped: 30,
      droppedTotal: 30,
    });
    log.down = false;
    await audit.flush();
    expect(log.rows.map((row) => row.server)).toEqual(Array.from({ length: 100 }, (_, n) => `s${n}`));
    expect(audit.stats()).toEqual({ queued: 0, dropped: 30, written: 100, lastError: null });
  });

  it('drop-oldest: a full buffer keeps the most recent events', async () => {
    const log = new FakeLog();
    log.down = true;
    const audit = sink(log, { bufferSize: 100, batchSize: 10, whenFull: 'drop-oldest' });
    for (let n = 0; n < 130; n++) audit.emit(registry(n));
    await audit.flush();
    log.down = false;
    await audit.flush();
    expect(log.rows.map((row) => row.server)).toEqual(Array.from({ length: 100 }, (_, n) => `s${n + 30}`));
    expect(audit.stats()).toMatchObject({ dropped: 30, written: 100 });
  });

  it('never throws from emit, even when the stdout mirror fails, and counts the event it could not keep', () => {
    const audit = sink(new FakeLog(), {
      mirror: () => {
        throw new Error('EPIPE');
      },
    });
    expect(() => audit.emit(registry(1))).not.toThrow();
    expect(audit.stats()).toMatchObject({ dropped: 1, queued: 0 });
  });

  it('mirrors each event to stdout as one JSON line, redacted like the row', () => {
    const lines: string[] = [];
    const audit = sink(new FakeLog(), { mirror: (line) => lines.push(line) });
    audit.emit(registry(7));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      audit: { type: 'gateway.registry', server: 's7', requestId: 'r7' },
    });
  });

  it('stores the rest of a batch when one row is refused, counting that one as dropped', async () => {
    const log = new FakeLog();
    const audit = sink(log);
    audit.emit(registry(1));
    audit.emit({ ...registry(2), type: 'unstorable' } as unknown as AuditEvent);
    audit.emit(registry(3));
    await audit.flush();
    expect(log.rows.map((row) => row.server)).toEqual(['s1', 's3']);
    expect(audit.stats()).toEqual({ queued: 0, dropped: 1, written: 2, lastError: null });
  });

  it('an outage in the middle of storing around a refused row stores nothing twice and loses nothing', async () => {
    const log = new FakeLog();
    // Append 1: the batch, refused for its bad row. 2: s1 alone. 3: the bad row. 4: down.
    log.downAtAppend = 4;
    const audit = sink(log);
    audit.emit(registry(1));
    audit.emit({ ...registry(2), type: 'unstorable' } as unknown as AuditEvent);
    audit.emit(registry(3));
    audit.emit(registry(4));
    await audit.flush();
    expect(audit.stats()).toMatchObject({ queued: 2, dropped: 1, written: 1 });
    log.down = false;
    log.downAtAppend = Number.POSITIVE_INFINITY;
    await audit.flush();
    expect(log.rows.map((row) => row.server)).toEqual(['s1', 's3', 's4']);
    expect(audit.stats()).toEqual({ queued: 0, dropped: 1, written: 3, lastError: null });
  });

  it('close() writes what is left; with the database down, what is left is counted as dropped and logged', async () => {
    const log = new FakeLog();
    const audit = sink(log);
    audit.emit(registry(1));
    await audit.close();
    expect(log.rows).toHaveLength(1);

    const down = new FakeLog();
    down.down = true;
    const stuck = sink(down);
    logged.length = 0;
    stuck.emit(registry(1));
    stuck.emit(registry(2));
    await stuck.close();
    expect(stuck.stats()).toMatchObject({ queued: 0, dropped: 2, written: 0 });
    expect(
      logged.some((line) => line.level === 'error' && line.message.includes('2 audit events were dropped')),
    ).toBe(true);
    stuck.emit(registry(3));
    expect(stuck.stats().dropped).toBe(3);
  });

  it('prunes rows older than the retention, by the injected clock', async () => {
    const log = new FakeLog();
    const now = Date.UTC(2026, 11, 2);
    const audit = sink(log, { retentionDays: 30, now: () => now });
    await audit.prune();
    expect(log.cutoffs).toEqual([new Date(Date.UTC(2026, 10, 2))]);
    expect(await sink(log, { retentionDays: 0 }).prune()).toBe(0);
    expect(log.cutoffs).toHaveLength(1);
  });
});
