import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';

/**
 * The hot path to a Streamable HTTP upstream: one JSON-RPC request as one POST on a keep-alive
 * connection, its answer (JSON or an SSE stream) read for the response with its id. The SDK
 * client sets the connection up (era negotiation, `initialize`, the session) and handles every
 * exchange that needs more than this — progress, messages relayed to the caller, the 2026-07-28
 * envelope; measured in bench/gateway, its per-request path (fetch, web streams, protocol
 * bookkeeping) costs many times what the gateway itself does.
 */

export interface DirectRequest {
  url: URL;
  /** Every header, content-type (application/json) and accept (JSON and SSE) included; not content-length. */
  headers: Readonly<Record<string, string>>;
  /** The JSON-RPC request, serialized. */
  body: string;
  id: string;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** The upstream asked the client something on the answer stream. */
  onServerRequest?: (request: { id: unknown; method: unknown }) => void;
  /**
   * A JSON-RPC error answered with a 4xx status is the answer (2026-07-28, which has no sessions);
   * otherwise a 4xx is a status (a handshake-era upstream's 404/400 for a session it forgot).
   */
  errorStatusAnswers?: boolean;
}

export interface JsonRpcAnswer {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export type DirectAnswer =
  /** `status` only when the upstream answered a JSON-RPC error with a non-2xx HTTP status (2026-07-28 does). */
  | { kind: 'response'; message: JsonRpcAnswer; status?: number }
  /** The upstream answered with an HTTP status instead (404: the session is gone). */
  | { kind: 'status'; status: number; text: string };

export class DirectFailure extends Error {
  constructor(
    readonly reason: 'timeout' | 'aborted' | 'network' | 'protocol',
    message: string,
  ) {
    super(message);
    this.name = 'DirectFailure';
  }
}

/**
 * undici's dispatcher (the engine of Node's own `fetch`, used here without fetch's Request,
 * Response and web-stream objects): a keep-alive pool per upstream origin, HTTP and HTTPS.
 * Measured in bench/gateway (client-micro.mjs, profile.mjs), a call costs the caller about half
 * the CPU it does through node:http's client and agent (which this path used before).
 */
const dispatcher = new Agent({ connections: 256, keepAliveTimeout: 10_000 });

export function postDirect(request: DirectRequest): Promise<DirectAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let body: Dispatcher.ResponseData['body'] | undefined;
    const finish = (error: DirectFailure | undefined, answer?: DirectAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) {
        body?.destroy();
        reject(error);
      } else resolve(answer as DirectAnswer);
    };
    // The whole exchange, waiting for a connection included; the SSE case reads past the headers.
    const timer = setTimeout(
      () => finish(new DirectFailure('timeout', `no answer within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    dispatcher
      .request({
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: 'POST',
        headers: request.headers,
        body: request.body,
        // undici's own timers free the connection of an upstream that stops answering (the timer
        // above, started first, is the one that answers the caller).
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      })
      .then(
        (response) => {
          body = response.body;
          if (settled) return void body.destroy();
          read(request, response, finish);
        },
        (error: unknown) => finish(failure(error, request)),
      );
  });
}

/** Reads the upstream's answer: JSON (or an error status), or an SSE stream up to the response with the request's id. */
function read(
  request: DirectRequest,
  response: Dispatcher.ResponseData,
  finish: (error: DirectFailure | undefined, answer?: DirectAnswer) => void,
): void {
  const { statusCode: status, body } = response;
  const header = response.headers['content-type'];
  const type = (Array.isArray(header) ? header[0] : header) ?? '';
  body.setEncoding('utf8');
  body.on('error', (error) => finish(failure(error, request)));
  if (status >= 200 && status < 300 && type.includes('text/event-stream')) {
    readEvents(
      body,
      request.id,
      (message) => {
        finish(undefined, { kind: 'response', message });
        body.destroy();
      },
      request.onServerRequest,
    );
    body.on('end', () =>
      finish(new DirectFailure('network', 'the upstream closed its answer stream before answering')),
    );
    return;
  }
  let text = '';
  body.on('data', (chunk: string) => {
    text += chunk;
  });
  body.on('end', () => {
    if (status < 200 || status >= 300 || !type.includes('application/json')) {
      // A 2026-07-28 upstream answers a bad request with its HTTP status and a JSON-RPC error
      // for this request: that error is the answer, relayed with its status.
      const error =
        request.errorStatusAnswers === true && status >= 400 && type.includes('application/json')
          ? rpcError(text, request.id)
          : undefined;
      if (error !== undefined) return finish(undefined, { kind: 'response', message: error, status });
      return finish(undefined, { kind: 'status', status, text: text.slice(0, 500) });
    }
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      return finish(undefined, { kind: 'response', message: parsed });
    } catch {
      return finish(new DirectFailure('protocol', 'the upstream answered with malformed JSON'));
    }
  });
}

/** undici's codes for its headers and body timeouts, which may fire just before the timer of postDirect. */
const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * What an error of the exchange was: cancelled by the caller (undici rejects with the signal's
 * reason), a timeout, or the network.
 */
function failure(error: unknown, request: DirectRequest): DirectFailure {
  if (error instanceof DirectFailure) return error;
  if (request.signal?.aborted === true) return new DirectFailure('aborted', 'cancelled by the caller');
  if (UNDICI_TIMEOUTS.has((error as { code?: unknown } | null)?.code as string))
    return new DirectFailure('timeout', `no answer within ${request.timeoutMs} ms`);
  return new DirectFailure('network', error instanceof Error ? error.message : String(error));
}

/** Reads SSE events until the JSON-RPC response with `id`; other messages are not this path's business. */
function readEvents(
  response: Readable,
  id: string,
  onResponse: (message: JsonRpcAnswer) => void,
  onServerRequest: ((request: { id: unknown; method: unknown }) => void) | undefined,
): void {
  let buffer = '';
  response.on('data', (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const end = buffer.search(/\r?\n\r?\n/);
      if (end < 0) return;
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer[end] === '\r' ? 4 : 2));
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line[5] === ' ' ? 6 : 5))
        .join('\n');
      if (data === '') continue;
      try {
        const message = JSON.parse(data) as JsonRpcAnswer & { id?: unknown; method?: unknown };
        if (message.id === id && ('result' in message || 'error' in message)) return onResponse(message);
        if (message.id !== undefined && typeof message.method === 'string')
          onServerRequest?.({ id: message.id, method: message.method });
      } catch {
        // A malformed event is skipped, as an EventSource would.
      }
    }
  });
}

/** The JSON-RPC error in an answer's body, when it answers request `id` (or could not read its id). */
function rpcError(text: string, id: string): JsonRpcAnswer | undefined {
  try {
    const parsed = JSON.parse(text) as { id?: unknown; error?: { code?: unknown; message?: unknown } };
    if (parsed.error === undefined || typeof parsed.error.code !== 'number') return undefined;
    if (parsed.id !== id && parsed.id !== null && parsed.id !== undefined) return undefined;
    return parsed as JsonRpcAnswer;
  } catch {
    return undefined;
  }
}
