import { describe, expect, it } from 'vitest';
import { processCompletionResponse } from '../../../src/chat/completions.js';
import { isGatehouseError } from '../../../src/errors/index.js';

const sse = (text: string, status = 200) =>
  new Response(text, { status, headers: { 'content-type': 'text/event-stream' } });
const chunk = (content: string | undefined, finish: string | null = null) =>
  JSON.stringify({
    model: 'm',
    choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
  });

async function failure(response: Response): Promise<{ code: string; message: string }> {
  const error = await processCompletionResponse(response, () => {}).then(
    () => expect.fail('expected a failure'),
    (reason: unknown) => reason,
  );
  if (!isGatehouseError(error)) throw error;
  return { code: error.code, message: error.message };
}

describe('reading a chat completion response', () => {
  it('joins the streamed pieces (LF or CRLF between events, comment lines ignored)', async () => {
    const deltas: [string, number][] = [];
    const body =
      `: keep-alive\n\ndata: ${chunk('Hel')}\n\n` +
      `data: ${chunk('lo')}\r\n\r\n` +
      `data: ${chunk(undefined, 'stop')}\n\ndata: [DONE]\n\n`;
    const result = await processCompletionResponse(sse(body), (delta, received) =>
      deltas.push([delta, received]),
    );
    expect(result).toEqual({ content: 'Hello', model: 'm' });
    expect(deltas).toEqual([
      ['Hel', 3],
      ['lo', 5],
    ]);
  });

  it('accepts a plain JSON answer from a backend that does not stream', async () => {
    const response = new Response(
      JSON.stringify({ model: 'x', choices: [{ message: { content: 'Whole' } }] }),
      {
        headers: { 'content-type': 'application/json' },
      },
    );
    expect(await processCompletionResponse(response, () => {})).toEqual({ content: 'Whole', model: 'x' });
  });

  it('refuses a stream that ends early, an error event and a refusal, saying what happened', async () => {
    expect(await failure(sse(`data: ${chunk('Half')}\n\n`))).toMatchObject({
      code: 'GH_CHAT_BACKEND_FAILED',
      message: expect.stringContaining('the stream ended before the answer was complete'),
    });
    expect(
      await failure(sse(`data: ${JSON.stringify({ error: { message: 'overloaded' } })}\n\n`)),
    ).toMatchObject({
      message: expect.stringContaining('it reported an error mid-answer: overloaded'),
    });
    expect(
      await failure(
        new Response(JSON.stringify({ error: { message: 'Model not found.' } }), { status: 404 }),
      ),
    ).toEqual({
      code: 'GH_CHAT_BACKEND_FAILED',
      message:
        'The chat backend refused the request with HTTP 404: Model not found. Nothing was stored. Check CHAT_COMPLETIONS_URL (and CHAT_MODEL).',
    });
  });
});
