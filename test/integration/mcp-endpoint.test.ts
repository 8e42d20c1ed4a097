import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from '../../src/mcp/tool.js';
import { callTool, createTestApp, MCP_HEADERS, rpc, type TestApp } from '../helpers/test-app.js';

// A tool that reports progress, to exercise SSE responses (MCP transport, "Sending Messages to the Server").
const countTo = defineTool({
  name: 'count_to',
  title: 'Count',
  description: 'Counts, reporting progress.',
  input: z.strictObject({ n: z.number().int().min(1).max(5) }),
  run({ n }, context) {
    for (let i = 1; i <= n; i++) context.reportProgress(i, n, `step ${i}`);
    return { structured: {}, text: `counted to ${n}` };
  },
});

// A tool that waits until its request is cancelled (MCP: notifications/cancelled).
const waitForCancel = defineTool({
  name: 'wait_for_cancel',
  title: 'Wait',
  description: 'Returns once cancelled.',
  input: z.strictObject({}),
  async run(_args, context) {
    await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
    return { structured: {}, text: `cancelled: ${String(context.signal.reason)}` };
  },
});

function parseSse(body: string): unknown[] {
  return body
    .split('\n\n')
    .map((block) => block.split('\n').find((line) => line.startsWith('data: ')))
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line.slice(6)));
}

describe('MCP endpoint (Streamable HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({}, { extraTools: [countTo, waitForCancel] });
  });
  afterAll(() => t.close());

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { ...MCP_HEADERS, ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  const noteCount = async () =>
    (
      await t.stores.durable.notes.listByUser(
        (await t.stores.durable.users.findByIdentity(
          '00000000-0000-0000-0000-000000000000',
          '00000000-0000-0000-0000-00000000d3e0',
        ))!.id,
      )
    ).length;

  it('initializes, negotiating the protocol version and opening a session', async () => {
    const response = await post(
      rpc('initialize', {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'test', version: '1' },
      }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers['mcp-session-id']).toMatch(/^[0-9a-f-]{36}$/);
    const body = response.json();
    expect(body.result.protocolVersion).toBe('2025-06-18');
    expect(body.result.serverInfo.name).toBe('gatehouse');
    expect(body.result.capabilities.tools).toBeDefined();
  });

  it('answers an unknown protocol version in initialize with its latest', async () => {
    const response = await post(
      rpc('initialize', {
        protocolVersion: '1999-01-01',
        capabilities: {},
        clientInfo: { name: 't', version: '1' },
      }),
    );
    expect(response.json().result.protocolVersion).toBe('2025-11-25');
  });

  it('lists the six built-in tools with JSON Schemas', async () => {
    const { result } = (await post(rpc('tools/list'))).json();
    const names = result.tools.map((tool: { name: string }) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'whoami',
        'calculate_sum',
        'get_server_info',
        'save_user_note',
        'get_user_notes',
        'delete_user_note',
      ]),
    );
    const sum = result.tools.find((tool: { name: string }) => tool.name === 'calculate_sum');
    expect(sum.inputSchema).toMatchObject({
      type: 'object',
      required: ['numbers'],
      properties: { numbers: { type: 'array', items: { type: 'number' } } },
    });
    expect(sum.outputSchema).toMatchObject({ type: 'object', properties: { sum: { type: 'number' } } });
  });

  it('calls calculate_sum statelessly (no session) and returns text and structured content', async () => {
    const response = await post(callTool('calculate_sum', { numbers: [1, 2, 3] }));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    expect(response.json().result).toEqual({
      content: [{ type: 'text', text: '6' }],
      structuredContent: { sum: 6 },
    });
  });

  it('answers ping', async () => {
    expect((await post(rpc('ping'))).json().result).toEqual({});
  });

  describe('bad input (JSON-RPC 2.0 §5.1)', () => {
    it('malformed JSON → 400 with -32700', async () => {
      const response = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, data: { code: 'GH_MCP_PARSE_ERROR' } },
      });
    });

    it('empty body → -32700', async () => {
      expect((await post('')).json().error.code).toBe(-32700);
    });

    it('invalid request → 400 with -32600 saying what is wrong', async () => {
      for (const [payload, reason] of [
        [{ jsonrpc: '1.0', id: 1, method: 'ping' }, '"jsonrpc" member must be exactly "2.0"'],
        [{ jsonrpc: '2.0', id: 1, method: 5 }, '"method" member must be a non-empty string'],
        [{ jsonrpc: '2.0', id: null, method: 'ping' }, 'MCP forbids null ids'],
        [{ jsonrpc: '2.0', id: 1, method: 'ping', params: [1] }, '"params" member must be an object'],
        [[], 'an empty batch'],
        ['"text"', 'must be a JSON object'],
      ] as const) {
        const response = await post(typeof payload === 'string' ? payload : JSON.stringify(payload));
        expect(response.statusCode).toBe(400);
        expect(response.json().error.code).toBe(-32600);
        expect(response.json().error.message).toContain(reason);
      }
    });

    it('unknown method → -32601 naming the method', async () => {
      const body = (await post(rpc('sampling/createMessage'))).json();
      expect(body.error).toMatchObject({ code: -32601, data: { code: 'GH_MCP_METHOD_NOT_FOUND' } });
      expect(body.error.message).toContain("'sampling/createMessage'");
    });

    it('unknown tool → -32602 naming the tool', async () => {
      const body = (await post(callTool('no_such_tool', {}))).json();
      expect(body.error).toMatchObject({ code: -32602, data: { code: 'GH_TOOL_UNKNOWN' } });
      expect(body.error.message).toContain("'no_such_tool'");
    });

    it('bad arguments → a tool error naming each wrong argument, and nothing saved', async () => {
      const before = await noteCount();
      const cases = [
        [callTool('calculate_sum', { numbers: 'one' }), "'numbers': expected array, received string"],
        [callTool('calculate_sum', { numbers: [1, 'x'] }), "'numbers[1]': expected number, received string"],
        [callTool('calculate_sum', {}), "'numbers': expected array, received undefined"],
        [callTool('calculate_sum', { numbers: [1], extra: true }), "unknown argument 'extra'"],
        [callTool('save_user_note', { note: '   ' }), "'note': a note cannot be empty"],
        [callTool('save_user_note', { note: 42 }), "'note': expected string, received number"],
        [callTool('delete_user_note', { id: 'not-a-uuid' }), "'id': must be a note id"],
      ] as const;
      for (const [payload, text] of cases) {
        const { result } = (await post(payload)).json();
        expect(result.isError).toBe(true);
        expect(result._meta['io.gatehouse/error-code']).toBe('GH_TOOL_INVALID_ARGUMENTS');
        expect(result.content[0].text).toContain(text);
      }
      expect(await noteCount()).toBe(before);
    });

    it('arguments that are not an object → -32602', async () => {
      const body = (await post(rpc('tools/call', { name: 'calculate_sum', arguments: [1, 2] }))).json();
      expect(body.error).toMatchObject({ code: -32602, data: { code: 'GH_MCP_INVALID_PARAMS' } });
    });

    it('oversized body → 413, and nothing saved', async () => {
      const before = await noteCount();
      const response = await post(callTool('save_user_note', { note: 'x'.repeat(1024 * 1024 + 10) }));
      expect(response.statusCode).toBe(413);
      expect(response.json().error.data.code).toBe('GH_HTTP_BODY_TOO_LARGE');
      expect(await noteCount()).toBe(before);
    });

    it('non-JSON content type → 415', async () => {
      const response = await post('numbers=1', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(response.statusCode).toBe(415);
      expect(response.json().error.data.code).toBe('GH_MCP_UNSUPPORTED_MEDIA_TYPE');
    });

    it('an Accept header allowing neither JSON nor SSE → 406', async () => {
      const response = await post(rpc('ping'), { accept: 'text/html' });
      expect(response.statusCode).toBe(406);
    });

    it('PUT → 405 with Allow', async () => {
      const response = await t.app.inject({
        method: 'PUT',
        url: '/mcp',
        headers: MCP_HEADERS,
        payload: '{}',
      });
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe('GET, POST, DELETE');
    });
  });

  describe('DNS-rebinding protection (MCP transport: Security Warning)', () => {
    it('refuses a foreign Origin with 403, before running anything', async () => {
      const before = await noteCount();
      const response = await post(callTool('save_user_note', { note: 'from evil' }), {
        origin: 'https://evil.example',
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().error.data.code).toBe('GH_MCP_ORIGIN_FORBIDDEN');
      expect(response.json().error.message).toContain('MCP_ALLOWED_ORIGINS');
      expect(await noteCount()).toBe(before);
    });

    it('refuses Origin: null', async () => {
      expect((await post(rpc('ping'), { origin: 'null' })).statusCode).toBe(403);
    });

    it('allows loopback origins and no Origin at all', async () => {
      expect((await post(rpc('ping'), { origin: 'http://localhost:6274' })).statusCode).toBe(200);
      expect((await post(rpc('ping'), { origin: 'http://127.0.0.1:8000' })).statusCode).toBe(200);
      expect((await post(rpc('ping'))).statusCode).toBe(200);
    });

    it('refuses a rebound Host name on a loopback bind', async () => {
      const response = await post(rpc('ping'), { host: 'attacker.example:8000' });
      // The front door refuses it before the endpoint (src/http/front-door.ts).
      expect(response.statusCode).toBe(421);
      expect(response.json().error.code).toBe(-32600);
      expect(response.json().error.data.code).toBe('GH_HTTP_MISDIRECTED');
      expect(response.json().error.message).toContain("Host 'attacker.example:8000'");
    });

    it('allows origins listed in MCP_ALLOWED_ORIGINS, with a port wildcard', async () => {
      const other = await createTestApp({ MCP_ALLOWED_ORIGINS: 'https://app.example.com, http://devbox:*' });
      try {
        const send = (origin: string) =>
          other.app.inject({
            method: 'POST',
            url: '/mcp',
            headers: { ...MCP_HEADERS, origin },
            payload: JSON.stringify(rpc('ping')),
          });
        expect((await send('https://app.example.com')).statusCode).toBe(200);
        expect((await send('http://devbox:3000')).statusCode).toBe(200);
        expect((await send('https://app.example.com.evil.net')).statusCode).toBe(403);
      } finally {
        await other.close();
      }
    });
  });

  describe('MCP-Protocol-Version header', () => {
    it('accepts supported versions', async () => {
      for (const version of ['2025-11-25', '2025-06-18', '2025-03-26']) {
        expect((await post(rpc('ping'), { 'mcp-protocol-version': version })).statusCode).toBe(200);
      }
    });

    it('refuses an unsupported one with 400 listing the supported ones', async () => {
      const response = await post(rpc('ping'), { 'mcp-protocol-version': '2030-01-01' });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.message).toContain('2025-11-25');
    });
  });

  describe('sessions', () => {
    async function openSession(): Promise<string> {
      const response = await post(
        rpc('initialize', {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'test', version: '1' },
        }),
      );
      return response.headers['mcp-session-id'] as string;
    }

    it('serves requests in a session, and DELETE ends it (then 404)', async () => {
      const id = await openSession();
      expect((await post(rpc('ping'), { 'mcp-session-id': id })).statusCode).toBe(200);
      const ended = await t.app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': id } });
      expect(ended.statusCode).toBe(204);
      const after = await post(rpc('ping'), { 'mcp-session-id': id });
      expect(after.statusCode).toBe(404);
      expect(after.json().error).toMatchObject({ code: -32001, data: { code: 'GH_MCP_SESSION_NOT_FOUND' } });
    });

    it('answers an unknown session id with 404', async () => {
      expect(
        (await post(rpc('ping'), { 'mcp-session-id': '6f1c2b8e-0000-4000-8000-000000000000' })).statusCode,
      ).toBe(404);
      expect((await post(rpc('ping'), { 'mcp-session-id': 'garbage' })).statusCode).toBe(404);
    });

    it('keeps sessions in storage, so a second instance on the same database serves them', async () => {
      const id = await openSession();
      expect(await t.stores.ephemeral.get(`mcp-session:${id}`)).toContain('"protocolVersion":"2025-11-25"');
    });

    it('DELETE without a session id → 400', async () => {
      const response = await t.app.inject({ method: 'DELETE', url: '/mcp' });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.data.code).toBe('GH_MCP_SESSION_REQUIRED');
    });

    it('GET without a session → 405; with Accept not allowing SSE → 406', async () => {
      const noSession = await t.app.inject({
        method: 'GET',
        url: '/mcp',
        headers: { accept: 'text/event-stream' },
      });
      expect(noSession.statusCode).toBe(405);
      expect(noSession.headers.allow).toBe('POST, DELETE');
      const wrongAccept = await t.app.inject({
        method: 'GET',
        url: '/mcp',
        headers: { accept: 'application/json' },
      });
      expect(wrongAccept.statusCode).toBe(406);
    });

    it('notifications/cancelled aborts the named in-flight request of the session', async () => {
      const id = await openSession();
      const call = {
        jsonrpc: '2.0',
        id: 'slow-1',
        method: 'tools/call',
        params: { name: 'wait_for_cancel', arguments: {} },
      };
      const pending = post(call, { 'mcp-session-id': id });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const cancel = await post(
        {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: 'slow-1', reason: 'user pressed stop' },
        },
        { 'mcp-session-id': id },
      );
      expect(cancel.statusCode).toBe(202);
      expect((await pending).json().result.content[0].text).toBe('cancelled: user pressed stop');
    });

    it('initialize inside a batch is refused', async () => {
      const response = await post([
        rpc('initialize', {
          protocolVersion: '2025-03-26',
          capabilities: {},
          clientInfo: { name: 't', version: '1' },
        }),
        rpc('ping'),
      ]);
      expect(response.statusCode).toBe(400);
    });
  });

  describe('response modes', () => {
    it('answers with SSE when the client accepts only text/event-stream', async () => {
      const response = await post(callTool('calculate_sum', { numbers: [2, 2] }), {
        accept: 'text/event-stream',
      });
      expect(response.headers['content-type']).toBe('text/event-stream');
      expect(parseSse(response.body)).toEqual([
        expect.objectContaining({ result: expect.objectContaining({ structuredContent: { sum: 4 } }) }),
      ]);
    });

    it('streams progress notifications before the result when a progress token is sent', async () => {
      const message = rpc('tools/call', {
        name: 'count_to',
        arguments: { n: 3 },
        _meta: { progressToken: 'p1' },
      });
      const events = parseSse((await post(message)).body) as Array<{
        method?: string;
        params?: { progress: number };
        result?: unknown;
      }>;
      expect(events.map((event) => event.method ?? 'result')).toEqual([
        'notifications/progress',
        'notifications/progress',
        'notifications/progress',
        'result',
      ]);
      expect(events[2]!.params).toMatchObject({
        progressToken: 'p1',
        progress: 3,
        total: 3,
        message: 'step 3',
      });
    });

    it('answers a batch with an array, invalid members included', async () => {
      const response = await post([
        rpc('ping'),
        { jsonrpc: '2.0', id: 77 },
        callTool('calculate_sum', { numbers: [5] }),
      ]);
      const body = response.json();
      expect(body).toHaveLength(3);
      expect(body.find((item: { id: number }) => item.id === 77).error.code).toBe(-32600);
    });

    it('acknowledges notifications with 202 and no body', async () => {
      const response = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
      expect(response.statusCode).toBe(202);
      expect(response.body).toBe('');
    });
  });

  it('serves the alias /mcp/http', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/mcp/http',
      headers: MCP_HEADERS,
      payload: JSON.stringify(callTool('calculate_sum', { numbers: [1, 1] })),
    });
    expect(response.json().result.structuredContent).toEqual({ sum: 2 });
  });
});

describe('MCP_SESSION_MODE=stateless', () => {
  it('creates no session and refuses DELETE with 405', async () => {
    const t = await createTestApp({ MCP_SESSION_MODE: 'stateless' });
    try {
      const init = await t.app.inject({
        method: 'POST',
        url: '/mcp',
        headers: MCP_HEADERS,
        payload: JSON.stringify(
          rpc('initialize', {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          }),
        ),
      });
      expect(init.statusCode).toBe(200);
      expect(init.headers['mcp-session-id']).toBeUndefined();
      expect(
        (await t.app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': 'x' } }))
          .statusCode,
      ).toBe(405);
    } finally {
      await t.close();
    }
  });
});
