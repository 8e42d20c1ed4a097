import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from '../context.js';
import { guid } from '../lib/encoding.js';
import { sendJson } from '../lib/http.js';

/** Graph's error shape: `{error:{code,message,innerError:{date,request-id,client-request-id}}}`. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendGraphError(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  error: GraphError,
): void {
  const requestId = guid();
  const clientRequestId =
    typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : requestId;
  sendJson(
    res,
    error.status,
    {
      error: {
        code: error.code,
        message: error.message,
        innerError: {
          date: new Date(ctx.now()).toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': requestId,
          'client-request-id': clientRequestId,
        },
      },
    },
    { 'request-id': requestId, 'client-request-id': clientRequestId, ...error.headers },
  );
}
