/**
 * A raw client of the legacy HTTP+SSE transport (MCP 2024-11-05), for tests that need to see the
 * bytes: GET the stream, read its events one by one, POST messages to the endpoint it announced.
 */
export interface SseEvent {
  event: string;
  data: string;
}

export class LegacySseStream {
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #decoder = new TextDecoder();
  readonly #abort: AbortController;
  #buffer = '';
  /** Comment lines seen so far (keep-alives). */
  readonly comments: string[] = [];

  private constructor(
    readonly response: Response,
    abort: AbortController,
  ) {
    this.#abort = abort;
  }

  /** Opens GET url; the response may be an error (then read `response`). */
  static async open(url: string, headers: Record<string, string> = {}): Promise<LegacySseStream> {
    const abort = new AbortController();
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: abort.signal,
    });
    return new LegacySseStream(response, abort);
  }

  /** The next event, or undefined when the stream ended. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const event: SseEvent = { event: 'message', data: '' };
        let isEvent = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else if (line.startsWith('event: ')) event.event = line.slice(7);
          else if (line.startsWith('data: ')) {
            event.data += line.slice(6);
            isEvent = true;
          }
        }
        if (isEvent) return event;
        continue;
      }
      // Taken on first use, so that an error answer can still be read with response.json().
      this.#reader ??= (this.response.body as ReadableStream<Uint8Array>).getReader();
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** The next JSON-RPC message event, parsed. */
  async message(): Promise<Record<string, any>> {
    const event = await this.next();
    if (event === undefined) throw new Error('the stream ended');
    if (event.event !== 'message') throw new Error(`expected a message event, got ${event.event}`);
    return JSON.parse(event.data) as Record<string, any>;
  }

  /** Reads the `endpoint` event and resolves it against the stream URL. */
  async endpoint(): Promise<string> {
    const event = await this.next();
    if (event?.event !== 'endpoint')
      throw new Error(`expected the endpoint event, got ${JSON.stringify(event)}`);
    return new URL(event.data, this.response.url).toString();
  }

  /** Whether the server ended the stream (reads whatever is left). */
  async ended(): Promise<boolean> {
    while ((await this.next()) !== undefined);
    return true;
  }

  close(): void {
    this.#abort.abort();
  }
}

/** POSTs one JSON-RPC message (or raw text) to a legacy message endpoint. */
export async function postMessage(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string; json: Record<string, any> | undefined }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: Record<string, any> | undefined;
  try {
    json = JSON.parse(text) as Record<string, any>;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
