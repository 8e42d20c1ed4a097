import { isGatehouseError } from '../errors/index.js';
import type { AuditLogRepository } from '../storage/contract.js';
import type { AuditEvent, AuditSink, AuditSinkStats } from './audit.js';
import type { AuditRowInput } from './audit-log.js';
import { toAuditRow } from './audit-row.js';

export type AuditBufferFull = 'drop-newest' | 'drop-oldest';

export interface DurableAuditSinkOptions {
  log: AuditLogRepository;
  logger: {
    warn(object: object, message: string): void;
    error(object: object, message: string): void;
  };
  /** AUDIT_BUFFER_SIZE: events held in memory, the batch being written included. */
  bufferSize: number;
  /** AUDIT_BUFFER_FULL. */
  whenFull: AuditBufferFull;
  /** AUDIT_FLUSH_INTERVAL. */
  flushIntervalMs: number;
  /** Events per write; a buffer holding this many is written without waiting for the interval. */
  batchSize?: number;
  /** AUDIT_LOG_ARGUMENTS. */
  logArguments: boolean;
  /** AUDIT_RETENTION_DAYS; 0 keeps rows forever. */
  retentionDays: number;
  /** AUDIT_LOG_STDOUT: receives each event as one JSON line (with its newline). */
  mirror?: (line: string) => void;
  /** First retry delay after a failed write; doubled on each failure up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
  pruneIntervalMs?: number;
  now?: () => number;
}

export const DEFAULT_BATCH_SIZE = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Writes audit events to the audit_log table off the request path. `emit` only pushes into a
 * bounded buffer: it never waits, never throws, and costs no I/O. A timer (or a full batch)
 * writes the buffer in batches; a failed write puts its batch back and is retried with backoff,
 * so a database outage delays events rather than losing them, until the buffer is full: then
 * AUDIT_BUFFER_FULL decides which events go, and each one is counted (stats().dropped) and logged.
 */
export class DurableAuditSink implements AuditSink {
  readonly #options: DurableAuditSinkOptions;
  readonly #batchSize: number;
  readonly #now: () => number;
  #buffer: AuditEvent[] = [];
  /** Events taken from the buffer by the write in progress. */
  #inFlight = 0;
  #dropped = 0;
  #dropsLogged = 0;
  #written = 0;
  #lastError: string | null = null;
  #retryDelayMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #soon = false;
  #writing: Promise<void> | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #pruning: Promise<unknown> | undefined;
  #closed = false;

  constructor(options: DurableAuditSinkOptions) {
    this.#options = options;
    this.#batchSize = Math.max(1, Math.min(options.batchSize ?? DEFAULT_BATCH_SIZE, options.bufferSize));
    this.#now = options.now ?? Date.now;
  }

  /** Starts the flush timer and retention (a first prune now, then every pruneIntervalMs). */
  start(): this {
    this.#schedule(this.#options.flushIntervalMs);
    if (this.#options.retentionDays > 0) {
      void this.prune();
      this.#pruneTimer = setInterval(
        () => void this.prune(),
        this.#options.pruneIntervalMs ?? 60 * 60 * 1000,
      );
      this.#pruneTimer.unref();
    }
    return this;
  }

  emit(event: AuditEvent): void {
    try {
      if (this.#options.mirror !== undefined) this.#mirror(event);
      if (this.#closed) {
        this.#drop(1);
        return;
      }
      if (this.#buffer.length + this.#inFlight >= this.#options.bufferSize) {
        if (this.#options.whenFull === 'drop-newest' || this.#buffer.length === 0) {
          this.#drop(1);
          return;
        }
        this.#buffer.shift();
        this.#drop(1);
      }
      this.#buffer.push(event);
      if (this.#buffer.length >= this.#batchSize && !this.#soon && this.#retryDelayMs === 0) {
        this.#soon = true;
        setImmediate(() => {
          this.#soon = false;
          void this.#flushNow();
        });
      }
    } catch {
      // emit never throws into a request; whatever failed here is counted.
      this.#drop(1);
    }
  }

  stats(): AuditSinkStats {
    return {
      queued: this.#buffer.length + this.#inFlight,
      dropped: this.#dropped,
      written: this.#written,
      lastError: this.#lastError,
    };
  }

  /**
   * Writes what is buffered now, retry delay or not. Resolves (never rejects) when the buffer is
   * empty or a write failed (then stats().lastError says why and the events stay queued).
   */
  async flush(): Promise<void> {
    await this.#flushNow();
  }

  /** Graceful shutdown: stops the timers, writes what is left; what cannot be written is counted as dropped and logged. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#pruneTimer);
    await this.#pruning;
    await this.#flushNow();
    const left = this.#buffer.length;
    this.#buffer = [];
    if (left > 0) this.#drop(left);
    this.#logDrops('at shutdown, the database unreachable');
  }

  /** Deletes the rows older than the retention; the number deleted (0 when retention is off or the delete failed). */
  async prune(): Promise<number> {
    if (this.#options.retentionDays <= 0) return 0;
    const cutoff = new Date(this.#now() - this.#options.retentionDays * DAY_MS);
    const pruning = this.#options.log.deleteOlderThan(cutoff).catch((error: unknown) => {
      this.#options.logger.warn(
        { err: error },
        'old audit rows could not be deleted; retrying at the next prune',
      );
      return 0;
    });
    this.#pruning = pruning;
    return pruning;
  }

  #mirror(event: AuditEvent): void {
    const row = toAuditRow(event, { logArguments: this.#options.logArguments });
    this.#options.mirror!(`${JSON.stringify({ audit: row })}\n`);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#flushNow(), delayMs);
    this.#timer.unref();
  }

  #flushNow(): Promise<void> {
    // One write at a time: a second caller waits for the current one, then writes what is left.
    const previous = this.#writing ?? Promise.resolve();
    const next = previous.then(() => this.#drain());
    this.#writing = next;
    void next.finally(() => {
      if (this.#writing === next) this.#writing = undefined;
    });
    return next;
  }

  async #drain(): Promise<void> {
    let failed = false;
    while (this.#buffer.length > 0 && !failed) {
      const batch = this.#buffer.splice(0, this.#batchSize);
      this.#inFlight = batch.length;
      // What is not yet stored: #append takes each pair out once its row is stored or refused.
      const pending = this.#rowsOf(batch);
      try {
        await this.#append(pending);
        this.#lastError = null;
        this.#retryDelayMs = 0;
      } catch (error) {
        failed = true;
        this.#lastError = error instanceof Error ? error.message : String(error);
        // Back to the front, in order: newer events were queued behind them meanwhile.
        this.#buffer.unshift(...pending.map(([event]) => event));
        const { retryMinMs = 100, retryMaxMs = 30_000 } = this.#options;
        this.#retryDelayMs =
          this.#retryDelayMs === 0 ? retryMinMs : Math.min(this.#retryDelayMs * 2, retryMaxMs);
        this.#options.logger.warn(
          { err: error, queued: this.#buffer.length, retryInMs: this.#retryDelayMs },
          'audit events could not be written; they stay queued and the write is retried',
        );
      } finally {
        this.#inFlight = 0;
      }
    }
    this.#logDrops('the audit buffer was full, or an event could not be stored');
    this.#schedule(failed ? this.#retryDelayMs : this.#options.flushIntervalMs);
  }

  /** The rows of a batch; an event that cannot become a row is dropped (counted) rather than blocking the rest. */
  #rowsOf(batch: AuditEvent[]): [AuditEvent, AuditRowInput][] {
    const rows: [AuditEvent, AuditRowInput][] = [];
    for (const event of batch) {
      try {
        rows.push([event, toAuditRow(event, { logArguments: this.#options.logArguments })]);
      } catch (error) {
        this.#unstorable(event, error);
      }
    }
    return rows;
  }

  /**
   * Stores the pairs' rows, taking each pair out of `pending` once it is stored (or refused for
   * good); when it throws, `pending` holds exactly what is still to be stored.
   */
  async #append(pending: [AuditEvent, AuditRowInput][]): Promise<void> {
    try {
      await this.#options.log.append(pending.map(([, row]) => row));
      this.#written += pending.length;
      pending.length = 0;
      return;
    } catch (error) {
      if (!isGatehouseError(error) || error.code !== 'GH_STORAGE_INVALID_ARGUMENT') throw error;
    }
    // A row the store refuses would fail its batch forever: store the others one by one.
    while (pending.length > 0) {
      const [, row] = pending[0]!;
      try {
        await this.#options.log.append([row]);
        this.#written++;
      } catch (error) {
        if (!isGatehouseError(error) || error.code !== 'GH_STORAGE_INVALID_ARGUMENT') throw error;
        this.#unstorable(row, error);
      }
      pending.shift();
    }
  }

  #unstorable(event: unknown, error: unknown): void {
    this.#drop(1);
    this.#options.logger.error(
      { err: error, type: (event as { type?: unknown }).type },
      'an audit event could not be stored and was dropped',
    );
  }

  #drop(count: number): void {
    this.#dropped += count;
  }

  /** One log line per flush for the drops since the last one, however many: a full buffer must not flood the log. */
  #logDrops(why: string): void {
    const fresh = this.#dropped - this.#dropsLogged;
    if (fresh <= 0) return;
    this.#dropsLogged = this.#dropped;
    this.#options.logger.error(
      { dropped: fresh, droppedTotal: this.#dropped, queued: this.#buffer.length + this.#inFlight },
      `${fresh} audit event${fresh === 1 ? ' was' : 's were'} dropped (${why}; see AUDIT_BUFFER_SIZE and AUDIT_BUFFER_FULL)`,
    );
  }
}
