import type { Logger } from 'pino';
import type { Caller } from '../identity/caller.js';
import type { AuditSink } from '../ops/audit.js';
import type { ServerRegistry } from './registry.js';
import { type ListKind, ServerRuntime } from './runtime.js';
import type { UpstreamServer } from './server-config.js';
import { Subscriptions } from './subscriptions.js';

export interface GatewayOptions {
  logger: Logger;
  audit: AuditSink;
  version: string;
  /** How long a fetched list of tools, prompts or resources is served before it is fetched again. */
  listTtlMs: number;
  now?: () => number;
}

/**
 * Keeps one ServerRuntime per configured upstream in step with the registry: a new or changed
 * definition gets a fresh runtime (and connection), a removed one is closed.
 */
export class Gateway {
  readonly #runtimes = new Map<string, ServerRuntime>();
  readonly subscriptions = new Subscriptions();
  readonly #listChanged = new Set<(kind: ListKind, server: string) => void>();
  #closed = false;

  constructor(
    readonly registry: ServerRegistry,
    private readonly options: GatewayOptions,
  ) {}

  start(): void {
    this.apply(this.registry.servers());
    this.registry.onChange((servers) => this.apply(servers));
  }

  /** Enabled servers' runtimes, by name. */
  runtimes(): ServerRuntime[] {
    return [...this.#runtimes.values()].filter((runtime) => runtime.server.enabled);
  }

  runtime(name: string): ServerRuntime | undefined {
    const runtime = this.#runtimes.get(name);
    return runtime?.server.enabled ? runtime : undefined;
  }

  /** Any runtime, disabled ones included (for health and the API). */
  anyRuntime(name: string): ServerRuntime | undefined {
    return this.#runtimes.get(name);
  }

  /** Records a registry change made by a caller (the API and the registry tools). */
  audit(change: {
    action: 'create' | 'update' | 'delete';
    server: string;
    caller: Caller;
    requestId: string;
  }): void {
    this.options.audit.emit({
      type: 'gateway.registry',
      at: new Date().toISOString(),
      requestId: change.requestId,
      userId: change.caller.userId,
      action: change.action,
      server: change.server,
    });
  }

  onListChanged(listener: (kind: ListKind, server: string) => void): void {
    this.#listChanged.add(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const runtimes = [...this.#runtimes.values()];
    this.#runtimes.clear();
    await Promise.allSettled(runtimes.map((runtime) => runtime.close()));
  }

  private apply(servers: readonly UpstreamServer[]): void {
    if (this.#closed) return;
    const wanted = new Map(servers.map((server) => [server.name, server]));
    for (const [name, runtime] of this.#runtimes) {
      if (wanted.get(name) !== runtime.server) {
        this.#runtimes.delete(name);
        this.subscriptions.serverReset(name);
        void runtime.close();
        this.notify(name);
      }
    }
    for (const server of servers) {
      if (this.#runtimes.has(server.name)) continue;
      const runtime = new ServerRuntime(server, {
        logger: this.options.logger,
        version: this.options.version,
        listTtlMs: this.options.listTtlMs,
        now: this.options.now ?? Date.now,
        onListChanged: (kind) => {
          for (const listener of this.#listChanged) listener(kind, server.name);
        },
        onResourceUpdated: (params) => this.subscriptions.updated(server.name, params),
      });
      this.#runtimes.set(server.name, runtime);
      if (server.enabled) runtime.start();
      this.notify(server.name);
    }
    // Sorted by name, so lists built from the runtimes come out in a stable order.
    const sorted = [...this.#runtimes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#runtimes.clear();
    for (const [name, runtime] of sorted) this.#runtimes.set(name, runtime);
  }

  private notify(server: string): void {
    for (const kind of ['tools', 'prompts', 'resources'] as const)
      for (const listener of this.#listChanged) listener(kind, server);
  }
}
