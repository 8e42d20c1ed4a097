import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import { failure, type JsonRpcId } from './jsonrpc.js';
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
