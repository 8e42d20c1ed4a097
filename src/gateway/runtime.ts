import type { Logger } from 'pino';
import { GatehouseError } from '../errors/index.js';
import { CircuitBreaker, HealthRecord } from './health.js';
import type { UpstreamServer } from './server-config.js';
import { type ForwardOptions, UpstreamConnection, UpstreamRpcError } from './upstream/connection.js';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

const LIST_METHODS: Record<ListKind, { method: string; field: string; capability: string }> = {
  tools: { method: 'tools/list', field: 'tools', capability: 'tools' },
  prompts: { method: 'prompts/list', field: 'prompts', capability: 'prompts' },
  resources: { method: 'resources/list', field: 'resources', capability: 'resources' },
  resourceTemplates: {
    method: 'resources/templates/list',
    field: 'resourceTemplates',
    capability: 'resources',
  },
};

/** Pages a list may have before the gateway stops following cursors (a misbehaving upstream could loop). */
const MAX_PAGES = 50;

interface CachedList {
  items: Record<string, unknown>[];
  fetchedAt: number;
}

/**
 * Everything Gatehouse keeps about one upstream while it serves it: the connection, the circuit
 * breaker, active health checks, and the cached lists of tools, prompts and resources (refreshed
 * on the upstream's list_changed notifications and on expiry).
 */
export class ServerRuntime {
  readonly connection: UpstreamConnection;
  readonly breaker: CircuitBreaker;
  readonly health: HealthRecord;
  readonly #lists = new Map<ListKind, CachedList>();
  readonly #pending = new Map<ListKind, Promise<CachedList>>();
  #generation = 0;
  #healthTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly server: UpstreamServer,
    private readonly options: {
      logger: Logger;
      version: string;
      listTtlMs: number;
      now: () => number;
      /** The upstream's lists changed (its notification, or a refresh that found a difference). */
      onListChanged(kind: ListKind): void;
      /** A subscribed resource changed. */
      onResourceUpdated(params: Record<string, unknown>): void;
    },
  ) {
    this.breaker = new CircuitBreaker(server.circuitBreaker, options.now);
    this.health = new HealthRecord({ unhealthyAfter: server.health.unhealthyAfter }, options.now);
    this.connection = new UpstreamConnection(
      server,
      {
        listChanged: (kind) => {
          this.invalidate(kind);
          if (kind === 'resources') this.invalidate('resourceTemplates');
        },
        lost: () => {
          this.health.record({ ok: false, latencyMs: 0, error: 'connection lost' });
          this.invalidate();
        },
        resourceUpdated: (params) => options.onResourceUpdated(params),
      },
      options.logger,
      options.version,
    );
  }

  /** Starts health checks, and the upstream itself when it is configured to start with Gatehouse. */
  start(): void {
    if (this.server.startup === 'eager') this.connection.connect().catch(() => {});
    const { intervalMs } = this.server.health;
    // The first check soon after start (jittered so many servers do not all check at once), then every interval.
    const first = Math.min(intervalMs, 250 + Math.floor(Math.random() * 500));
    this.#healthTimer = setTimeout(() => {
      void this.check();
      this.#healthTimer = setInterval(() => void this.check(), intervalMs).unref();
    }, first).unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.#healthTimer);
    clearInterval(this.#healthTimer);
    await this.connection.close();
  }

  /** One active health check: a `ping`. A lazy stdio server that has not been started is not started by it. */
  async check(): Promise<void> {
    if (
      this.server.transport.kind === 'stdio' &&
      this.server.startup === 'lazy' &&
      !this.connection.connected
    ) {
      return;
    }
    const started = this.options.now();
    try {
      await this.connection.request('ping', undefined, { timeoutMs: this.server.health.timeoutMs });
      this.health.record({ ok: true, latencyMs: this.options.now() - started });
    } catch (error) {
      // A server that answers ping with an error is alive (ping may simply not be implemented).
      if (error instanceof UpstreamRpcError) {
        this.health.record({ ok: true, latencyMs: this.options.now() - started });
        return;
      }
      this.health.record({
        ok: false,
        latencyMs: this.options.now() - started,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /**
   * Sends a request through the circuit breaker: refused at once while it is open; transport
   * failures and timeouts count against the upstream, answers (errors included) for it.
   */
  async forward(method: string, params: Record<string, unknown> | undefined, options: ForwardOptions = {}) {
    const admission = this.breaker.admit();
    if (!admission.allowed) {
      throw new GatehouseError(
        'GH_GATEWAY_CIRCUIT_OPEN',
        `The upstream server '${this.server.name}' failed repeatedly, so Gatehouse is not calling it until ` +
          `${new Date(admission.retryAt).toISOString()} (circuit breaker). Its health is at /api/servers/${this.server.name}/health.`,
        { detail: { server: this.server.name, retryAt: admission.retryAt } },
      );
    }
    try {
      const result = await this.connection.request(method, params, options);
      this.breaker.success();
      return result;
    } catch (error) {
      if (error instanceof UpstreamRpcError) this.breaker.success();
      else if (
        error instanceof GatehouseError &&
        (error.code === 'GH_GATEWAY_UPSTREAM_UNAVAILABLE' || error.code === 'GH_GATEWAY_UPSTREAM_TIMEOUT')
      )
        this.breaker.failure();
      else if (admission.probe) this.breaker.success();
      throw error;
    }
  }

  /** Whether the list may be asked for: the upstream declared the capability (unknown before connecting). */
  supports(kind: ListKind): boolean {
    const capabilities = this.connection.capabilities;
    return capabilities === undefined || capabilities[LIST_METHODS[kind].capability] !== undefined;
  }

  /** The cached list when it is fresh; otherwise undefined (call `list` to fetch). */
  cached(kind: ListKind): Record<string, unknown>[] | undefined {
    const cached = this.#lists.get(kind);
    return cached !== undefined && this.options.now() - cached.fetchedAt < this.options.listTtlMs
      ? cached.items
      : undefined;
  }

  /** Any list ever fetched, fresh or not. */
  lastKnown(kind: ListKind): Record<string, unknown>[] | undefined {
    return this.#lists.get(kind)?.items;
  }

  /** Fetches the list (all pages), sharing one fetch among concurrent callers. */
  list(kind: ListKind): Promise<Record<string, unknown>[]> {
    const fresh = this.cached(kind);
    if (fresh !== undefined) return Promise.resolve(fresh);
    let pending = this.#pending.get(kind);
    if (pending === undefined) {
      const generation = this.#generation;
      pending = this.fetchList(kind).then(
        (list) => {
          if (generation === this.#generation) this.#lists.set(kind, list);
          this.#pending.delete(kind);
          return list;
        },
        (error: unknown) => {
          this.#pending.delete(kind);
          throw error;
        },
      );
      this.#pending.set(kind, pending);
    }
    return pending.then((list) => list.items);
  }

  invalidate(kind?: ListKind): void {
    this.#generation++;
    if (kind === undefined) this.#lists.clear();
    else this.#lists.delete(kind);
    for (const each of kind === undefined ? (Object.keys(LIST_METHODS) as ListKind[]) : [kind])
      this.options.onListChanged(each);
  }

  private async fetchList(kind: ListKind): Promise<CachedList> {
    await this.connection.connect();
    const { method, field } = LIST_METHODS[kind];
    if (!this.supports(kind)) return { items: [], fetchedAt: this.options.now() };
    const items: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.forward(method, cursor === undefined ? undefined : { cursor });
      const found = result[field];
      if (Array.isArray(found)) items.push(...(found as Record<string, unknown>[]));
      cursor =
        typeof result.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    return { items, fetchedAt: this.options.now() };
  }
}
