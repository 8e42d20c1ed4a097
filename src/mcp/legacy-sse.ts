import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors/index.js';
import { type Relay, UpstreamRpcError } from '../gateway/upstream/connection.js';
import type { Caller } from '../identity/caller.js';
import type { McpRateLimits } from '../ops/rate-limit.js';
import type { EphemeralStore } from '../storage/contract.js';
import type { McpDispatcher, RequestContext } from './dispatcher.js';
import { classifyMessage, failure, type JsonRpcRequest, type JsonRpcResponse, success } from './jsonrpc.js';
import { LOG_LEVELS } from './protocol.js';
import { clientRelay, mcpRequestHandling, type PendingAnswer, progressSender } from './request-handling.js';
import { SSE_HEADERS, SseStream } from './sse.js';
import type { ToolAccess } from './tool-access.js';
import { acceptedFormats, type TransportPolicy } from './transport-checks.js';

export interface LegacySseOptions {
  dispatcher: McpDispatcher;
  access: ToolAccess;
  transport: TransportPolicy;
  /** Where each instance notes which user's stream a session id is, so a POST that reached the wrong instance can say so. */
  store: EphemeralStore;
  /** How long that note lives without a keep-alive renewing it. */
  noteTtlMs: number;
  bodyLimit: number;
  /** Open streams one user may hold on this instance (MCP_SSE_MAX_STREAMS_PER_USER). */
  maxStreamsPerUser: number;
  /** Who is calling, for the protected resource the route belongs to (its path: /sse or /mcp). */
  resolveCaller(request: FastifyRequest, resourcePath: string): Caller | Promise<Caller>;
  /** Adds WWW-Authenticate / Retry-After for authentication failures, naming that resource's metadata. */
  decorateAuthError(reply: FastifyReply, error: GatehouseError, resourcePath: string): void;
  /** Registers the function to call when the lists served changed (sent to every stream). */
  subscribeListChanged?(notify: (kind: 'tools' | 'prompts' | 'resources') => void): void;
  /** Registers the function that sends a notification to one session's stream. */
  provideSessionNotifier?(notify: (sessionId: string, message: unknown) => boolean): void;
  /** Told when a session's stream closed. */
  onSessionEnded?(sessionId: string): void;
  /** Keep-alive interval; a comment line keeps proxies from closing an idle stream. */
  keepaliveMs?: number;
  /** Rate limits per caller and per tool, counted once the caller is known. */
  limits?: McpRateLimits;
}

/**
 * GET opens the stream, whose `endpoint` event names the POST path for that stream's messages.
 * `resource` is the protected resource (RFC 9728) the routes belong to: clients check that the
 * URL they were given lies under it, so /sse is a resource of its own and /mcp/sse lies under /mcp.
 */
export const LEGACY_SSE_ROUTES = [
  { stream: '/sse', messages: '/messages', resource: '/sse' },
  { stream: '/mcp/sse', messages: '/mcp/messages', resource: '/mcp' },
] as const;

const KEEPALIVE_MS = 25_000;
const NOTE_PREFIX = 'mcp-sse:';
const SESSION_ID = /^[0-9a-f-]{36}$/;

/** One open stream of the legacy transport; it lives exactly as long as its HTTP response. */
interface LegacySession {
  readonly id: string;
  readonly userId: string;
  readonly stream: SseStream;
  /** Whether the client declared at initialize that it answers sampling or elicitation requests. */
  answersRequests: boolean;
  logLevel: string | undefined;
  readonly inFlight: Map<string, AbortController>;
  readonly toClient: Map<string, PendingAnswer>;
}

/**
 * The HTTP+SSE transport of MCP 2024-11-05, kept for clients that speak nothing newer: GET opens a
 * stream bound to the user who opened it, POST carries that stream's JSON-RPC messages (202), and
 * every answer, progress notification and relayed message travels on the stream. Requests go
 * through the same dispatcher and policy as /mcp. A stream lives on the instance that opened it.
 */
export async function legacySseTransport(app: FastifyInstance, options: LegacySseOptions): Promise<void> {
  const { transport, store } = options;
  const keepaliveMs = options.keepaliveMs ?? KEEPALIVE_MS;
  const sessions = new Map<string, LegacySession>();
  const streamsPerUser = new Map<string, number>();

  mcpRequestHandling(app, {
    bodyLimit: options.bodyLimit,
    transport,
    decorateAuthError: (reply, error, request) =>
      options.decorateAuthError(reply, error, resourcePathOf(request)),
    label: 'legacy SSE',
  });
  app.addHook('preClose', async () => {
    // A stream never ends on its own: end it and close its connection, which would otherwise
    // linger in keep-alive after the server stopped closing idle connections.
    for (const session of sessions.values()) session.stream.end({ closeConnection: true });
  });

  options.provideSessionNotifier?.((sessionId, message) => {
    const session = sessions.get(sessionId);
    if (session === undefined) return false;
    session.stream.send(message);
    return true;
  });
  options.subscribeListChanged?.((kind) => {
    const notification = { jsonrpc: '2.0', method: `notifications/${kind}/list_changed` };
    for (const session of sessions.values()) session.stream.send(notification);
  });

  const resourcePaths = new Map<string, string>();
  const resourcePathOf = (request: FastifyRequest) =>
    resourcePaths.get(request.routeOptions.url ?? '') ?? '/mcp';
  for (const route of LEGACY_SSE_ROUTES) {
    resourcePaths.set(route.stream, route.resource);
    resourcePaths.set(route.messages, route.resource);
    app.get(route.stream, (request, reply) => openStream(request, reply, route));
    app.post(route.stream, async (_request, reply) => {
      reply.header('allow', 'GET');
      throw new GatehouseError(
        'GH_MCP_METHOD_NOT_ALLOWED',
        `${route.stream} is the legacy HTTP+SSE transport: GET opens the stream, messages go to the endpoint it announces. Streamable HTTP clients use /mcp.`,
      );
    });
    app.post(route.messages, (request, reply) => handleMessages(request, reply, route.resource));
    app.get(route.messages, async (_request, reply) => {
      reply.header('allow', 'POST');
      throw new GatehouseError(
        'GH_MCP_METHOD_NOT_ALLOWED',
        `${route.messages} takes POSTed JSON-RPC messages; the stream is opened with GET ${route.stream}.`,
      );
    });
  }

  async function openStream(
    request: FastifyRequest,
    reply: FastifyReply,
    route: (typeof LEGACY_SSE_ROUTES)[number],
  ) {
    const caller = await options.resolveCaller(request, route.resource);
    await options.limits?.admit(request, reply, caller);
    if (!acceptedFormats(request.headers.accept).sse) {
      throw new GatehouseError(
        'GH_MCP_NOT_ACCEPTABLE',
        'GET on the legacy SSE endpoint opens an event stream: send Accept: text/event-stream.',
      );
    }
    const open = streamsPerUser.get(caller.userId) ?? 0;
    if (open >= options.maxStreamsPerUser) {
      throw new GatehouseError(
        'GH_MCP_SSE_STREAM_LIMIT',
        `You already have ${open} legacy SSE streams open on this server (MCP_SSE_MAX_STREAMS_PER_USER=${options.maxStreamsPerUser}): close one, or use Streamable HTTP at /mcp.`,
      );
    }
    const session: LegacySession = {
      id: randomUUID(),
      userId: caller.userId,
      stream: new SseStream(request.raw.socket),
      answersRequests: false,
      logLevel: undefined,
      inFlight: new Map(),
      toClient: new Map(),
    };
    sessions.set(session.id, session);
    streamsPerUser.set(caller.userId, open + 1);
    const noteKey = NOTE_PREFIX + session.id;
    const noteFailed = (error: unknown) =>
      request.log.warn({ err: error }, 'the legacy SSE session note could not be written');
    store.set(noteKey, caller.userId, options.noteTtlMs).catch(noteFailed);
    const keepalive = setInterval(() => {
      session.stream.comment('keepalive');
      store.touch(noteKey, options.noteTtlMs).catch(noteFailed);
    }, keepaliveMs).unref();
    reply.raw.once('close', () => {
      clearInterval(keepalive);
      session.stream.end();
      sessions.delete(session.id);
      const left = (streamsPerUser.get(session.userId) ?? 1) - 1;
      if (left > 0) streamsPerUser.set(session.userId, left);
      else streamsPerUser.delete(session.userId);
      for (const controller of session.inFlight.values()) controller.abort('the SSE stream closed');
      for (const pending of session.toClient.values()) pending.reject(new Error('the SSE stream closed'));
      store.delete(noteKey).catch(noteFailed);
      options.onSessionEnded?.(session.id);
    });
    reply.headers(SSE_HEADERS).send(session.stream.body);
    session.stream.event('endpoint', `${route.messages}?sessionId=${session.id}`);
    return reply;
  }

  async function handleMessages(request: FastifyRequest, reply: FastifyReply, resourcePath: string) {
    const caller = await options.resolveCaller(request, resourcePath);
    await options.limits?.admit(request, reply, caller);
    const session = await sessionOf(request, caller);
    let body: unknown;
    try {
      body = JSON.parse(request.body as string);
    } catch (error) {
      throw new GatehouseError(
        'GH_MCP_PARSE_ERROR',
        `Parse error: the body is not valid JSON (${(error as Error).message}).`,
      );
    }
    const messages = Array.isArray(body) ? body : [body];
    if (messages.length === 0)
      throw new GatehouseError('GH_MCP_INVALID_REQUEST', 'Invalid JSON-RPC request: an empty batch.');
    const classified = messages.map(classifyMessage);
    const firstInvalid = classified.find((item) => item.kind === 'invalid');
    if (firstInvalid !== undefined && messages.length === 1) {
      return reply
        .code(400)
        .type('application/json')
        .send(JSON.stringify(failure(firstInvalid.id, firstInvalid.error)));
    }
    // Scopes are checked before anything runs, so a step-up challenge (403) comes back on the POST.
    for (const item of classified)
      if (item.kind === 'request')
        options.access.checkScopes(caller, item.message.method, item.message.params, request.id);
    await options.limits?.admitTools(
      request,
      reply,
      caller,
      classified.flatMap((item) => (item.kind === 'request' ? [item.message] : [])),
    );

    for (const item of classified) {
      switch (item.kind) {
        case 'invalid':
          session.stream.send(failure(item.id, item.error));
          break;
        case 'notification':
          if (item.message.method === 'notifications/cancelled') {
            const requestId = String(item.message.params?.requestId);
            session.inFlight.get(requestId)?.abort(item.message.params?.reason ?? 'cancelled by the client');
          }
          break;
        case 'response':
          answerFromClient(session, item.message);
          break;
        case 'request':
          run(session, item.message, caller, request.id).then(
            (response) => session.stream.send(response),
            (error: unknown) => request.log.error({ err: error }, 'legacy SSE request failed'),
          );
      }
    }
    return reply.code(202).type('text/plain').send('Accepted');
  }

  async function sessionOf(request: FastifyRequest, caller: Caller): Promise<LegacySession> {
    const id = (request.query as { sessionId?: unknown }).sessionId;
    if (typeof id !== 'string' || id === '') {
      throw new GatehouseError(
        'GH_MCP_SSE_SESSION_REQUIRED',
        'POST the message to the endpoint the SSE stream announced, with its ?sessionId=.',
      );
    }
    const session = sessions.get(id);
    // Another user's session is answered exactly like one that does not exist.
    if (session !== undefined && session.userId === caller.userId) return session;
    if (
      session === undefined &&
      SESSION_ID.test(id) &&
      (await store.get(NOTE_PREFIX + id)) === caller.userId
    ) {
      throw new GatehouseError(
        'GH_MCP_SSE_WRONG_INSTANCE',
        'This SSE session is held by another Gatehouse instance: the load balancer must send /messages to the instance that holds the /sse stream (session affinity), or use Streamable HTTP at /mcp.',
      );
    }
    throw new GatehouseError(
      'GH_MCP_SSE_SESSION_NOT_FOUND',
      'No open SSE stream has this sessionId: it closed or never existed. Open GET /sse again.',
    );
  }

  async function run(
    session: LegacySession,
    message: JsonRpcRequest,
    caller: Caller,
    requestId: string,
  ): Promise<JsonRpcResponse> {
    if (message.method === 'logging/setLevel') return setLogLevel(session, message);
    if (message.method === 'initialize') {
      const capabilities = (message.params?.capabilities ?? {}) as Record<string, unknown>;
      session.answersRequests = capabilities.sampling !== undefined || capabilities.elicitation !== undefined;
    }
    const controller = new AbortController();
    const key = String(message.id);
    session.inFlight.set(key, controller);
    const progressToken = (message.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    const send = (sent: unknown) => session.stream.send(sent);
    const context: RequestContext = {
      caller,
      requestId,
      sessionId: session.id,
      logLevel: session.logLevel,
      relay: relayTo(session, send),
      signal: controller.signal,
      signalled: () => controller.signal.aborted,
      sendProgress: progressSender(send, progressToken),
    };
    try {
      return await options.dispatcher.request(message, context);
    } finally {
      session.inFlight.delete(key);
    }
  }
}

/** The client's side of relayed exchanges: requests it must answer, notifications it may want. */
function relayTo(session: LegacySession, send: (message: unknown) => void): Relay {
  return clientRelay({
    send,
    logLevel: () => session.logLevel,
    answersRequests: session.answersRequests,
    pending: session.toClient,
  });
}

/** A client's answer to a relayed request; only the session it was asked on can answer it. */
function answerFromClient(session: LegacySession, message: JsonRpcResponse): void {
  const pending = session.toClient.get(String(message.id));
  if (pending === undefined) return;
  if ('result' in message) pending.resolve(message.result as Record<string, unknown>);
  else pending.reject(new UpstreamRpcError(message.error.code, message.error.message, message.error.data));
}

function setLogLevel(session: LegacySession, message: JsonRpcRequest): JsonRpcResponse {
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
  session.logLevel = level;
  return success(message.id, {});
}
