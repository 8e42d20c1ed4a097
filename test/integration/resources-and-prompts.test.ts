// MCP 2025-11-25 server features: resources (list, read, templates, subscribe, list_changed),
// prompts (list, get) and completion/complete, served by Gatehouse itself and decided by the same
// policy as tools. Real listeners: the Entra emulator, Gatehouse, the MCP SDK client.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthFixture, IDS, mcpPost, startAuthFixture } from '../helpers/auth-fixture.js';

type User = 'alice' | 'bob' | 'carol';

const configDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-content-'));
const configFile = path.join(configDir, 'gatehouse.json');
// alice is an admin, bob a user, carol only the default role (guest here).
writeFileSync(
  configFile,
  JSON.stringify({
    prompts: { add_numbers: { roles: ['admin'], scopes: ['chat'] } },
    resources: { notes: { roles: ['admin', 'user'] } },
  }),
);

let fixture: AuthFixture;
const tokens = {} as Record<User, string>;
const clients: Client[] = [];

beforeAll(async () => {
  fixture = await startAuthFixture({ GATEHOUSE_CONFIG_FILE: configFile, GATEHOUSE_DEFAULT_ROLE: 'guest' });
  for (const user of ['alice', 'bob', 'carol'] as const)
    tokens[user] = await fixture.userToken(user, ['discover', 'tools.execute', 'chat']);
});

afterAll(async () => {
  for (const client of clients) await client.close();
  await fixture.close();
  rmSync(configDir, { recursive: true, force: true });
});

async function connect(user: User): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: `gatehouse-test-${user}`, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(fixture.mcpUrl), {
    requestInit: { headers: { authorization: `Bearer ${tokens[user]}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

async function saveNote(client: Client, note: string): Promise<string> {
  const saved = await client.callTool({ name: 'save_user_note', arguments: { note } });
  return (saved.structuredContent as { id: string }).id;
}

/** The JSON-RPC error a request ends with (its code, and Gatehouse's stable error code). */
async function rpcError(
  request: Promise<unknown>,
): Promise<{ code: number; gatehouse: string; message: string }> {
  try {
    await request;
  } catch (error) {
    if (!(error instanceof McpError)) throw error;
    const data = error.data as { code?: string } | undefined;
    return { code: error.code, gatehouse: String(data?.code), message: error.message };
  }
  throw new Error('the request succeeded');
}

/**
 * A listening stream (GET) of a session, read message by message. It is registered on the server
 * before its first bytes (": stream open") arrive, so anything sent after `open` resolves reaches it.
 */
async function listen(user: User, sessionId: string) {
  const response = await fetch(fixture.mcpUrl, {
    headers: {
      accept: 'text/event-stream',
      authorization: `Bearer ${tokens[user]}`,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
    },
  });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: string[] = [];
  async function nextEvent(): Promise<string> {
    while (events.length === 0) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the listening stream ended');
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        events.push(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
    return events.shift() as string;
  }
  expect(await nextEvent()).toBe(': stream open');
  return {
    /** The next JSON-RPC message on the stream (keep-alive comments skipped). */
    async next(): Promise<{ method: string; params?: Record<string, unknown> }> {
      for (;;) {
        const event = await nextEvent();
        const data = event.split('\n').find((line) => line.startsWith('data: '));
        if (data !== undefined) return JSON.parse(data.slice('data: '.length));
      }
    },
    close: () => reader.cancel(),
  };
}

describe('notes as resources (MCP server features: resources)', () => {
  it('declares resources, prompts and completions at initialize', async () => {
    const { client } = await connect('alice');
    expect(client.getServerCapabilities()).toMatchObject({
      resources: { listChanged: true, subscribe: true },
      prompts: { listChanged: true },
      completions: {},
    });
  });

  it("lists and reads the caller's notes, and names one with the note://{id} template", async () => {
    const { client } = await connect('alice');
    const first = await saveNote(client, 'Buy oat milk\nand bread');
    const second = await saveNote(client, 'Call the dentist');

    const { resources } = await client.listResources();
    const mine = resources.filter((resource) => [first, second].includes(String(resource.name)));
    expect(mine).toEqual([
      expect.objectContaining({ uri: `note://${first}`, title: 'Buy oat milk', mimeType: 'text/plain' }),
      expect.objectContaining({ uri: `note://${second}`, title: 'Call the dentist', mimeType: 'text/plain' }),
    ]);

    const read = await client.readResource({ uri: `note://${first}` });
    expect(read.contents).toEqual([
      { uri: `note://${first}`, mimeType: 'text/plain', text: 'Buy oat milk\nand bread' },
    ]);

    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates[0]).toMatchObject({
      uriTemplate: 'note://{id}',
      name: 'note',
      mimeType: 'text/plain',
    });
  });

  it("sends resources/list_changed to the user's listening streams only, and resources/updated to a subscriber", async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const aliceStream = await listen('alice', String(alice.transport.sessionId));
    const bobStream = await listen('bob', String(bob.transport.sessionId));
    try {
      const id = await saveNote(alice.client, 'a note that changes the list');
      expect(await aliceStream.next()).toEqual({
        jsonrpc: '2.0',
        method: 'notifications/resources/list_changed',
      });

      await alice.client.subscribeResource({ uri: `note://${id}` });
      await alice.client.callTool({ name: 'delete_user_note', arguments: { id } });
      expect(await aliceStream.next()).toEqual({
        jsonrpc: '2.0',
        method: 'notifications/resources/list_changed',
      });
      expect(await aliceStream.next()).toEqual({
        jsonrpc: '2.0',
        method: 'notifications/resources/updated',
        params: { uri: `note://${id}` },
      });

      // Bob's stream heard nothing of alice's notes: the first thing it carries is his own change.
      await saveNote(bob.client, "bob's own note");
      expect(await bobStream.next()).toEqual({
        jsonrpc: '2.0',
        method: 'notifications/resources/list_changed',
      });
    } finally {
      await aliceStream.close();
      await bobStream.close();
    }
  });
});

describe('without a session', () => {
  it('lists and reads notes, and asks for a session to subscribe', async () => {
    const { client } = await connect('bob');
    const id = await saveNote(client, 'read without a session');
    const headers = { 'mcp-protocol-version': '2025-11-25' };
    const read = await mcpPost(
      fixture.mcpUrl,
      { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: `note://${id}` } },
      tokens.bob,
      headers,
    );
    expect(read.body.result.contents[0].text).toBe('read without a session');
    const subscribe = await mcpPost(
      fixture.mcpUrl,
      { jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: `note://${id}` } },
      tokens.bob,
      headers,
    );
    expect(subscribe.body.error).toMatchObject({ data: { code: 'GH_MCP_SESSION_REQUIRED' } });
  });
});

describe('built-in prompts and completions (MCP server features: prompts, completion)', () => {
  it('lists the prompts in a fixed order and embeds the caller’s notes in summarize_notes', async () => {
    const { client } = await connect('alice');
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name).slice(0, 3)).toEqual([
      'summarize_notes',
      'review_note',
      'add_numbers',
    ]);
    expect(prompts[0]?.arguments).toEqual([expect.objectContaining({ name: 'style', required: false })]);

    const id = await saveNote(client, 'Ship the release on Friday');
    const summary = await client.getPrompt({ name: 'summarize_notes', arguments: { style: 'action-items' } });
    expect(summary.messages[0]?.content).toEqual({
      type: 'text',
      text: 'Summarize the notes that follow as a list of action items, each starting with a verb.',
    });
    expect(summary.messages.map((message) => message.content)).toContainEqual({
      type: 'resource',
      resource: { uri: `note://${id}`, mimeType: 'text/plain', text: 'Ship the release on Friday' },
    });

    const review = await client.getPrompt({ name: 'review_note', arguments: { id } });
    expect(review.messages[1]?.content).toMatchObject({
      type: 'resource',
      resource: { uri: `note://${id}` },
    });
  });

  it('add_numbers asks for calculate_sum with the parsed numbers; bad arguments get a stable error', async () => {
    const { client } = await connect('alice');
    const result = await client.getPrompt({ name: 'add_numbers', arguments: { numbers: '1, 2.5 -3' } });
    expect(result.messages).toEqual([
      {
        role: 'user',
        content: {
          type: 'text',
          text: 'Call the calculate_sum tool with {"numbers": [1,2.5,-3]} and tell me the sum.',
        },
      },
    ]);
    expect(
      await rpcError(client.getPrompt({ name: 'add_numbers', arguments: { numbers: '1, two' } })),
    ).toMatchObject({
      code: -32602,
      gatehouse: 'GH_MCP_PROMPT_ARGUMENTS_INVALID',
      message: expect.stringContaining("'two' is not a number"),
    });
    expect(await rpcError(client.getPrompt({ name: 'add_numbers' }))).toMatchObject({
      code: -32602,
      gatehouse: 'GH_MCP_PROMPT_ARGUMENTS_INVALID',
      message: expect.stringContaining("'numbers' is required"),
    });
    expect(await rpcError(client.getPrompt({ name: 'no_such_prompt' }))).toMatchObject({
      code: -32602,
      gatehouse: 'GH_MCP_PROMPT_NOT_FOUND',
    });
  });

  it("completes prompt arguments and the template's {id} with the caller's own values", async () => {
    const { client } = await connect('bob');
    const id = await saveNote(client, 'bob completes');
    const style = await client.complete({
      ref: { type: 'ref/prompt', name: 'summarize_notes' },
      argument: { name: 'style', value: 'b' },
    });
    expect(style.completion.values).toEqual(['bullets']);

    const ids = await client.complete({
      ref: { type: 'ref/resource', uri: 'note://{id}' },
      argument: { name: 'id', value: id.slice(0, 4) },
    });
    expect(ids.completion.values).toEqual([id]);
    const byPrompt = await client.complete({
      ref: { type: 'ref/prompt', name: 'review_note' },
      argument: { name: 'id', value: '' },
    });
    expect(byPrompt.completion.values).toContain(id);
  });
});

describe('policy: the same decision lists and serves prompts and resources', () => {
  it('hides a prompt the roles refuse and refuses it as tools/call refuses a tool, audited', async () => {
    const { client } = await connect('bob');
    const names = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
    expect(names).toContain('summarize_notes');
    expect(names).not.toContain('add_numbers');
    expect(
      await rpcError(client.getPrompt({ name: 'add_numbers', arguments: { numbers: '1 2' } })),
    ).toMatchObject({
      code: -32003,
      gatehouse: 'GH_POLICY_ROLE_REQUIRED',
      message: expect.stringContaining('add_numbers requires the role admin'),
    });
    expect(fixture.audit.events).toContainEqual(
      expect.objectContaining({
        type: 'tool.decision',
        tool: 'add_numbers',
        outcome: 'deny',
        reason: 'role',
      }),
    );
  });

  it("asks for a prompt's extra scope with a step-up challenge, as for a tool's", async () => {
    const token = await fixture.userToken('alice', ['discover', 'tools.execute']);
    const refused = await mcpPost(
      fixture.mcpUrl,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'prompts/get',
        params: { name: 'add_numbers', arguments: { numbers: '1' } },
      },
      token,
      { 'mcp-protocol-version': '2025-11-25' },
    );
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain(
      `error="insufficient_scope", scope="api://${IDS.api}/tools.execute api://${IDS.api}/chat"`,
    );
    expect(refused.headers.get('www-authenticate')).toContain(
      'error_description="using add_numbers needs the scopes tools.execute chat; the token lacks chat"',
    );
    // Listing needs no more than discover: the prompt stays listed, since the client can ask for the scope.
    const listed = await mcpPost(fixture.mcpUrl, { jsonrpc: '2.0', id: 2, method: 'prompts/list' }, token, {
      'mcp-protocol-version': '2025-11-25',
    });
    expect(listed.body.result.prompts.map((prompt: { name: string }) => prompt.name)).toContain(
      'add_numbers',
    );
  });

  it('hides the note resources from a caller the roles refuse and refuses reading them', async () => {
    const { client } = await connect('carol');
    expect((await client.listResources()).resources.filter((r) => r.uri.startsWith('note://'))).toEqual([]);
    expect(
      (await client.listResourceTemplates()).resourceTemplates.filter((t) =>
        t.uriTemplate.startsWith('note://'),
      ),
    ).toEqual([]);
    expect(
      await rpcError(client.readResource({ uri: 'note://3b0d7a6e-8f5c-4c1e-9a77-2d8f1c0b9e11' })),
    ).toMatchObject({
      code: -32003,
      gatehouse: 'GH_POLICY_ROLE_REQUIRED',
    });
    expect(
      await rpcError(
        client.complete({
          ref: { type: 'ref/resource', uri: 'note://{id}' },
          argument: { name: 'id', value: '' },
        }),
      ),
    ).toMatchObject({ code: -32003, gatehouse: 'GH_POLICY_ROLE_REQUIRED' });
  });
});

describe('attacks on notes as resources (one test per attack)', () => {
  let aliceNote: string;
  beforeAll(async () => {
    const { client } = await connect('alice');
    aliceNote = await saveNote(client, 'alice: the launch code is 0000');
  });

  it("bob reads alice's note URI: not found, exactly as a note that never existed", async () => {
    const { client } = await connect('bob');
    const stolen = await rpcError(client.readResource({ uri: `note://${aliceNote}` }));
    const missing = await rpcError(
      client.readResource({ uri: 'note://3b0d7a6e-8f5c-4c1e-9a77-2d8f1c0b9e11' }),
    );
    expect(stolen).toMatchObject({ code: -32002, gatehouse: 'GH_MCP_RESOURCE_NOT_FOUND' });
    const shape = (message: string) => message.replace(/[0-9a-f-]{36}/, 'ID');
    expect(shape(stolen.message)).toBe(shape(missing.message));
    expect(stolen.message).not.toContain('launch code');
  });

  it('bob guesses note ids and URIs: every guess is the same not-found', async () => {
    const { client } = await connect('bob');
    for (const uri of [
      `note://${aliceNote.toUpperCase()}`,
      `note://${aliceNote}/`,
      `note://${aliceNote}?owner=alice`,
      'note://',
      'note://../alice',
      `gatehouse://notes/${aliceNote}`,
    ]) {
      expect(await rpcError(client.readResource({ uri })), uri).toMatchObject({
        code: -32002,
        gatehouse: 'GH_MCP_RESOURCE_NOT_FOUND',
      });
    }
    expect(await rpcError(client.subscribeResource({ uri: `note://${aliceNote}` }))).toMatchObject({
      code: -32002,
      gatehouse: 'GH_MCP_RESOURCE_NOT_FOUND',
    });
    expect(
      await rpcError(client.getPrompt({ name: 'review_note', arguments: { id: aliceNote } })),
    ).toMatchObject({ code: -32602, gatehouse: 'GH_MCP_PROMPT_ARGUMENTS_INVALID' });
    const summary = await client.getPrompt({ name: 'summarize_notes' });
    expect(JSON.stringify(summary)).not.toContain(aliceNote);
  });

  it('a prompt refused by policy cannot be reached through completion either', async () => {
    const { client } = await connect('bob');
    expect(
      await rpcError(
        client.complete({
          ref: { type: 'ref/prompt', name: 'add_numbers' },
          argument: { name: 'numbers', value: '' },
        }),
      ),
    ).toMatchObject({ code: -32003, gatehouse: 'GH_POLICY_ROLE_REQUIRED' });
  });

  it("completion never offers another user's note ids", async () => {
    const { client } = await connect('bob');
    for (const value of ['', aliceNote.slice(0, 1), aliceNote.slice(0, 8), aliceNote]) {
      const template = await client.complete({
        ref: { type: 'ref/resource', uri: 'note://{id}' },
        argument: { name: 'id', value },
      });
      expect(template.completion.values).not.toContain(aliceNote);
      const prompt = await client.complete({
        ref: { type: 'ref/prompt', name: 'review_note' },
        argument: { name: 'id', value },
      });
      expect(prompt.completion.values).not.toContain(aliceNote);
    }
  });
});
