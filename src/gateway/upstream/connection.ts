import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Client,
  type McpSubscription,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  type StandardSchemaV1,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import { GatehouseError } from '../../errors/index.js';
import type { StatelessEnvelope } from '../../mcp/dispatcher.js';
import { LOG_LEVELS } from '../../mcp/protocol.js';
import type { UpstreamServer } from '../server-config.js';
import { type DirectAnswer, DirectFailure, postDirect } from './direct-http.js';
import { createTransport } from './transports.js';

/** An error the upstream itself answered with: relayed to the caller as is (code, message, data). */
export class UpstreamRpcError extends Error {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data: unknown,
    /** The HTTP status the upstream answered it with, when not 2xx (a 2026-07-28 upstream's 400 for -32020). */
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'UpstreamRpcError';
  }
}

/**
 * The caller's end of a relayed request: what the upstream asks of the client while it works
 * (sampling, elicitation) and what it tells it (log messages) go back to the caller who made the
 * request, on that request's stream.
 */
export interface Relay {
  request(method: string, params: Record<string, unknown> | undefined): Promise<Record<string, unknown>>;
  notify(method: string, params: Record<string, unknown> | undefined): void;
}

/**
 * Which caller a message from the upstream belongs to. The connection is shared by every caller;
 * the request's async context is not: messages that arrive on a request's own answer stream (and
 * the 2026-07-28 input-required rounds) are handled within it.
 */
const currentRelay = new AsyncLocalStorage<Relay>();

/** What the gateway answers to the upstream on behalf of a client. */
const RELAYED_REQUESTS = ['sampling/createMessage', 'elicitation/create'] as const;

export interface UpstreamEvents {
  /** The upstream said its list of tools, prompts or resources changed. */
  listChanged(kind: 'tools' | 'prompts' | 'resources'): void;
  /** The connection went away without being closed by Gatehouse. */
  lost(error: Error | undefined): void;
  /** The upstream says a subscribed resource changed. */
  resourceUpdated(params: Record<string, unknown>): void;
}

export interface ForwardOptions {
  signal?: AbortSignal | undefined;
  onprogress?: ((progress: { progress: number; total?: number; message?: string }) => void) | undefined;
  /** Extra HTTP headers for this one request (remote upstreams only). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Where the upstream's requests and notifications for the caller go while this request runs. */
  relay?: Relay | undefined;
  timeoutMs?: number | undefined;
  /**
   * The caller's own 2026-07-28 envelope: a 2026-07-28 upstream receives the request as the caller
   * made it (its protocol `_meta`, client capabilities and Mcp-Param-* headers), and the caller
   * receives the upstream's result as it is, input_required rounds included.
   */
  stateless?: StatelessEnvelope | undefined;
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
  /** The level set on a handshake-era upstream's connection with logging/setLevel. */
  #logLevel: string | undefined;
  /** Resources some caller subscribed to (kept across reconnections). */
  readonly #resourceUris = new Set<string>();
  /** A 2026-07-28 upstream's subscriptions/listen stream: list changes and subscribed resources. */
  #listen: McpSubscription | undefined;
  /** The hot path's target, for a Streamable HTTP upstream once connected. */
  #direct: { url: URL; transport: StreamableHTTPClientTransport } | undefined;
  #nextId = 0;
  #directHeaders: { sessionId: string | undefined; headers: Record<string, string> } | undefined;
  readonly #storedHeaders: Readonly<Record<string, string>>;

  constructor(
    readonly server: UpstreamServer,
    private readonly events: UpstreamEvents,
    private readonly logger: Logger,
    private readonly version: string,
  ) {
    this.#storedHeaders = server.transport.kind === 'stdio' ? {} : server.transport.headers;
  }

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
  async request(
    method: string,
    params: Record<string, unknown> | undefined,
    options: ForwardOptions = {},
  ): Promise<Record<string, unknown>> {
    const client = this.#client ?? (await this.connect());
    const timeoutMs = options.timeoutMs ?? this.server.timeoutMs;
    const direct = this.#direct;
    if (direct !== undefined && options.relay === undefined && options.onprogress === undefined) {
      const era = client.getProtocolEra();
      if (era === 'legacy' || (era === 'modern' && options.stateless !== undefined))
        return this.requestDirect(client, direct, method, params, options, timeoutMs);
    }
    const send = () =>
      client.request({ method, ...(params === undefined ? {} : { params }) }, ANY_RESULT, {
        timeout: timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onprogress ? { onprogress: options.onprogress, resetTimeoutOnProgress: true } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
      } as Parameters<Client['request']>[2]);
    try {
      return await (options.relay === undefined ? send() : currentRelay.run(options.relay, send));
    } catch (error) {
      throw this.translate(error, method, timeoutMs, options.signal);
    }
  }

  /**
   * One request on the hot path (direct-http.ts): what a handshake-era Streamable HTTP upstream is
   * asked when nothing has to come back to the caller but the answer.
   */
  private async requestDirect(
    client: Client,
    direct: { url: URL; transport: StreamableHTTPClientTransport },
    method: string,
    params: Record<string, unknown> | undefined,
    options: ForwardOptions,
    timeoutMs: number,
    retried = false,
  ): Promise<Record<string, unknown>> {
    const id = `gatehouse-${++this.#nextId}`;
    const sessionId = direct.transport.sessionId;
    // The headers every request of this connection carries, made once per session.
    let base = this.#directHeaders;
    if (base === undefined || base.sessionId !== sessionId) {
      base = {
        sessionId,
        headers: {
          ...this.#storedHeaders,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': client.getNegotiatedProtocolVersion() ?? '2025-03-26',
          ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
        },
      };
      this.#directHeaders = base;
    }
    let headers = options.headers === undefined ? base.headers : { ...base.headers, ...options.headers };
    let sent = params;
    const stateless = options.stateless;
    const asMade = stateless !== undefined && client.getProtocolEra() === 'modern';
    if (asMade) {
      // The caller's request as it made it: its protocol envelope and Mcp-* headers.
      const name = nameHeaderOf(method, params);
      headers = {
        ...headers,
        'mcp-method': method,
        ...(name === undefined ? {} : { 'mcp-name': name }),
        ...stateless.paramHeaders,
      };
      sent = {
        ...params,
        _meta: { ...(params?._meta as Record<string, unknown> | undefined), ...protocolMeta(stateless.meta) },
      };
    }
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id,
      method,
      ...(sent === undefined ? {} : { params: sent }),
    });
    let answer: DirectAnswer;
    try {
      answer = await postDirect({
        url: direct.url,
        headers,
        body,
        id,
        timeoutMs,
        signal: options.signal,
        onServerRequest: (request) => this.refuseServerRequest(direct.url, headers, request),
        errorStatusAnswers: asMade,
      });
    } catch (error) {
      if (!(error instanceof DirectFailure)) throw error;
      if (error.reason === 'timeout' || error.reason === 'aborted') {
        this.refuseServerRequest(direct.url, headers, undefined, {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: {
            requestId: id,
            reason: error.reason === 'timeout' ? 'timed out' : 'cancelled by the caller',
          },
        });
      }
      if (error.reason === 'timeout') {
        throw new GatehouseError(
          'GH_GATEWAY_UPSTREAM_TIMEOUT',
          `The upstream server '${this.server.name}' did not answer ${method} within ${timeoutMs} ms (its "timeoutMs" setting).`,
          { detail: { server: this.server.name, method } },
        );
      }
      if (error.reason === 'aborted') throw error;
      throw this.unavailable(`${method} failed: ${error.message}`, error);
    }
    if (answer.kind === 'status') {
      // 404 to a request with a session: the upstream forgot the session (it restarted). Some servers
      // answer 400 instead (server-everything does): either way, reconnect and retry once.
      if ((answer.status === 404 || answer.status === 400) && sessionId !== undefined && !retried) {
        await client.close().catch(() => {});
        const again = await this.connect();
        const next = this.#direct;
        if (next !== undefined && again.getProtocolEra() === 'legacy')
          return this.requestDirect(again, next, method, params, options, timeoutMs, true);
        return this.request(method, params, options);
      }
      throw this.unavailable(`${method} was answered with HTTP ${answer.status}`);
    }
    const { message } = answer;
    if (message.error !== undefined) {
      throw new UpstreamRpcError(
        message.error.code,
        message.error.message,
        message.error.data,
        answer.status,
      );
    }
    return (message.result ?? {}) as Record<string, unknown>;
  }

  /**
   * Answers a request the upstream made on the hot path (none of the caller's business can be
   * relayed there), or sends a notification: a fire-and-forget POST.
   */
  private refuseServerRequest(
    url: URL,
    headers: Record<string, string>,
    request: { id: unknown; method: unknown } | undefined,
    notification?: Record<string, unknown>,
  ): void {
    const message = notification ?? {
      jsonrpc: '2.0',
      id: request?.id,
      error: {
        code: -32601,
        message: `${String(request?.method)} cannot be answered: the caller's client is not reachable`,
      },
    };
    postDirect({
      url,
      headers,
      body: JSON.stringify(message),
      id: '',
      timeoutMs: 5_000,
      signal: undefined,
    }).catch(() => {});
  }

  /**
   * A handshake-era upstream logs at the level set on its connection, which every caller shares:
   * it is lowered to the most verbose level any caller asked for (the relay then filters per caller).
   */
  async ensureLogLevel(level: string): Promise<void> {
    const client = await this.connect();
    if (client.getProtocolEra() === 'modern' || this.capabilities?.logging === undefined) return;
    const current = this.#logLevel;
    if (current !== undefined && LOG_LEVELS.indexOf(current) <= LOG_LEVELS.indexOf(level)) return;
    this.#logLevel = level;
    await this.request('logging/setLevel', { level }).catch(() => {
      this.#logLevel = current;
    });
  }

  /** Subscribes the connection to a resource: resources/subscribe, or a 2026-07-28 listen stream naming it. */
  async subscribeResource(uri: string): Promise<void> {
    const client = await this.connect();
    this.#resourceUris.add(uri);
    if (client.getProtocolEra() === 'modern') await this.listen(client);
    else await this.request('resources/subscribe', { uri });
  }

  async unsubscribeResource(uri: string): Promise<void> {
    const client = await this.connect();
    this.#resourceUris.delete(uri);
    if (client.getProtocolEra() === 'modern') await this.listen(client);
    else await this.request('resources/unsubscribe', { uri });
  }

  /**
   * A 2026-07-28 upstream sends change notifications only on a subscriptions/listen stream: one per
   * connection, reopened with the new filter when the subscribed resources change.
   */
  private async listen(client: Client): Promise<void> {
    const previous = this.#listen;
    this.#listen = await client.listen({
      toolsListChanged: true,
      promptsListChanged: true,
      resourcesListChanged: true,
      ...(this.#resourceUris.size > 0 ? { resourceSubscriptions: [...this.#resourceUris] } : {}),
    });
    await previous?.close().catch(() => {});
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
      {
        // Sampling and elicitation are answered by the caller whose request the upstream is serving.
        capabilities: { sampling: {}, elicitation: { form: {}, url: {} } },
        versionNegotiation: { mode: 'auto' },
      },
    );
    for (const relayed of RELAYED_REQUESTS) {
      client.setRequestHandler(relayed, async (request) => {
        const relay = currentRelay.getStore();
        if (relay === undefined) {
          throw new ProtocolError(
            -32601,
            `${relayed} reached Gatehouse outside of a caller's request (or from a stdio server), so there is no client to ask.`,
          );
        }
        return (await relay.request(relayed, request.params as Record<string, unknown>)) as never;
      });
    }
    client.setNotificationHandler('notifications/tools/list_changed', () => this.events.listChanged('tools'));
    client.setNotificationHandler('notifications/prompts/list_changed', () =>
      this.events.listChanged('prompts'),
    );
    client.setNotificationHandler('notifications/resources/list_changed', () =>
      this.events.listChanged('resources'),
    );
    client.setNotificationHandler('notifications/resources/updated', (notification) =>
      this.events.resourceUpdated(notification.params as Record<string, unknown>),
    );
    client.setNotificationHandler('notifications/message', (notification) => {
      const relay = currentRelay.getStore();
      if (relay !== undefined)
        relay.notify('notifications/message', notification.params as Record<string, unknown>);
      else this.logger.debug({ upstream: name, data: notification.params.data }, `upstream ${name} logged`);
    });
    const transport = createTransport(this.server.transport, (line) =>
      this.logger.info({ upstream: name, stderr: line }, `upstream ${name}: ${line}`),
    );
    const spec = this.server.transport;
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
      this.#direct = undefined;
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
    this.#logLevel = undefined;
    this.#direct =
      transport instanceof StreamableHTTPClientTransport && spec.kind === 'streamable-http'
        ? { url: new URL(spec.url), transport }
        : undefined;
    // Subscriptions callers made survive a reconnection (a restarted stdio server forgot them).
    if (client.getProtocolEra() !== 'modern') {
      for (const uri of this.#resourceUris) this.request('resources/subscribe', { uri }).catch(() => {});
    } else {
      this.listen(client).catch((error: unknown) =>
        this.logger.info(
          { upstream: name, err: error },
          `upstream ${name}: no subscriptions/listen stream; lists refresh on expiry`,
        ),
      );
    }
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
    return this.unavailable(`${method} failed: ${reasonOf(error)}`, error);
  }

  private unavailable(reason: string, cause?: unknown): GatehouseError {
    return new GatehouseError(
      'GH_GATEWAY_UPSTREAM_UNAVAILABLE',
      `The upstream server '${this.server.name}' is unavailable (${reason}). Its health is at /api/servers/${this.server.name}/health.`,
      { detail: { server: this.server.name }, cause },
    );
  }
}

/**
 * An error's message with the innermost cause's, which says what went wrong where the outer one
 * is generic ("fetch failed" hides "self-signed certificate in certificate chain", ECONNREFUSED …).
 */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  let inner: unknown = error;
  for (let depth = 0; depth < 5 && inner instanceof Error && inner.cause !== undefined; depth++)
    inner = inner.cause;
  const innermost = inner instanceof Error ? inner.message : undefined;
  return innermost === undefined || innermost === '' || message.includes(innermost)
    ? message
    : `${message}: ${innermost}`;
}

/** The `_meta` keys of the protocol itself (io.modelcontextprotocol/…): version, client capabilities, log level. */
function protocolMeta(meta: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key in meta) if (key.startsWith('io.modelcontextprotocol/')) kept[key] = meta[key];
  return kept;
}

/** The Mcp-Name header of a 2026-07-28 request: the tool or prompt name, or the resource URI. */
function nameHeaderOf(method: string, params: Record<string, unknown> | undefined): string | undefined {
  const value =
    method === 'tools/call' || method === 'prompts/get'
      ? params?.name
      : method === 'resources/read'
        ? params?.uri
        : undefined;
  if (typeof value !== 'string') return undefined;
  // Values HTTP cannot carry as they are go in the =?base64?…?= form.
  return /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value)
    ? value
    : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
