import type { ChatSettings } from '../config/index.js';
import { GatehouseError } from '../errors/index.js';
import type { ToolCallContext } from '../mcp/tool.js';
import type { ChatMessage } from '../storage/contract.js';

export interface Completion {
  content: string;
  /** The model the backend says answered, when it says. */
  model: string | undefined;
}

export interface CompletionCall {
  signal: AbortSignal;
  /** Each piece of the answer as it arrives, with the length of the answer so far. */
  onDelta(delta: string, received: number): void;
  /** Whose call this is: an on-behalf-of credential is the caller's own. */
  context: CredentialContext;
}

export type CredentialContext = Pick<ToolCallContext, 'caller' | 'services'>;

/**
 * The credential to send: a header name and value, fetched per request (an Entra token may expire;
 * an on-behalf-of token belongs to the caller).
 */
export type CredentialHeader = (context: CredentialContext) => Promise<Readonly<Record<string, string>>>;

/**
 * An OpenAI-compatible chat completions endpoint, asked to stream (`stream: true`): the answer
 * arrives as server-sent events, each piece is handed to `onDelta` as it comes, and the whole
 * answer is returned once the backend says it is done. A refusal, a broken stream or a timeout is
 * a GatehouseError whose message says what the backend said.
 */
export class ChatCompletions {
  constructor(
    private readonly settings: ChatSettings,
    private readonly credential: CredentialHeader,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async complete(messages: readonly ChatMessage[], call: CompletionCall): Promise<Completion> {
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const signal = AbortSignal.any([call.signal, timeout]);
    let response: Response;
    try {
      response = await this.fetchImpl(this.settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream, application/json',
          ...(await this.credential(call.context)),
        },
        body: JSON.stringify(this.requestBody(messages)),
        signal,
      });
    } catch (error) {
      throw unavailable(error, timeout, this.settings);
    }
    try {
      return await processCompletionResponse(response, call.onDelta);
    } catch (error) {
      if (timeout.aborted || !(error instanceof GatehouseError))
        throw unavailable(error, timeout, this.settings);
      throw error;
    }
  }

  requestBody(messages: readonly ChatMessage[]): Record<string, unknown> {
    const system = this.settings.systemPrompt;
    return {
      ...(this.settings.model === undefined ? {} : { model: this.settings.model }),
      messages: [...(system === undefined ? [] : [{ role: 'system', content: system }]), ...messages],
      stream: true,
    };
  }
}

/** Reads a chat completion response: an SSE stream of chunks, or (from a backend that ignores `stream`) one JSON body. */
export async function processCompletionResponse(
  response: Response,
  onDelta: CompletionCall['onDelta'],
): Promise<Completion> {
  if (!response.ok) throw await refusal(response);
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('text/event-stream')) {
    const body = (await response.json().catch(() => undefined)) as
      | { model?: unknown; choices?: { message?: { content?: unknown } }[] }
      | undefined;
    const content = body?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw broken('its answer has no choices[0].message.content');
    onDelta(content, content.length);
    return { content, model: typeof body?.model === 'string' ? body.model : undefined };
  }
  if (response.body === null) throw broken('the stream has no body');
  let content = '';
  let model: string | undefined;
  let done = false;
  let finished = false;
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body.getReader();
  const handle = (data: string) => {
    if (data === '[DONE]') {
      done = true;
      return;
    }
    let chunk: {
      model?: unknown;
      error?: { message?: unknown };
      choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
    };
    try {
      chunk = JSON.parse(data);
    } catch {
      throw broken(`a chunk is not JSON: ${data.slice(0, 80)}`);
    }
    if (chunk.error !== undefined)
      throw broken(`it reported an error mid-answer: ${String(chunk.error.message)}`);
    if (typeof chunk.model === 'string') model = chunk.model;
    const choice = chunk.choices?.[0];
    const delta = choice?.delta?.content;
    if (typeof delta === 'string' && delta !== '') {
      content += delta;
      onDelta(delta, content.length);
    }
    if (typeof choice?.finish_reason === 'string') finished = true;
  };
  while (!done) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw broken(`the connection closed mid-answer: ${(error as Error).message}`);
    }
    const { value, done: ended } = chunk;
    if (ended) break;
    buffer += decoder.decode(value, { stream: true });
    // Events end with a blank line; CRLF and LF are both allowed (HTML's SSE parsing).
    let boundary = buffer.search(/\r?\n\r?\n/);
    while (boundary !== -1) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data !== '') handle(data);
      if (done) break;
      boundary = buffer.search(/\r?\n\r?\n/);
    }
  }
  if (done) await reader.cancel().catch(() => undefined);
  if (!done && !finished) throw broken('the stream ended before the answer was complete');
  return { content, model };
}

async function refusal(response: Response): Promise<GatehouseError> {
  const text = await response.text().catch(() => '');
  let said = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string };
    const message = typeof body.error === 'string' ? body.error : body.error?.message;
    if (typeof message === 'string') said = message;
  } catch {}
  const hint =
    response.status === 401 || response.status === 403
      ? ' Check CHAT_API_KEY (or, with CHAT_AUTH=entra or on-behalf-of, the role or scope CHAT_ENTRA_SCOPE grants).'
      : response.status === 404
        ? ' Check CHAT_COMPLETIONS_URL (and CHAT_MODEL).'
        : response.status === 429
          ? ' The backend is rate limiting: try again later.'
          : '';
  said = said.trim().replace(/\.$/, '');
  return new GatehouseError(
    'GH_CHAT_BACKEND_FAILED',
    `The chat backend refused the request with HTTP ${response.status}${said === '' ? '' : `: ${said}`}. Nothing was stored.${hint}`,
    { detail: { status: response.status } },
  );
}

function broken(what: string): GatehouseError {
  return new GatehouseError(
    'GH_CHAT_BACKEND_FAILED',
    `The chat backend's answer was broken off (${what}). Nothing was stored; send the message again.`,
  );
}

function unavailable(error: unknown, timeout: AbortSignal, settings: ChatSettings): GatehouseError {
  if (timeout.aborted) {
    return new GatehouseError(
      'GH_CHAT_BACKEND_UNAVAILABLE',
      `The chat backend did not finish its answer within ${settings.timeoutMs / 1000} s (CHAT_TIMEOUT). Nothing was stored.`,
      { cause: error },
    );
  }
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  return new GatehouseError(
    'GH_CHAT_BACKEND_UNAVAILABLE',
    `The chat backend at ${new URL(settings.url).origin} could not be reached (${typeof cause === 'string' ? cause : (error as Error).message}). Nothing was stored.`,
    { cause: error },
  );
}
