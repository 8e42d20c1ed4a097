import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedChatRequest {
  headers: IncomingMessage['headers'];
  body: {
    model?: string;
    stream?: boolean;
    messages: { role: string; content: string }[];
  };
}

/** What the fake does with the next request instead of answering. */
export type FakeFailure =
  | { kind: 'status'; status: number; body: unknown }
  /** Streams these pieces, then ends the stream without a finish_reason or [DONE]. */
  | { kind: 'cut'; pieces: string[] };

/**
 * An OpenAI-compatible chat completions endpoint on a real HTTP listener: it checks the key
 * (`Authorization: Bearer` or Azure's `api-key`), records every request, and streams its answer as
 * server-sent events in several chunks, the way OpenAI and Azure OpenAI do with `stream: true`.
 * The answer is made from the conversation it was sent, so a test can tell what the backend saw.
 */
export class FakeOpenAI {
  readonly requests: RecordedChatRequest[] = [];
  readonly #failures: FakeFailure[] = [];
  #server: Server | undefined;
  url = '';

  constructor(
    private readonly options: {
      key?: string;
      /** Instead of a fixed key: whether the credential presented is accepted (e.g. an Entra token's claims). */
      accepts?: (credential: string | undefined) => boolean;
      header?: 'authorization' | 'api-key';
      /** The answer to a conversation; by default it names the last message and how many it saw. */
      answer?: (messages: { role: string; content: string }[]) => string;
    } = {},
  ) {}

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      let raw = '';
      request.setEncoding('utf8');
      request.on('data', (chunk) => {
        raw += chunk;
      });
      request.on('end', () => {
        const send = (status: number, body: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(body));
        };
        if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/chat/completions') {
          return send(404, { error: { message: `no route ${request.method} ${request.url}` } });
        }
        const presented =
          this.options.header === 'api-key'
            ? request.headers['api-key']
            : request.headers.authorization?.replace(/^Bearer /, '');
        const accepted =
          this.options.accepts !== undefined
            ? this.options.accepts(typeof presented === 'string' ? presented : undefined)
            : this.options.key === undefined || presented === this.options.key;
        if (!accepted) {
          return send(401, {
            error: {
              message: 'Incorrect API key provided.',
              type: 'invalid_request_error',
              code: 'invalid_api_key',
            },
          });
        }
        const body = JSON.parse(raw) as RecordedChatRequest['body'];
        this.requests.push({ headers: request.headers, body });
        const failure = this.#failures.shift();
        if (failure?.kind === 'status') return send(failure.status, failure.body);
        const answer = failure?.kind === 'cut' ? failure.pieces.join('') : this.answerTo(body.messages);
        const pieces = failure?.kind === 'cut' ? failure.pieces : split(answer);
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const chunk = (delta: Record<string, unknown>, finish: string | null) =>
          `data: ${JSON.stringify({
            id: 'chatcmpl-fake',
            object: 'chat.completion.chunk',
            created: 1_700_000_000,
            model: body.model ?? 'fake-deployment',
            choices: [{ index: 0, delta, finish_reason: finish }],
          })}\n\n`;
        response.write(chunk({ role: 'assistant', content: '' }, null));
        for (const piece of pieces) response.write(chunk({ content: piece }, null));
        if (failure?.kind === 'cut') {
          response.end();
          return;
        }
        response.write(chunk({}, 'stop'));
        response.end('data: [DONE]\n\n');
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1/chat/completions`;
    return this;
  }

  /** The next request is answered with this failure instead. */
  failNext(failure: FakeFailure): void {
    this.#failures.push(failure);
  }

  answerTo(messages: { role: string; content: string }[]): string {
    if (this.options.answer) return this.options.answer(messages);
    const last = messages[messages.length - 1]?.content ?? '';
    return `You said "${last}". I have seen ${messages.length} message${messages.length === 1 ? '' : 's'}.`;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/** Splits an answer into chunks of a few words, as a model streams tokens. */
function split(answer: string): string[] {
  return answer.match(/\S+\s*/g) ?? [answer];
}
