import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { Relay } from '../gateway/upstream/connection.js';
import { failure, type JsonRpcId } from './jsonrpc.js';
import { LOG_LEVELS } from './protocol.js';
import type { TransportPolicy } from './transport-checks.js';

const MCP_RESPONSE_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' } as const;

/**
 * What every MCP transport does with an HTTP request before its own handlers: JSON bodies read as
 * text (so malformed JSON becomes JSON-RPC -32700, not Fastify's 400), the transport's Origin/Host
 * and version checks, and every refusal answered as a JSON-RPC error with its HTTP status.
 */
export function mcpRequestHandling(
  app: FastifyInstance,
  options: {
    bodyLimit: number;
    transport: TransportPolicy;
    /** Adds WWW-Authenticate / Retry-After for authentication failures. */
    decorateAuthError(reply: FastifyReply, error: GatehouseError, request: FastifyRequest): void;
    /** The id to answer a refused request with, when it could be read (null otherwise). */
    idOf?(request: FastifyRequest): JsonRpcId | null;
    /** Names the transport in the log line of an internal error. */
    label: string;
  },
): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: options.bodyLimit },
    (_request, body, done) => {
      done(null, body);
    },
  );
  app.setErrorHandler((error: FastifyError | GatehouseError, request, reply) => {
    const known = toGatehouseError(error);
    if (known.code === 'GH_INTERNAL') request.log.error({ err: error }, `${options.label} request failed`);
    else request.log.debug({ code: known.code }, known.message);
    options.decorateAuthError(reply, known, request);
    return reply
      .code(known.status)
      .type('application/json')
      .send(JSON.stringify(failure(options.idOf?.(request) ?? null, known)));
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(MCP_RESPONSE_HEADERS);
    options.transport.check(request.headers);
  });
}

/** A Fastify error (body too large, wrong media type, bad framing) as the MCP transports answer it. */
export function toGatehouseError(error: FastifyError | GatehouseError): GatehouseError {
  if (isGatehouseError(error)) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatehouseError(
        'GH_HTTP_BODY_TOO_LARGE',
        'The request body is too large (see HTTP_BODY_LIMIT).',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatehouseError(
        'GH_MCP_UNSUPPORTED_MEDIA_TYPE',
        'POST bodies must be JSON-RPC with Content-Type: application/json.',
      );
    default:
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return new GatehouseError('GH_HTTP_BAD_REQUEST', error.message);
      }
      return new GatehouseError('GH_INTERNAL', 'Internal error; the server log has the details.');
  }
}

/** How long a request relayed to the client (sampling, elicitation) waits for its answer. */
const CLIENT_ANSWER_MS = 10 * 60_000;

/** A request sent to the client, waiting for the client's answer. */
export interface PendingAnswer {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

/**
 * The caller's end of relayed exchanges on one stream: log messages at or above the level the
 * client asked for, other notifications as they come, and requests to the client (sampling,
 * elicitation) when it declared it answers them, kept in `pending` until answered or timed out.
 */
export function clientRelay(options: {
  send(message: unknown): void;
  logLevel(): string | undefined;
  answersRequests: boolean;
  pending: { set(id: string, answer: PendingAnswer): void; delete(id: string): void };
}): Relay {
  const { send, pending } = options;
  return {
    notify(method, params) {
      if (method === 'notifications/message') {
        const wanted = options.logLevel();
        if (wanted === undefined || LOG_LEVELS.indexOf(String(params?.level)) < LOG_LEVELS.indexOf(wanted))
          return;
      }
      send({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) });
    },
    request(method, params) {
      if (!options.answersRequests) {
        return Promise.reject(
          new Error(`the client did not declare that it answers ${method} (its capabilities at initialize)`),
        );
      }
      const id = `gatehouse-${randomUUID()}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`the client did not answer ${method} within ${CLIENT_ANSWER_MS / 1000} s`));
        }, CLIENT_ANSWER_MS).unref();
        const settle = () => {
          clearTimeout(timer);
          pending.delete(id);
        };
        pending.set(id, {
          resolve: (result) => {
            settle();
            resolve(result);
          },
          reject: (error) => {
            settle();
            reject(error);
          },
        });
        send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
      });
    },
  };
}

/** Sends notifications/progress for a request that carried a progress token; undefined otherwise. */
export function progressSender(
  send: (message: unknown) => void,
  progressToken: unknown,
): ((progress: number, total?: number, message?: string) => void) | undefined {
  if (typeof progressToken !== 'string' && typeof progressToken !== 'number') return undefined;
  return (progress, total, text) =>
    send({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: {
        progressToken,
        progress,
        ...(total === undefined ? {} : { total }),
        ...(text === undefined ? {} : { message: text }),
      },
    });
}
