import http from 'node:http';
import https from 'node:https';

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
  /** Every header but content-length, content-type (application/json) and accept (JSON and SSE) included. */
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

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 }),
};

export function postDirect(request: DirectRequest): Promise<DirectAnswer> {
  return new Promise((resolve, reject) => {
    const { url } = request;
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (error: DirectFailure | undefined, answer?: DirectAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) reject(error);
      else resolve(answer as DirectAnswer);
    };
    const outgoing = client.request(
      {
        protocol: url.protocol,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        agent: agents[url.protocol as 'http:' | 'https:'],
        // The caller's headers say content-type and accept; only the length is this request's.
        headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) },
      },
      (response) => {
        const type = response.headers['content-type'] ?? '';
        const status = response.statusCode ?? 0;
        response.setEncoding('utf8');
        if (status >= 200 && status < 300 && type.includes('text/event-stream')) {
          readEvents(
            response,
            request.id,
            (message) => {
              finish(undefined, { kind: 'response', message });
              response.destroy();
            },
            request.onServerRequest,
          );
          response.on('end', () =>
            finish(new DirectFailure('network', 'the upstream closed its answer stream before answering')),
          );
          response.on('error', (error) => finish(new DirectFailure('network', error.message)));
          return;
        }
        let text = '';
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
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
        response.on('error', (error) => finish(new DirectFailure('network', error.message)));
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy();
      finish(new DirectFailure('timeout', `no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    const onAbort = () => {
      outgoing.destroy();
      finish(new DirectFailure('aborted', 'cancelled by the caller'));
    };
    if (request.signal?.aborted) return onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error) => finish(new DirectFailure('network', error.message)));
    outgoing.end(request.body);
  });
}

/** Reads SSE events until the JSON-RPC response with `id`; other messages are not this path's business. */
function readEvents(
  response: http.IncomingMessage,
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
