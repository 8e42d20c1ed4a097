import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors/index.js';
import { type Relay, UpstreamRpcError } from '../gateway/upstream/connection.js';
import type { Caller } from '../identity/caller.js';
import type { McpObserver } from '../ops/metrics.js';
import type { McpRateLimits } from '../ops/rate-limit.js';
import type { RequestSpan, Tracing } from '../ops/tracing.js';
import {
  type McpDispatcher,
  type RequestContext,
  type StatelessEnvelope,
  upstreamStatusOf,
} from './dispatcher.js';
import { admitStateless, discoverResult, type Era, META_KEYS, selectEra, selectEraByHeader } from './era.js';
import {
  classifyMessage,
  failure,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
  success,
} from './jsonrpc.js';
import { LOG_LEVELS, negotiateProtocolVersion } from './protocol.js';
import { clientRelay, mcpRequestHandling, progressSender } from './request-handling.js';
import type { McpSession, SessionManager } from './sessions.js';
import { SSE_HEADERS, SseStream } from './sse.js';
import type { ToolAccess } from './tool-access.js';
import { acceptedFormats, type TransportPolicy } from './transport-checks.js';

export interface McpEndpointOptions {
  dispatcher: McpDispatcher;
  access: ToolAccess;
  /** The routes to serve; MCP_PATHS and the path-token route when not given. */
  paths?: readonly string[];
  /** For routes with parameters (/mcp/:server): the dispatcher and policy that serve this request. */
  select?(request: FastifyRequest): { dispatcher: McpDispatcher; access: ToolAccess };
  /** Registers the function to call when the lists the endpoint serves changed (sent to listening streams). */
  subscribeListChanged?(notify: (kind: 'tools' | 'prompts' | 'resources') => void): void;
  /** Registers the function that sends a notification to one session's listening streams. */
  provideSessionNotifier?(notify: (sessionId: string, message: unknown) => boolean): void;
  /** Registers the function that sends a notification to the listening streams of one user's sessions. */
  provideUserNotifier?(notify: (userId: string, message: unknown) => void): void;
  /** Told when a client ends its session (DELETE). */
  onSessionEnded?(sessionId: string): void;
  sessions: SessionManager;
  transport: TransportPolicy;
  sessionMode: 'stateful' | 'stateless';
  responseMode: 'json' | 'sse';
  bodyLimit: number;
  /** Who is calling; throws a GatehouseError when the request may not proceed. */
  resolveCaller(request: FastifyRequest): Caller | Promise<Caller>;
  /** Adds WWW-Authenticate / Retry-After for authentication failures. */
  decorateAuthError(reply: FastifyReply, error: GatehouseError): void;
  /** Rate limits per caller and per tool, counted once the caller is known. */
  limits?: McpRateLimits;
  /** Told of the requests the endpoint answers itself (server/discover); the dispatcher reports the rest. */
  observer?: McpObserver | undefined;
  /** When traces are exported: a span per request (docs/operations.md#traces). */
  tracing?: Tracing | undefined;
}

export const MCP_PATHS = ['/mcp', '/mcp/http'] as const;
/** The MCP endpoint again, under the path some source configurations use; a protected resource of its own. */
export const ECHO_PATH = '/echo';
/** One upstream server of the gateway under its own names. */
export const MCP_SERVER_PATH = '/mcp/:server';
/** The legacy shared-secret path: /mcp/t-{MCP_SERVER_TOKEN}/http. */
export const PATH_TOKEN_ROUTE = '/mcp/t-:token/http';
const KEEPALIVE_MS = 25_000;

/**
 * The Streamable HTTP transport of MCP on Fastify: POST carries JSON-RPC messages and is answered
 * with JSON or an SSE stream; GET opens a listening stream for a session; DELETE ends a session.
 */
export async function mcpEndpoint(app: FastifyInstance, options: McpEndpointOptions): Promise<void> {
  const { sessions, transport } = options;
  const listeners = new Map<string, Set<SseStream>>();
  /** The same listening streams by the user whose session opened them. */
  const userListeners = new Map<string, Set<SseStream>>();
  const inFlight = new Map<string, { abort(reason: unknown): void }>();
  /** Requests sent to clients on their response streams, by the id Gatehouse gave them. */
  const toClients = new Map<
    string,
    { userId: string; resolve(result: Record<string, unknown>): void; reject(error: Error): void }
  >();

  mcpRequestHandling(app, {
    bodyLimit: options.bodyLimit,
    transport,
    decorateAuthError: (reply, error) => options.decorateAuthError(reply, error),
    idOf: statelessIdOf,
    label: 'MCP',
  });
  app.addHook('preClose', async () => {
    // A listening stream never ends on its own: end it and close its connection, which would
    // otherwise linger in keep-alive after the server stopped closing idle connections.
    for (const streams of listeners.values())
      for (const stream of streams) stream.end({ closeConnection: true });
  });

  options.provideSessionNotifier?.((sessionId, message) => {
    const streams = listeners.get(sessionId);
    if (streams === undefined) return false;
    for (const stream of streams) stream.send(message);
    return true;
  });
  options.provideUserNotifier?.((userId, message) => {
    for (const stream of userListeners.get(userId) ?? []) stream.send(message);
  });
  options.subscribeListChanged?.((kind) => {
    const notification = { jsonrpc: '2.0', method: `notifications/${kind}/list_changed` };
    for (const streams of listeners.values()) for (const stream of streams) stream.send(notification);
  });

  for (const url of options.paths ?? [...MCP_PATHS, PATH_TOKEN_ROUTE]) {
    app.post(url, handlePost);
    app.get(url, handleGet);
    app.delete(url, handleDelete);
    app.route({ method: ['PUT', 'PATCH'], url, handler: methodNotAllowed });
  }

  async function handlePost(request: FastifyRequest, reply: FastifyReply) {
    // A cached caller comes back as a plain value: awaiting only a promise saves a microtask per call.
    const resolved = options.resolveCaller(request);
    const caller = resolved instanceof Promise ? await resolved : resolved;
    const admitted = options.limits?.admit(request, reply, caller);
    if (admitted !== undefined) await admitted;
    const accepts = acceptedFormats(request.headers.accept);
    if (!accepts.json && !accepts.sse) {
      throw new GatehouseError(
        'GH_MCP_NOT_ACCEPTABLE',
        'The Accept header must include application/json and text/event-stream.',
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body as string);
    } catch (error) {
      throw new GatehouseError(
        'GH_MCP_PARSE_ERROR',
        `Parse error: the body is not valid JSON (${(error as Error).message}).`,
      );
    }
    const era = selectEra(request.headers['mcp-protocol-version'], body);
    if (!era.sessions) return handleStatelessPost(request, reply, caller, accepts, body, era);
    const { dispatcher, access } = options.select?.(request) ?? options;
    const session = await sessionOf(request, caller);
    const messages = Array.isArray(body) ? body : [body];
    if (messages.length === 0)
      throw new GatehouseError('GH_MCP_INVALID_REQUEST', 'Invalid JSON-RPC request: an empty batch.');

    const requests: JsonRpcRequest[] = [];
    const rejected: JsonRpcResponse[] = [];
    for (const item of messages) {
      const classified = classifyMessage(item);
      if (classified.kind === 'request') requests.push(classified.message);
      else if (classified.kind === 'invalid') rejected.push(failure(classified.id, classified.error));
      else if (classified.kind === 'notification')
        onNotification(classified.message.method, classified.message.params, session);
      else answerFromClient(classified.message, caller);
    }
    if (rejected.length > 0 && requests.length === 0 && !Array.isArray(body)) {
      return reply.code(400).type('application/json').send(JSON.stringify(rejected[0]));
    }
    if (requests.length === 0 && rejected.length === 0) return reply.code(202).send();

    for (const message of requests) access.checkScopes(caller, message.method, message.params, request.id);
    const toolsAdmitted = options.limits?.admitTools(request, reply, caller, requests);
    if (toolsAdmitted !== undefined) await toolsAdmitted;

    const initialize = requests.find((message) => message.method === 'initialize');
    if (initialize !== undefined) {
      if (messages.length > 1) {
        throw new GatehouseError(
          'GH_MCP_INVALID_REQUEST',
          'Invalid JSON-RPC request: initialize must be sent alone, not in a batch.',
        );
      }
      if (options.sessionMode === 'stateful') {
        const params = initialize.params ?? {};
        const clientInfo = params.clientInfo as { name?: unknown } | undefined;
        const capabilities = (params.capabilities ?? {}) as Record<string, unknown>;
        const created = await sessions.create(
          caller.userId,
          negotiateProtocolVersion(params.protocolVersion),
          typeof clientInfo?.name === 'string' ? clientInfo.name.slice(0, 200) : null,
          capabilities.sampling !== undefined || capabilities.elicitation !== undefined,
        );
        reply.header('mcp-session-id', created.id);
      }
    }

    const wantsProgress = requests.some((message) => hasProgressToken(message));
    const useSse = accepts.sse && (options.responseMode === 'sse' || !accepts.json || wantsProgress);
    if (!useSse) {
      // A relayed request may bring the upstream's requests and log messages for the client, which
      // can only travel on a stream: the answer turns into one when the first of them comes, and
      // stays plain JSON otherwise.
      const mayRelay =
        accepts.sse &&
        session !== undefined &&
        (session.answersRequests === true || session.logLevel !== undefined) &&
        requests.some((message) => dispatcher.forwards(message));
      let opened: SseStream | undefined;
      const lazy = mayRelay
        ? (message: unknown) => {
            if (opened === undefined) {
              opened = new SseStream();
              reply.headers(SSE_HEADERS).send(opened.body);
            }
            opened.send(message);
          }
        : undefined;
      const responses = await Promise.all(
        requests.map((message) => run(dispatcher, message, caller, session, lazy, request)),
      );
      const all = rejected.length > 0 ? [...rejected, ...responses] : responses;
      if (opened !== undefined) {
        for (const response of all) opened.send(response);
        opened.end();
        return reply;
      }
      return reply.type('application/json').send(JSON.stringify(Array.isArray(body) ? all : all[0]));
    }

    const stream = new SseStream();
    reply.headers(SSE_HEADERS).send(stream.body);
    for (const response of rejected) stream.send(response);
    Promise.all(
      requests.map((message) =>
        run(dispatcher, message, caller, session, (sent) => stream.send(sent), request).then((response) =>
          stream.send(response),
        ),
      ),
    ).then(
      () => stream.end(),
      (error: unknown) => {
        request.log.error({ err: error }, 'MCP stream failed');
        stream.end();
      },
    );
    return reply;
  }

  /**
   * A POST of the stateless era (2026-07-28): one request, no session (an Mcp-Session-Id sent is
   * ignored), everything the request needs in its own `_meta`. What differs from the handshake
   * era is said by the era object; this only moves bytes.
   */
  async function handleStatelessPost(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    accepts: { json: boolean; sse: boolean },
    body: unknown,
    era: Era,
  ) {
    const read = admitStateless(
      {
        version: headerString(request.headers['mcp-protocol-version']),
        method: headerString(request.headers['mcp-method']),
        name: headerString(request.headers['mcp-name']),
      },
      body,
    );
    if ('rejected' in read) {
      const { id, error } = read.rejected;
      request.log.debug({ code: error.code }, error.message);
      return reply
        .code(error.status)
        .type('application/json')
        .send(JSON.stringify(failure(id, error)));
    }
    const admitted = read.admitted;
    if (admitted.kind === 'notification') return reply.code(202).send();
    const message = admitted.message as JsonRpcRequest;
    if (admitted.traceparent !== undefined)
      request.log = request.log.child({ traceparent: admitted.traceparent });
    const { dispatcher, access } = options.select?.(request) ?? options;
    access.checkScopes(caller, message.method, message.params, request.id);
    if (message.method === 'tools/call') {
      const toolAdmitted = options.limits?.admitTools(request, reply, caller, [message]);
      if (toolAdmitted !== undefined) await toolAdmitted;
    }

    const serverMeta = serverMetaOf(dispatcher);
    if (era.ownMethods.has(message.method)) {
      options.observer?.mcpRequest(message.method, true);
      const result = era.writeResult(
        message.method,
        discoverResult(dispatcher.describe(), (method) => dispatcher.serves(method)),
        serverMeta,
      );
      return reply.type('application/json').send(JSON.stringify(success(message.id, result)));
    }
    if (era.removedMethods.has(message.method) || !dispatcher.serves(message.method)) {
      const served = [
        ...era.ownMethods,
        ...dispatcher.methods().filter((method) => !era.removedMethods.has(method)),
      ];
      const error = new GatehouseError(
        'GH_MCP_METHOD_NOT_FOUND',
        `Method not found: '${message.method}' is not a method of MCP ${era.versions.join(', ')}. Gatehouse serves ${served.join(', ')}.`,
      );
      return reply
        .code(era.methodNotFoundStatus)
        .type('application/json')
        .send(JSON.stringify(failure(message.id, error)));
    }

    const envelope: StatelessEnvelope = {
      meta: (message.params?._meta ?? {}) as Record<string, unknown>,
      paramHeaders: paramHeadersOf(request.headers),
    };
    const written = (response: JsonRpcResponse): JsonRpcResponse =>
      'result' in response
        ? success(response.id, era.writeResult(message.method, response.result, serverMeta))
        : { ...response, error: era.writeError(message.params, response.error) };
    const useSse =
      accepts.sse && (options.responseMode === 'sse' || !accepts.json || hasProgressToken(message));
    if (!useSse) {
      // Log messages from an upstream can only travel on a stream: the answer turns into one when
      // the first comes, and stays plain JSON otherwise.
      let opened: SseStream | undefined;
      const lazy =
        accepts.sse && admitted.logLevel !== undefined && dispatcher.forwards(message)
          ? (sent: unknown) => {
              if (opened === undefined) {
                opened = new SseStream();
                reply.headers(SSE_HEADERS).send(opened.body);
              }
              opened.send(sent);
            }
          : undefined;
      const answered = await run(
        dispatcher,
        message,
        caller,
        undefined,
        lazy,
        request,
        admitted.logLevel,
        envelope,
      );
      const response = written(answered);
      if (opened !== undefined) {
        opened.send(response);
        opened.end();
        return reply;
      }
      // An upstream's error relayed as it came: with the HTTP status it was answered with (400 for -32020).
      return reply
        .code(upstreamStatusOf(answered) ?? 200)
        .type('application/json')
        .send(JSON.stringify(response));
    }
    const stream = new SseStream();
    reply.headers(SSE_HEADERS).send(stream.body);
    const toClient = (sent: unknown) => stream.send(sent);
    run(dispatcher, message, caller, undefined, toClient, request, admitted.logLevel, envelope).then(
      (response) => {
        stream.send(written(response));
        stream.end();
      },
      (error: unknown) => {
        request.log.error({ err: error }, 'MCP stream failed');
        stream.end();
      },
    );
    return reply;
  }

  async function run(
    dispatcher: McpDispatcher,
    message: JsonRpcRequest,
    caller: Caller,
    session: McpSession | undefined,
    /** Sends a message to the client ahead of the response (on the response stream); absent for plain JSON. */
    toClient: ((message: unknown) => void) | undefined,
    request: FastifyRequest,
    /** The level for log messages: the session's, or (stateless) the request's own. */
    logLevel: string | undefined = session?.logLevel,
    stateless?: StatelessEnvelope,
  ) {
    // Most tools never look at the signal: the controller is created only when one does, or when
    // the client cancels the request.
    let controller: AbortController | undefined;
    const lazyController = () => {
      controller ??= new AbortController();
      return controller;
    };
    const cancellation = { abort: (reason: unknown) => lazyController().abort(reason) };
    const key = session === undefined ? undefined : `${session.id}\u0000${String(message.id)}`;
    if (key !== undefined) inFlight.set(key, cancellation);
    const progressToken = (message.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (message.method === 'logging/setLevel') return setLogLevel(message, session);
    const span =
      options.tracing === undefined ? undefined : startSpan(options.tracing, request, message, session);
    const context: RequestContext = {
      caller,
      requestId: request.id,
      trace: span,
      sessionId: session?.id,
      logLevel,
      relay: toClient === undefined ? undefined : relayTo(toClient, caller, session, logLevel),
      stateless,
      get signal() {
        return lazyController().signal;
      },
      signalled: () => controller?.signal.aborted === true,
      sendProgress: toClient === undefined ? undefined : progressSender(toClient, progressToken),
    };
    try {
      const response = await dispatcher.request(message, context);
      span?.end(response);
      return response;
    } finally {
      if (key !== undefined) inFlight.delete(key);
    }
  }

  /** The client's side of relayed exchanges: requests it must answer, notifications it may want. */
  function relayTo(
    send: (message: unknown) => void,
    caller: Caller,
    session: McpSession | undefined,
    wanted: string | undefined,
  ): Relay {
    return clientRelay({
      send,
      logLevel: () => wanted,
      answersRequests: session?.answersRequests === true,
      // Only the user the request was asked of may answer it (answerFromClient).
      pending: {
        set: (id, answer) => toClients.set(id, { ...answer, userId: caller.userId }),
        delete: (id) => toClients.delete(id),
      },
    });
  }

  /** A client's answer to a relayed request; only the user it was asked of may answer it. */
  function answerFromClient(message: JsonRpcResponse, caller: Caller): void {
    const pending = toClients.get(String(message.id));
    if (pending === undefined || pending.userId !== caller.userId) return;
    toClients.delete(String(message.id));
    if ('result' in message) pending.resolve(message.result as Record<string, unknown>);
    else pending.reject(new UpstreamRpcError(message.error.code, message.error.message, message.error.data));
  }

  async function setLogLevel(
    message: JsonRpcRequest,
    session: McpSession | undefined,
  ): Promise<JsonRpcResponse> {
    const level = message.params?.level;
    if (typeof level !== 'string' || !LOG_LEVELS.includes(level)) {
      return failure(
        message.id,
        new GatehouseError(
          'GH_MCP_INVALID_PARAMS',
          `logging/setLevel needs params.level, one of ${LOG_LEVELS.join(', ')}.`,
        ),
      );
    }
    // Without a session there is nothing to remember it in; the request still succeeds (MCP logging).
    if (session !== undefined) await sessions.setLogLevel(session, level);
    return success(message.id, {});
  }

  function onNotification(
    method: string,
    params: Record<string, unknown> | undefined,
    session: McpSession | undefined,
  ) {
    if (method === 'notifications/cancelled' && session !== undefined) {
      const requestId = params?.requestId as JsonRpcId | undefined;
      inFlight
        .get(`${session.id}\u0000${String(requestId)}`)
        ?.abort(params?.reason ?? 'cancelled by the client');
    }
  }

  async function handleGet(request: FastifyRequest, reply: FastifyReply) {
    const caller = await options.resolveCaller(request);
    await options.limits?.admit(request, reply, caller);
    options.select?.(request);
    if (!selectEraByHeader(request.headers['mcp-protocol-version']).streams)
      throw noStreamsInStatelessEra(reply);
    if (!acceptedFormats(request.headers.accept).sse) {
      throw new GatehouseError(
        'GH_MCP_NOT_ACCEPTABLE',
        'A GET on the MCP endpoint opens an event stream: send Accept: text/event-stream.',
      );
    }
    const session = await sessionOf(request, caller);
    if (session === undefined) {
      reply.header('allow', 'POST, DELETE');
      throw new GatehouseError(
        'GH_MCP_METHOD_NOT_ALLOWED',
        'GET opens a listening stream for a session: send the Mcp-Session-Id from initialize. Without a session, use POST.',
      );
    }
    const stream = new SseStream(request.raw.socket);
    const streams = listeners.get(session.id) ?? new Set<SseStream>();
    listeners.set(session.id, streams);
    streams.add(stream);
    const own = userListeners.get(caller.userId) ?? new Set<SseStream>();
    userListeners.set(caller.userId, own);
    own.add(stream);
    const keepalive = setInterval(() => stream.comment('keepalive'), KEEPALIVE_MS).unref();
    request.raw.once('close', () => {
      clearInterval(keepalive);
      streams.delete(stream);
      if (streams.size === 0) listeners.delete(session.id);
      own.delete(stream);
      if (own.size === 0) userListeners.delete(caller.userId);
      stream.end();
    });
    reply.headers(SSE_HEADERS).send(stream.body);
    stream.comment('stream open');
    return reply;
  }

  async function handleDelete(request: FastifyRequest, reply: FastifyReply) {
    const caller = await options.resolveCaller(request);
    await options.limits?.admit(request, reply, caller);
    if (!selectEraByHeader(request.headers['mcp-protocol-version']).streams)
      throw noStreamsInStatelessEra(reply);
    if (options.sessionMode === 'stateless') {
      reply.header('allow', 'POST');
      throw new GatehouseError(
        'GH_MCP_METHOD_NOT_ALLOWED',
        'This server keeps no sessions (MCP_SESSION_MODE=stateless), so there is none to end.',
      );
    }
    if (request.headers['mcp-session-id'] === undefined) {
      throw new GatehouseError(
        'GH_MCP_SESSION_REQUIRED',
        'DELETE ends a session: send the Mcp-Session-Id header of the session to end.',
      );
    }
    const session = await sessionOf(request, caller);
    if (session === undefined) throw sessionNotFound();
    await sessions.end(session.id);
    for (const stream of listeners.get(session.id) ?? []) stream.end();
    listeners.delete(session.id);
    options.onSessionEnded?.(session.id);
    return reply.code(204).send();
  }

  async function sessionOf(request: FastifyRequest, caller: Caller): Promise<McpSession | undefined> {
    const header = request.headers['mcp-session-id'];
    if (header === undefined) return undefined;
    const session = typeof header === 'string' ? await sessions.find(header, caller.userId) : undefined;
    if (session === undefined) throw sessionNotFound();
    return session;
  }
}

/** What every stateless-era result says about the server (`_meta` serverInfo), built once per dispatcher. */
const serverMetas = new WeakMap<McpDispatcher, Readonly<Record<string, unknown>>>();

function serverMetaOf(dispatcher: McpDispatcher): Readonly<Record<string, unknown>> {
  let meta = serverMetas.get(dispatcher);
  if (meta === undefined) {
    meta = Object.freeze({ [META_KEYS.serverInfo]: dispatcher.describe().serverInfo });
    serverMetas.set(dispatcher, meta);
  }
  return meta;
}

/** The server span of one request, from what the HTTP request and the session say. */
function startSpan(
  tracing: Tracing,
  request: FastifyRequest,
  message: JsonRpcRequest,
  session: McpSession | undefined,
): RequestSpan {
  const meta = message.params?._meta as Record<string, unknown> | undefined;
  const metaVersion = meta?.[META_KEYS.protocolVersion];
  return tracing.startRequest({
    method: message.method,
    params: message.params,
    id: message.id,
    sessionId: session?.id,
    protocolVersion:
      typeof metaVersion === 'string'
        ? metaVersion
        : (session?.protocolVersion ?? headerString(request.headers['mcp-protocol-version'])),
    traceparent: headerString(request.headers.traceparent),
    tracestate: headerString(request.headers.tracestate),
    clientAddress: request.ip,
    clientPort: request.socket.remotePort,
    httpVersion: request.raw.httpVersion,
  });
}

function headerString(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The id of the request an error answers, for stateless-era requests (whose errors keep it): the
 * body is read again only on this error path.
 */
function statelessIdOf(request: FastifyRequest): JsonRpcId | null {
  if (selectEraByHeader(request.headers['mcp-protocol-version']).sessions) return null;
  if (typeof request.body !== 'string') return null;
  try {
    const id = (JSON.parse(request.body) as { id?: unknown } | null)?.id;
    return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null;
  } catch {
    return null;
  }
}

function noStreamsInStatelessEra(reply: FastifyReply): GatehouseError {
  reply.header('allow', 'POST');
  return new GatehouseError(
    'GH_MCP_STATELESS_METHOD_NOT_ALLOWED',
    'MCP 2026-07-28 keeps no sessions and no listening streams: send each request with POST (or use a 2025 version with initialize for GET streams).',
  );
}

function sessionNotFound(): GatehouseError {
  return new GatehouseError(
    'GH_MCP_SESSION_NOT_FOUND',
    'Session not found: it expired or was ended. Send initialize to start a new session.',
  );
}

async function methodNotAllowed(_request: FastifyRequest, reply: FastifyReply) {
  reply.header('allow', 'GET, POST, DELETE');
  throw new GatehouseError('GH_MCP_METHOD_NOT_ALLOWED', 'The MCP endpoint accepts POST, GET and DELETE.');
}

function hasProgressToken(message: JsonRpcRequest): boolean {
  const meta = message.params?._meta as { progressToken?: unknown } | undefined;
  return meta?.progressToken !== undefined;
}

/** The Mcp-Param-* headers of a request (2026-07-28: tool arguments mirrored into headers). */
function paramHeadersOf(headers: FastifyRequest['headers']): Record<string, string> {
  let found: Record<string, string> | undefined;
  for (const name in headers) {
    if (!name.startsWith('mcp-param-')) continue;
    const value = headers[name];
    if (typeof value !== 'string') continue;
    found ??= {};
    found[name] = value;
  }
  return found ?? NO_HEADERS;
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;
