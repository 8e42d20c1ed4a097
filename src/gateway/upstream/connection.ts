import {
  Client,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  type StandardSchemaV1,
} from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import { GatehouseError } from '../../errors/index.js';
import type { UpstreamServer } from '../server-config.js';
import { createTransport } from './transports.js';

/** An error the upstream itself answered with: relayed to the caller as is (code, message, data). */
export class UpstreamRpcError extends Error {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message);
    this.name = 'UpstreamRpcError';
  }
}

export interface UpstreamEvents {
  /** The upstream said its list of tools, prompts or resources changed. */
  listChanged(kind: 'tools' | 'prompts' | 'resources'): void;
  /** The connection went away without being closed by Gatehouse. */
  lost(error: Error | undefined): void;
}

export interface ForwardOptions {
  signal?: AbortSignal | undefined;
  onprogress?: ((progress: { progress: number; total?: number; message?: string }) => void) | undefined;
  /** Extra HTTP headers for this one request (remote upstreams only). */
  headers?: Readonly<Record<string, string>> | undefined;
  timeoutMs?: number | undefined;
}

/** Results are relayed, not interpreted: the gateway skips the SDK's result schemas and keeps the upstream's JSON. */
const ANY_RESULT: StandardSchemaV1<Record<string, unknown>> = {
  '~standard': {
    version: 1,
    vendor: 'gatehouse',
    validate: (value) => ({ value: value as Record<string, unknown> }),
  },
};

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;

/**
 * One MCP client connection to one upstream, shared by every caller: connected on first use (or
 * at start), reconnected with backoff when it is lost, closed on shutdown. The SDK client
 * negotiates the protocol era itself (`server/discover`, falling back to `initialize`).
 */
export class UpstreamConnection {
  #client: Client | undefined;
  #connecting: Promise<Client> | undefined;
  /** The client of the connection attempt in progress. */
  #opening: Client | undefined;
  #closed = false;
  #restartDelay = RESTART_MIN_MS;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly server: UpstreamServer,
    private readonly events: UpstreamEvents,
    private readonly logger: Logger,
    private readonly version: string,
  ) {}

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** The negotiated protocol version, once connected. */
  get protocolVersion(): string | undefined {
    return this.#client?.getNegotiatedProtocolVersion();
  }

  get capabilities(): Record<string, unknown> | undefined {
    return this.#client?.getServerCapabilities() as Record<string, unknown> | undefined;
  }

  get serverInfo(): { name: string; version: string } | undefined {
    return this.#client?.getServerVersion();
  }

  /** The connected client; concurrent callers share one connection attempt. */
  connect(): Promise<Client> {
    if (this.#client !== undefined) return Promise.resolve(this.#client);
    if (this.#closed) return Promise.reject(this.unavailable('the gateway is shutting down'));
    this.#connecting ??= this.open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /** Sends one request to the upstream and returns its result, or throws a GatehouseError / UpstreamRpcError. */
  async request(method: string, params: Record<string, unknown> | undefined, options: ForwardOptions = {}) {
    const client = await this.connect();
    const timeoutMs = options.timeoutMs ?? this.server.timeoutMs;
    try {
      return await client.request({ method, ...(params === undefined ? {} : { params }) }, ANY_RESULT, {
        timeout: timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onprogress ? { onprogress: options.onprogress, resetTimeoutOnProgress: true } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
      } as Parameters<Client['request']>[2]);
    } catch (error) {
      throw this.translate(error, method, timeoutMs, options.signal);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    // A connection attempt still running is abandoned, not awaited: its transport is closed under it.
    const clients = [this.#client, this.#opening];
    this.#client = undefined;
    await Promise.all(clients.map((client) => client?.close().catch(() => {})));
  }

  private async open(): Promise<Client> {
    const name = this.server.name;
    const client = new Client(
      { name: 'gatehouse', version: this.version },
      { capabilities: {}, versionNegotiation: { mode: 'auto' } },
    );
    client.setNotificationHandler('notifications/tools/list_changed', () => this.events.listChanged('tools'));
    client.setNotificationHandler('notifications/prompts/list_changed', () =>
      this.events.listChanged('prompts'),
    );
    client.setNotificationHandler('notifications/resources/list_changed', () =>
      this.events.listChanged('resources'),
    );
    client.setNotificationHandler('notifications/message', (notification) => {
      this.logger.info({ upstream: name, data: notification.params.data }, `upstream ${name} logged`);
    });
    const transport = createTransport(this.server.transport, (line) =>
      this.logger.info({ upstream: name, stderr: line }, `upstream ${name}: ${line}`),
    );
    const timeout = this.server.connectTimeoutMs;
    this.#opening = client;
    try {
      await client.connect(transport, { timeout });
    } catch (error) {
      await client.close().catch(() => {});
      throw this.translate(error, 'connect', timeout, undefined);
    } finally {
      this.#opening = undefined;
    }
    if (this.#closed) {
      await client.close().catch(() => {});
      throw this.unavailable('the gateway is shutting down');
    }
    client.onclose = () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      if (this.#closed) return;
      this.logger.warn({ upstream: name }, `upstream ${name}: connection lost`);
      this.events.lost(undefined);
      this.scheduleRestart();
    };
    client.onerror = (error) => {
      this.logger.debug({ upstream: name, err: error }, `upstream ${name}: transport error`);
      // An answer stream broke and could not be resumed: the upstream is gone (or dropped us). Closing
      // the connection fails every request still waiting on it at once, instead of at its timeout.
      if (error.message.startsWith('Maximum reconnection attempts')) void client.close();
    };
    this.#client = client;
    this.#restartDelay = RESTART_MIN_MS;
    this.logger.info(
      { upstream: name, protocolVersion: client.getNegotiatedProtocolVersion() },
      `upstream ${name}: connected (${client.getNegotiatedProtocolVersion()})`,
    );
    return client;
  }

  /** A stdio server that died (or an upstream that dropped us) is reconnected with growing pauses. */
  private scheduleRestart(): void {
    if (this.#closed || this.#restartTimer !== undefined) return;
    const delay = this.#restartDelay;
    this.#restartDelay = Math.min(delay * 2, RESTART_MAX_MS);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.connect().catch((error: unknown) => {
        this.logger.warn(
          { upstream: this.server.name, err: error },
          `upstream ${this.server.name}: reconnect failed; next try in ${this.#restartDelay} ms`,
        );
        this.scheduleRestart();
      });
    }, delay).unref();
  }

  private translate(
    error: unknown,
    method: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Error {
    if (error instanceof GatehouseError) return error;
    if (signal?.aborted) return error instanceof Error ? error : new Error(String(error));
    if (error instanceof ProtocolError) return new UpstreamRpcError(error.code, error.message, error.data);
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
      return new GatehouseError(
        'GH_GATEWAY_UPSTREAM_TIMEOUT',
        `The upstream server '${this.server.name}' did not answer ${method} within ${timeoutMs} ms (its "timeoutMs" setting).`,
        { detail: { server: this.server.name, method } },
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    return this.unavailable(`${method} failed: ${reason}`, error);
  }

  private unavailable(reason: string, cause?: unknown): GatehouseError {
    return new GatehouseError(
      'GH_GATEWAY_UPSTREAM_UNAVAILABLE',
      `The upstream server '${this.server.name}' is unavailable (${reason}). Its health is at /api/servers/${this.server.name}/health.`,
      { detail: { server: this.server.name }, cause },
    );
  }
}
