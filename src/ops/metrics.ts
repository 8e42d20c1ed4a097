import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Gateway } from '../gateway/gateway.js';
import type { AuditEvent, AuditSink } from './audit.js';
import { type CounterCell, CounterFamily, type HistogramCell, HistogramFamily } from './metric-cells.js';

/** Seconds; from 1 ms (a built-in tool) to 30 s (a slow upstream). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** MCP request methods counted under their own name; any other method counts as 'other'. */
const MCP_METHODS = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
]);

/** Routes not matched by any route (404s) share one label: the raw URL would be unbounded. */
const UNMATCHED_ROUTE = 'unmatched';

/** What the audit log's writer reports about itself. */
export interface AuditWriterStats {
  queued: number;
  dropped: number;
  written: number;
  lastError: unknown;
}

/** What the verified-token cache has seen. */
export interface TokenCacheStats {
  hits: number;
  misses: number;
  entries: number;
}

/** What the MCP dispatcher reports; Metrics implements it. */
export interface McpObserver {
  mcpRequest(method: string, ok: boolean): void;
  toolCall(tool: string, server: string, outcome: string, seconds: number): void;
}

/**
 * Gatehouse's Prometheus metrics (docs/operations.md#metrics), in a registry of its own so that
 * several apps in one process never share counts. The request path only adds to cells it looked up
 * in Maps (see metric-cells.ts); gauges that describe state (upstream health, the audit queue,
 * the token cache) are read when Prometheus scrapes.
 */
export class Metrics implements McpObserver {
  readonly registry = new Registry();
  readonly #http: CounterFamily;
  readonly #httpCells = new Map<string, Map<number, CounterCell>>();
  readonly #mcp: CounterFamily;
  readonly #mcpCells = new Map<string, [ok: CounterCell, error: CounterCell]>();
  readonly #tools: HistogramFamily;
  readonly #toolCells = new Map<string, Map<string, Map<string, HistogramCell>>>();
  readonly #upstream: HistogramFamily;
  readonly #authFailures: CounterFamily;
  readonly #decisions: CounterFamily;
  readonly #rateLimited: CounterFamily;
  readonly #tokensIssued: CounterFamily;
  readonly #signIns: CounterCell;
  #defaultMetrics = false;

  constructor(version?: string) {
    const registry = this.registry;
    this.#http = new CounterFamily(
      registry,
      'gatehouse_http_requests_total',
      'HTTP requests answered, by route pattern and status.',
      ['route', 'status'],
    );
    this.#mcp = new CounterFamily(
      registry,
      'gatehouse_mcp_requests_total',
      'MCP (JSON-RPC) requests answered, by method and whether the answer was a result or an error.',
      ['method', 'outcome'],
    );
    this.#tools = new HistogramFamily(
      registry,
      'gatehouse_tool_call_duration_seconds',
      "Duration of tools/call, by tool, server ('gatehouse' for built-in tools) and outcome (ok, tool-error, upstream-error, or the GH_ error code).",
      ['tool', 'server', 'outcome'],
      DURATION_BUCKETS,
    );
    this.#upstream = new HistogramFamily(
      registry,
      'gatehouse_upstream_request_duration_seconds',
      'Duration of requests relayed to upstream MCP servers, by server, method and outcome.',
      ['server', 'method', 'outcome'],
      DURATION_BUCKETS,
    );
    this.#authFailures = new CounterFamily(
      registry,
      'gatehouse_auth_failures_total',
      'Refused credentials on protected routes, by error code.',
      ['code'],
    );
    this.#decisions = new CounterFamily(
      registry,
      'gatehouse_tool_decisions_total',
      'Policy decisions on tools, by action (list, call) and outcome (allow, deny).',
      ['action', 'outcome'],
    );
    this.#rateLimited = new CounterFamily(
      registry,
      'gatehouse_rate_limited_total',
      'Requests refused with 429 by a rate limit, by scope.',
      ['scope'],
    );
    this.#tokensIssued = new CounterFamily(
      registry,
      'gatehouse_oauth_tokens_issued_total',
      "Successful token requests at Gatehouse's authorization server, by grant type.",
      ['grant_type'],
    );
    this.#signIns = new CounterFamily(
      registry,
      'gatehouse_oauth_authorizations_total',
      'Authorizations completed (a user signed in and consented, and the client got a code).',
      [],
    ).cell();
    if (version !== undefined) {
      new Gauge({
        name: 'gatehouse_build_info',
        help: 'Always 1; the version label says which Gatehouse runs.',
        labelNames: ['version'],
        registers: [registry],
      }).set({ version }, 1);
    }
  }

  /** Adds the process and Node.js metrics (CPU, memory, event loop, GC) of prom-client. Once. */
  collectProcessMetrics(): void {
    if (this.#defaultMetrics) return;
    this.#defaultMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  /** The exposition text and its content type, for a scrape. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  httpResponse(route: string | undefined, status: number): void {
    const key = route ?? UNMATCHED_ROUTE;
    let byStatus = this.#httpCells.get(key);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.#httpCells.set(key, byStatus);
    }
    let cell = byStatus.get(status);
    if (cell === undefined) {
      cell = this.#http.cell(key, String(status));
      byStatus.set(status, cell);
    }
    cell.value++;
  }

  mcpRequest(method: string, ok: boolean): void {
    let cells = this.#mcpCells.get(method);
    if (cells === undefined) {
      const label = MCP_METHODS.has(method) ? method : 'other';
      cells = this.#mcpCells.get(label) ?? [this.#mcp.cell(label, 'ok'), this.#mcp.cell(label, 'error')];
      // Unknown methods are not remembered one by one: the map stays as small as the label set.
      this.#mcpCells.set(label, cells);
    }
    (ok ? cells[0] : cells[1]).value++;
  }

  toolCall(tool: string, server: string, outcome: string, seconds: number): void {
    let byServer = this.#toolCells.get(tool);
    if (byServer === undefined) {
      byServer = new Map();
      this.#toolCells.set(tool, byServer);
    }
    let byOutcome = byServer.get(server);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      byServer.set(server, byOutcome);
    }
    let cell = byOutcome.get(outcome);
    if (cell === undefined) {
      cell = this.#tools.cell(tool, server, outcome);
      byOutcome.set(outcome, cell);
    }
    cell.observe(seconds);
  }

  upstreamRequest(server: string, method: string, outcome: string, seconds: number): void {
    this.#upstream.cell(server, method, outcome).observe(seconds);
  }

  authFailure(code: string): void {
    this.#authFailures.cell(code).value++;
  }

  toolDecision(action: string, outcome: string): void {
    this.#decisions.cell(action, outcome).value++;
  }

  /** A request refused by a rate limit; `scope` names the limit (e.g. 'register', 'mcp-user'). */
  rateLimited(scope: string): void {
    this.#rateLimited.cell(scope).value++;
  }

  tokenIssued(grantType: string): void {
    this.#tokensIssued.cell(grantType).value++;
  }

  authorizationCompleted(): void {
    this.#signIns.value++;
  }

  /**
   * An AuditSink that passes every event on to `inner` and counts what it says: authentication
   * failures, tool decisions, and relayed calls with their durations. Whatever else `inner` offers
   * (its stats(), its close()) is reachable on the returned sink too, answered by `inner` itself.
   */
  auditing<T extends AuditSink>(inner: T): T {
    const tee = {
      emit: (event: AuditEvent) => {
        inner.emit(event);
        this.#count(event);
      },
    } as unknown as T;
    for (let source: object | null = inner; source !== null && source !== Object.prototype; ) {
      for (const key of Object.getOwnPropertyNames(source)) {
        if (key === 'constructor' || key in tee) continue;
        const descriptor = Object.getOwnPropertyDescriptor(source, key) as PropertyDescriptor;
        Object.defineProperty(tee, key, {
          enumerable: descriptor.enumerable ?? false,
          get: () => {
            const value = (inner as Record<string, unknown>)[key];
            return typeof value === 'function' ? value.bind(inner) : value;
          },
        });
      }
      source = Object.getPrototypeOf(source) as object | null;
    }
    return tee;
  }

  #count(event: AuditEvent): void {
    switch (event.type) {
      case 'auth.failure':
        this.authFailure(event.code);
        return;
      case 'tool.decision':
        this.toolDecision(event.action, event.outcome);
        return;
      case 'gateway.forward': {
        const seconds = event.durationMs / 1000;
        this.upstreamRequest(event.server, event.method, event.outcome, seconds);
        if (event.method === 'tools/call') this.toolCall(event.name, event.server, event.outcome, seconds);
        return;
      }
      default:
        return;
    }
  }

  /** Hits, misses and size of the verified-token cache, read at each scrape. */
  observeTokenCache(stats: () => TokenCacheStats): void {
    new Counter({
      name: 'gatehouse_token_cache_lookups_total',
      help: 'Bearer tokens looked up in the verified-token cache, by result (hit, miss); the hit ratio is hit / (hit + miss).',
      labelNames: ['result'],
      registers: [this.registry],
      collect() {
        const current = stats();
        this.reset();
        this.inc({ result: 'hit' }, current.hits);
        this.inc({ result: 'miss' }, current.misses);
      },
    });
    new Gauge({
      name: 'gatehouse_token_cache_entries',
      help: 'Verified tokens held in the cache.',
      registers: [this.registry],
      collect() {
        this.set(stats().entries);
      },
    });
  }

  /** The audit log writer's queue, drops and failures, read at each scrape. */
  observeAudit(stats: () => AuditWriterStats): void {
    const gauge = (name: string, help: string, read: (current: AuditWriterStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read(stats()));
        },
      });
    gauge('gatehouse_audit_queue_depth', 'Audit events waiting to be written.', (s) => s.queued);
    const counter = (name: string, help: string, read: (current: AuditWriterStats) => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read(stats()));
        },
      });
    counter(
      'gatehouse_audit_events_dropped_total',
      'Audit events lost (the buffer was full, or writing failed for good).',
      (s) => s.dropped,
    );
    counter(
      'gatehouse_audit_events_written_total',
      'Audit events written to the audit log.',
      (s) => s.written,
    );
    gauge('gatehouse_audit_write_failing', '1 while the last write of the audit log failed, else 0.', (s) =>
      s.lastError === null || s.lastError === undefined ? 0 : 1,
    );
  }

  /** Each upstream server's health, circuit and last check latency, read at each scrape. */
  observeGateway(gateway: Gateway): void {
    const registers = [this.registry];
    new Gauge({
      name: 'gatehouse_upstream_up',
      help: "1 when the upstream's health checks pass, 0 when it is unhealthy or not checked yet (see gatehouse_upstream_health).",
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const runtime of gateway.runtimes())
          this.set({ server: runtime.server.name }, runtime.health.status === 'healthy' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gatehouse_upstream_health',
      help: 'The health status of each enabled upstream: 1 for its current status (unknown, healthy, unhealthy), 0 for the others.',
      labelNames: ['server', 'status'],
      registers,
      collect() {
        this.reset();
        for (const runtime of gateway.runtimes()) {
          const status = runtime.health.status;
          for (const candidate of ['unknown', 'healthy', 'unhealthy'])
            this.set({ server: runtime.server.name, status: candidate }, candidate === status ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'gatehouse_upstream_circuit_open',
      help: "1 while the upstream's circuit breaker refuses calls (open or half-open), else 0.",
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const runtime of gateway.runtimes())
          this.set({ server: runtime.server.name }, runtime.breaker.state === 'closed' ? 0 : 1);
      },
    });
    new Gauge({
      name: 'gatehouse_upstream_check_latency_seconds',
      help: "Latency of the upstream's last successful health check.",
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const runtime of gateway.runtimes()) {
          const latency = runtime.health.snapshot().latencyMs;
          if (latency !== null) this.set({ server: runtime.server.name }, latency / 1000);
        }
      },
    });
  }
}
