import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';

/** One Server-Sent Events stream (the body of an MCP response or of a GET listening stream). */
export class SseStream {
  readonly body = new PassThrough();
  #open = true;

  /** socket: the connection of a long-lived listening stream, closed with it at shutdown. */
  constructor(private readonly socket?: Socket) {
    this.body.on('close', () => {
      this.#open = false;
    });
  }

  get open(): boolean {
    return this.#open;
  }

  send(message: unknown): void {
    if (this.#open) this.body.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** A named event with text data (the legacy transport's `endpoint` event). */
  event(name: string, data: string): void {
    if (this.#open) this.body.write(`event: ${name}\ndata: ${data}\n\n`);
  }

  /** A comment line: keeps proxies from closing an idle stream. */
  comment(text: string): void {
    if (this.#open) this.body.write(`: ${text}\n\n`);
  }

  end(options: { closeConnection?: boolean } = {}): void {
    if (this.#open) {
      this.#open = false;
      this.body.end();
    }
    if (options.closeConnection && this.socket !== undefined) {
      const socket = this.socket;
      this.body.once('end', () => setImmediate(() => socket.destroy()));
      setTimeout(() => socket.destroy(), 1000).unref();
    }
  }
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;
