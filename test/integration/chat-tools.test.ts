import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { emulatorBackedConfig, IDS, mcpPost, vscodeToken } from '../helpers/auth-fixture.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { createTestDatabase } from '../helpers/services.js';
import { callTool } from '../helpers/test-app.js';

const KEY = 'sk-fake-chat-key-for-tests';
const scope = (names: string[]) =>
  [...names.map((name) => `api://${IDS.api}/${name}`), 'openid', 'profile', 'offline_access'].join(' ');

let entra: DevEntra;
let fake: FakeOpenAI;
let database: { url: string; drop(): Promise<void> };
let dataDir: string;
let gatehouse: RunningGatehouse;
const tokens: Record<string, string> = {};

async function start(extraEnv: Record<string, string> = {}): Promise<RunningGatehouse> {
  const config = await emulatorBackedConfig(entra, dataDir, {
    DATABASE_URL: database.url,
    CHAT_COMPLETIONS_URL: fake.url,
    CHAT_API_KEY: KEY,
    CHAT_MODEL: 'gpt-4o-mini',
    ...extraEnv,
  });
  return startGatehouse(config, { logger: createLogger(config) });
}

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'chat-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gatehouse.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function chatRows(): Promise<{ user_id: string; messages: string; finished_at: string | null }[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query('select user_id, messages, finished_at from chats order by created_at')).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
  fake = await new FakeOpenAI({ key: KEY }).start();
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-chat-'));
  gatehouse = await start();
  tokens.alice = await vscodeToken(entra, 'alice', scope(['discover', 'tools.execute', 'chat']));
  tokens.bob = await vscodeToken(entra, 'bob', scope(['discover', 'tools.execute', 'chat']));
  tokens.aliceNoChat = await vscodeToken(entra, 'alice', scope(['discover', 'tools.execute']));
});

afterAll(async () => {
  await gatehouse?.close();
  await fake?.close();
  await entra?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the chat tools against an OpenAI-compatible backend (the local fake)', () => {
  let aliceConversation: string;

  it('round-trips a two-message conversation, streaming the answer as progress, with the history sent the second time', async () => {
    const client = await connect(tokens.alice as string);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['send_message', 'finish_chat']));

      const progress: Progress[] = [];
      const first = await client.callTool(
        { name: 'send_message', arguments: { message: 'Hello there' } },
        CallToolResultSchema,
        { onprogress: (update) => progress.push(update) },
      );
      expect(first.isError).toBeFalsy();
      const answer = 'You said "Hello there". I have seen 1 message.';
      expect(first.structuredContent).toMatchObject({ answer, messageCount: 2 });
      aliceConversation = (first.structuredContent as { conversationId: string }).conversationId;
      // Several notifications while the answer arrived, the text in order, the count rising.
      expect(progress.length).toBeGreaterThan(3);
      expect(progress.map((update) => update.message).join('')).toBe(answer);
      for (let i = 1; i < progress.length; i++)
        expect(progress[i]?.progress).toBeGreaterThan(progress[i - 1]?.progress as number);

      const sent = fake.requests.at(-1);
      expect(sent?.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(sent?.body).toEqual({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: 'Hello there' }],
      });

      const second = await client.callTool({
        name: 'send_message',
        arguments: { message: 'And now?', conversationId: aliceConversation },
      });
      expect(second.structuredContent).toMatchObject({
        conversationId: aliceConversation,
        answer: 'You said "And now?". I have seen 3 messages.',
        messageCount: 4,
      });
      expect(fake.requests.at(-1)?.body.messages).toEqual([
        { role: 'user', content: 'Hello there' },
        { role: 'assistant', content: answer },
        { role: 'user', content: 'And now?' },
      ]);
    } finally {
      await client.close();
    }
  });

  it("does not let bob continue or finish alice's conversation, and tells him as if it did not exist", async () => {
    const before = fake.requests.length;
    const send = await mcpPost(
      `${gatehouse.url}/mcp`,
      callTool('send_message', { message: 'let me in', conversationId: aliceConversation }),
      tokens.bob,
    );
    expect(send.body.result.isError).toBe(true);
    expect(send.body.result._meta['io.gatehouse/error-code']).toBe('GH_CHAT_NOT_FOUND');
    const finish = await mcpPost(
      `${gatehouse.url}/mcp`,
      callTool('finish_chat', { conversationId: aliceConversation }),
      tokens.bob,
    );
    expect(finish.body.result._meta['io.gatehouse/error-code']).toBe('GH_CHAT_NOT_FOUND');
    // Nothing of alice's conversation reached the backend on bob's behalf.
    expect(fake.requests.length).toBe(before);
    const bobs = await mcpPost(
      `${gatehouse.url}/mcp`,
      callTool('send_message', { message: 'my own' }),
      tokens.bob,
    );
    expect(bobs.body.result.structuredContent.messageCount).toBe(2);
    expect(fake.requests.at(-1)?.body.messages).toEqual([{ role: 'user', content: 'my own' }]);
  });

  it('keeps the conversation across a restart (a new Gatehouse on the same database), then ends it with finish_chat', async () => {
    await gatehouse.close();
    gatehouse = await start();
    const client = await connect(tokens.alice as string);
    try {
      const third = await client.callTool({
        name: 'send_message',
        arguments: { message: 'Still there?', conversationId: aliceConversation },
      });
      expect(third.structuredContent).toMatchObject({ messageCount: 6 });
      expect(fake.requests.at(-1)?.body.messages.map((message) => message.content)).toEqual([
        'Hello there',
        'You said "Hello there". I have seen 1 message.',
        'And now?',
        'You said "And now?". I have seen 3 messages.',
        'Still there?',
      ]);

      const finished = await client.callTool({
        name: 'finish_chat',
        arguments: { conversationId: aliceConversation },
      });
      expect(finished.structuredContent).toEqual({
        conversationId: aliceConversation,
        finished: true,
        messageCount: 6,
      });
      const before = fake.requests.length;
      const late = await client.callTool({
        name: 'send_message',
        arguments: { message: 'one more', conversationId: aliceConversation },
      });
      expect(late.isError).toBe(true);
      expect(late._meta?.['io.gatehouse/error-code']).toBe('GH_CHAT_FINISHED');
      expect((late.content as { text: string }[])[0]?.text).toContain('finish_chat');
      expect(fake.requests.length).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('answers a token without the chat scope with 403 insufficient_scope (step-up); the tools stay listed so that a client can step up', async () => {
    const call = await mcpPost(
      `${gatehouse.url}/mcp`,
      callTool('send_message', { message: 'hi' }),
      tokens.aliceNoChat,
    );
    expect(call.status).toBe(403);
    expect(call.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(call.headers.get('www-authenticate')).toContain(`api://${IDS.api}/chat`);
    const list = await mcpPost(
      `${gatehouse.url}/mcp`,
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      tokens.aliceNoChat,
    );
    const names = list.body.result.tools.map((tool: { name: string }) => tool.name);
    expect(names).toContain('whoami');
    expect(names).toEqual(expect.arrayContaining(['send_message', 'finish_chat']));
  });

  it('turns a backend refusal (500, 401) or a broken stream into a clear tool error and stores nothing', async () => {
    const rowsBefore = await chatRows();
    const post = (args: Record<string, unknown>) =>
      mcpPost(`${gatehouse.url}/mcp`, callTool('send_message', args), tokens.bob).then(
        (response) => response.body.result,
      );
    const bobsConversation = (await post({ message: 'start' })).structuredContent.conversationId as string;
    const rowsWithBob = await chatRows();
    expect(rowsWithBob.length).toBe(rowsBefore.length + 1);

    fake.failNext({ kind: 'status', status: 500, body: { error: { message: 'The server had an error.' } } });
    const failed = await post({ message: 'boom' });
    expect(failed.isError).toBe(true);
    expect(failed._meta['io.gatehouse/error-code']).toBe('GH_CHAT_BACKEND_FAILED');
    expect(failed.content[0].text).toBe(
      'The chat backend refused the request with HTTP 500: The server had an error. Nothing was stored.',
    );

    fake.failNext({
      kind: 'status',
      status: 401,
      body: { error: { message: 'Incorrect API key provided.' } },
    });
    const refused = await post({ message: 'again', conversationId: bobsConversation });
    expect(refused._meta['io.gatehouse/error-code']).toBe('GH_CHAT_BACKEND_FAILED');
    expect(refused.content[0].text).toContain('HTTP 401: Incorrect API key provided. Nothing was stored.');
    expect(refused.content[0].text).toContain('Check CHAT_API_KEY');

    fake.failNext({ kind: 'cut', pieces: ['Half ', 'an ', 'ans'] });
    const cut = await post({ message: 'cut me off', conversationId: bobsConversation });
    expect(cut._meta['io.gatehouse/error-code']).toBe('GH_CHAT_BACKEND_FAILED');
    expect(cut.content[0].text).toContain('broken off');

    // No new conversation from the failed first message, and bob's conversation holds only its first exchange.
    const rowsAfter = await chatRows();
    expect(rowsAfter.length).toBe(rowsWithBob.length);
    const bobs = rowsAfter.at(-1);
    expect(JSON.parse(bobs?.messages ?? '[]').map((m: { content: string }) => m.content)).toEqual([
      'start',
      'You said "start". I have seen 1 message.',
    ]);
    const next = await post({ message: 'recovered', conversationId: bobsConversation });
    expect(next.structuredContent.messageCount).toBe(4);
  });

  it('checks the key the fake was given: a wrong CHAT_API_KEY is a clear tool error', async () => {
    await gatehouse.close();
    gatehouse = await start({ CHAT_API_KEY: 'sk-wrong' });
    const result = (
      await mcpPost(`${gatehouse.url}/mcp`, callTool('send_message', { message: 'hi' }), tokens.alice)
    ).body.result;
    expect(result._meta['io.gatehouse/error-code']).toBe('GH_CHAT_BACKEND_FAILED');
    expect(result.content[0].text).toContain('HTTP 401: Incorrect API key provided. Nothing was stored.');
  });

  it('without a backend the tools are not served, and the start output says how to enable them', async () => {
    await gatehouse.close();
    const config = await emulatorBackedConfig(entra, dataDir, { DATABASE_URL: database.url });
    const lines: string[] = [];
    gatehouse = await startGatehouse(config, {
      logger: createLogger(config),
      onProgress: (line) => lines.push(line),
    });
    expect(lines).toContain(
      'Chat tools: off (send_message and finish_chat are not served; set CHAT_COMPLETIONS_URL, with CHAT_API_KEY and CHAT_MODEL or CHAT_AUTH=entra, to serve them: docs/chat.md)',
    );
    const list = await mcpPost(
      `${gatehouse.url}/mcp`,
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      tokens.alice,
    );
    expect(list.body.result.tools.map((tool: { name: string }) => tool.name)).not.toContain('send_message');
    const call = await mcpPost(
      `${gatehouse.url}/mcp`,
      callTool('send_message', { message: 'hi' }),
      tokens.alice,
    );
    expect(call.body.error.message).toContain("Unknown tool: 'send_message'");
  });
});
