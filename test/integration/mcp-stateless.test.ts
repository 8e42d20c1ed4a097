import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';

// MCP 2026-07-28 on Gatehouse's own endpoint (development mode, a real listener): the stateless
// era beside the handshake era on the same URL. Spec: basic/transports (Streamable HTTP, standard
// headers), server/discover, basic/versioning (UnsupportedProtocolVersionError), utilities/caching.

const VERSION = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientInfo': { name: 'stateless-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** The headers a 2026-07-28 client sends for `method` (and `name`, for tools/call and the like). */
function headersFor(method: string, name?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': VERSION,
    'mcp-method': method,
    ...(name === undefined ? {} : { 'mcp-name': name }),
  };
}

function request(id: number | string, method: string, params: Record<string, unknown> = {}) {
  return {
    jsonrpc: '2.0',
    id,
    method,
    params: { ...params, _meta: { ...ENVELOPE, ...(params._meta ?? {}) } },
  };
}

describe('MCP 2026-07-28 (stateless) on /mcp', () => {
  let gatehouse: RunningGatehouse;
  let dataDir: string;
  let url: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-stateless-'));
    const config = loadConfig({
      env: { PORT: '0', GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', HTTP_BODY_LIMIT: '65536' },
    });
    gatehouse = await startGatehouse(config, { logger: createLogger(config) });
    url = `${gatehouse.url}/mcp`;
  });
  afterAll(async () => {
    await gatehouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function post(body: unknown, headers: Record<string, string>) {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      json: text === '' ? undefined : JSON.parse(text),
    };
  }

  describe('serves requests without a session', () => {
    it('answers server/discover with capabilities, serverInfo and the supported versions', async () => {
      const { status, headers, json } = await post(
        request('d1', 'server/discover'),
        headersFor('server/discover'),
      );
      expect(status).toBe(200);
      expect(headers.get('mcp-session-id')).toBeNull();
      expect(json.id).toBe('d1');
      expect(json.result).toMatchObject({
        resultType: 'complete',
        supportedVersions: [
          '2026-07-28',
          '2025-11-25',
          '2025-06-18',
          '2025-03-26',
          '2024-11-05',
          '2024-10-07',
        ],
        capabilities: { tools: {} },
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'gatehouse' } },
        cacheScope: 'public',
      });
      expect(Number.isInteger(json.result.ttlMs)).toBe(true);
    });

    it('calls a tool, with the result written for the 2026 wire', async () => {
      const { status, json } = await post(
        request(7, 'tools/call', { name: 'calculate_sum', arguments: { numbers: [2, 3] } }),
        headersFor('tools/call', 'calculate_sum'),
      );
      expect(status).toBe(200);
      expect(json).toMatchObject({
        id: 7,
        result: {
          resultType: 'complete',
          structuredContent: { sum: 5 },
          _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'gatehouse' } },
        },
      });
    });

    it('puts ttlMs and cacheScope on tools/list (private: the list is filtered by the caller roles), in the same order every time', async () => {
      const lists = [];
      for (const id of [1, 2, 3]) {
        const { status, json } = await post(request(id, 'tools/list'), headersFor('tools/list'));
        expect(status).toBe(200);
        expect(json.result.cacheScope).toBe('private');
        expect(Number.isInteger(json.result.ttlMs) && json.result.ttlMs >= 0).toBe(true);
        lists.push(json.result.tools.map((tool: { name: string }) => tool.name));
      }
      expect(lists[0].length).toBeGreaterThan(0);
      expect(lists[1]).toEqual(lists[0]);
      expect(lists[2]).toEqual(lists[0]);
    });

    it('ignores a session id: nothing is looked up, nothing is minted', async () => {
      const { status, headers, json } = await post(
        request(8, 'tools/call', { name: 'calculate_sum', arguments: { numbers: [1] } }),
        {
          ...headersFor('tools/call', 'calculate_sum'),
          'mcp-session-id': '00000000-0000-0000-0000-000000000000',
        },
      );
      // The handshake era would answer an unknown session with 404.
      expect(status).toBe(200);
      expect(json.result.structuredContent).toEqual({ sum: 1 });
      expect(headers.get('mcp-session-id')).toBeNull();
    });

    it('accepts an Mcp-Name sent in the Base64 form', async () => {
      const { status, json } = await post(
        request(9, 'tools/call', { name: 'whoami', arguments: {} }),
        headersFor('tools/call', `=?base64?${Buffer.from('whoami').toString('base64')}?=`),
      );
      expect(status).toBe(200);
      expect(json.result.structuredContent).toMatchObject({ authKind: 'development' });
    });

    it('accepts trace context and a log level in _meta', async () => {
      const { status, json } = await post(
        request(10, 'tools/list', {
          _meta: {
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
            'io.modelcontextprotocol/logLevel': 'info',
          },
        }),
        headersFor('tools/list'),
      );
      expect(status).toBe(200);
      expect(json.result.tools.length).toBeGreaterThan(0);
    });

    it('declares a capability for every kind of list it answers (discover is what a client relies on)', async () => {
      const { json } = await post(request('d2', 'server/discover'), headersFor('server/discover'));
      const listed = await post(request('p1', 'prompts/list'), headersFor('prompts/list'));
      expect(listed.status).toBe(200);
      expect(listed.json.result).toMatchObject({ cacheScope: 'private' });
      expect((listed.json.result.prompts as { name: string }[]).map((prompt) => prompt.name)).toEqual([
        'summarize_notes',
        'review_note',
        'add_numbers',
      ]);
      expect(json.result.capabilities.prompts).toBeDefined();
      expect(json.result.capabilities.resources).toBeDefined();
      // No subscriptions/listen stream yet: no list-change or subscription promises.
      expect(json.result.capabilities.tools.listChanged).toBeUndefined();
      expect(json.result.capabilities.resources.subscribe).toBeUndefined();
    });

    it('answers a resource that does not exist with -32602 naming the URI (SEP-2164)', async () => {
      const uri = 'test://nowhere';
      const { status, json } = await post(
        request(11, 'resources/read', { uri }),
        headersFor('resources/read', uri),
      );
      expect(status).toBe(200);
      expect(json).toMatchObject({ id: 11, error: { code: -32602, data: { uri } } });
    });

    it('answers a notification with 202', async () => {
      const { status } = await post(
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
        headersFor('notifications/cancelled'),
      );
      expect(status).toBe(202);
    });
  });

  describe('refuses bad input with the spec error, keeping the request id', () => {
    it('a missing Mcp-Method header: 400, -32020', async () => {
      const { 'mcp-method': _omitted, ...headers } = headersFor('tools/list');
      const { status, json } = await post(request(21, 'tools/list'), headers);
      expect(status).toBe(400);
      expect(json).toMatchObject({
        id: 21,
        error: { code: -32020, data: { code: 'GH_MCP_HEADER_MISMATCH' } },
      });
      expect(json.error.message).toContain('Mcp-Method');
    });

    it('an Mcp-Method header naming another method: 400, -32020', async () => {
      const { status, json } = await post(request(22, 'tools/list'), headersFor('tools/call'));
      expect(status).toBe(400);
      expect(json).toMatchObject({
        id: 22,
        error: { code: -32020, data: { mismatch: { header: 'tools/call', body: 'tools/list' } } },
      });
    });

    it('an Mcp-Name header naming another tool: 400, -32020', async () => {
      const { status, json } = await post(
        request(23, 'tools/call', { name: 'calculate_sum', arguments: { numbers: [1] } }),
        headersFor('tools/call', 'whoami'),
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: 23, error: { code: -32020 } });
      expect(json.error.message).toContain('Mcp-Name');
    });

    it('a missing Mcp-Name header on tools/call: 400, -32020', async () => {
      const { status, json } = await post(
        request(24, 'tools/call', { name: 'calculate_sum', arguments: { numbers: [1] } }),
        headersFor('tools/call'),
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: 24, error: { code: -32020 } });
    });

    it('no version in _meta under a 2026-07-28 header: 400, -32602 naming what is missing', async () => {
      const { status, json } = await post(
        {
          jsonrpc: '2.0',
          id: 25,
          method: 'tools/list',
          params: { _meta: { 'io.modelcontextprotocol/clientCapabilities': {} } },
        },
        headersFor('tools/list'),
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({
        id: 25,
        error: { code: -32602, data: { envelope: { missing: ['io.modelcontextprotocol/protocolVersion'] } } },
      });
    });

    it('no _meta at all: 400, -32602', async () => {
      const { status, json } = await post(
        { jsonrpc: '2.0', id: 26, method: 'tools/list' },
        headersFor('tools/list'),
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({
        id: 26,
        error: { code: -32602, data: { envelope: { missing: ['_meta'] } } },
      });
    });

    it('no clientCapabilities in _meta: 400, -32602', async () => {
      const { status, json } = await post(
        {
          jsonrpc: '2.0',
          id: 27,
          method: 'server/discover',
          params: { _meta: { 'io.modelcontextprotocol/protocolVersion': VERSION } },
        },
        headersFor('server/discover'),
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: 27, error: { code: -32602 } });
    });

    it('the header and _meta naming different versions: 400, -32020', async () => {
      const { status, json } = await post(
        request(28, 'tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': '2027-01-01' } }),
        headersFor('tools/list'),
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: 28, error: { code: -32020 } });
    });

    it('a 2025 header with a 2026-07-28 _meta: 400, -32020 (the body claims the new era)', async () => {
      const { status, json } = await post(request(29, 'tools/list'), {
        ...headersFor('tools/list'),
        'mcp-protocol-version': '2025-11-25',
      });
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: 29, error: { code: -32020 } });
    });

    it('_meta without the MCP-Protocol-Version header: 400, -32020', async () => {
      const { 'mcp-protocol-version': _omitted, ...headers } = headersFor('tools/list');
      const { status, json } = await post(request(30, 'tools/list'), headers);
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: 30, error: { code: -32020 } });
    });

    it('an unsupported version: 400, -32022 listing the supported ones and echoing the requested one', async () => {
      const { status, json } = await post(
        request(31, 'server/discover', {
          _meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
        }),
        { ...headersFor('server/discover'), 'mcp-protocol-version': '2099-01-01' },
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({
        id: 31,
        error: {
          code: -32022,
          data: { requested: '2099-01-01', supported: expect.arrayContaining(['2026-07-28', '2025-11-25']) },
        },
      });
    });

    it('an unknown method: 404, -32601', async () => {
      const { status, json } = await post(request(32, 'unknown/method'), headersFor('unknown/method'));
      expect(status).toBe(404);
      expect(json).toMatchObject({ id: 32, error: { code: -32601 } });
    });

    it.each(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe'])(
      'a method the 2026-07-28 revision removed (%s): 404, -32601',
      async (method) => {
        const { status, json } = await post(request(33, method), headersFor(method));
        expect(status).toBe(404);
        expect(json).toMatchObject({ id: 33, error: { code: -32601 } });
      },
    );

    it('initialize without _meta under a 2026-07-28 header: 400, -32020', async () => {
      const { status, json } = await post(
        {
          jsonrpc: '2.0',
          id: 34,
          method: 'initialize',
          params: {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        },
        headersFor('initialize'),
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: 34, error: { code: -32020 } });
    });

    it('a batch: 400, -32600', async () => {
      const { status, json } = await post(
        [request(35, 'tools/list'), request(36, 'tools/list')],
        headersFor('tools/list'),
      );
      expect(status).toBe(400);
      expect(json).toMatchObject({
        id: null,
        error: { code: -32600, data: { code: 'GH_MCP_BATCH_UNSUPPORTED' } },
      });
    });

    it('a posted response: 400, -32600', async () => {
      const { status, json } = await post({ jsonrpc: '2.0', id: 37, result: {} }, headersFor('tools/list'));
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: 37, error: { code: -32600 } });
    });

    it('an oversized body: 413 with a JSON-RPC error', async () => {
      const { status, json } = await post(
        request(38, 'tools/call', { name: 'save_user_note', arguments: { note: 'x'.repeat(70_000) } }),
        headersFor('tools/call', 'save_user_note'),
      );
      expect(status).toBe(413);
      expect(json).toMatchObject({
        jsonrpc: '2.0',
        error: { code: -32600, data: { code: 'GH_HTTP_BODY_TOO_LARGE' } },
      });
    });

    it('invalid JSON: 400, -32700', async () => {
      const { status, json } = await post('{"jsonrpc": "2.0", "id": 39,', headersFor('tools/list'));
      expect(status).toBe(400);
      expect(json).toMatchObject({ id: null, error: { code: -32700 } });
    });

    it.each(['GET', 'DELETE'])('%s: 405 with Allow: POST', async (method) => {
      const response = await fetch(url, {
        method,
        headers: { accept: 'text/event-stream', 'mcp-protocol-version': VERSION },
      });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(await response.json()).toMatchObject({
        error: { code: -32000, data: { code: 'GH_MCP_STATELESS_METHOD_NOT_ALLOWED' } },
      });
    });
  });

  it('keeps the handshake era on the same URL: initialize opens a session, ping answers in it', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    expect(init.status).toBe(200);
    const session = init.headers.get('mcp-session-id');
    expect(session).toMatch(/^[0-9a-f-]{36}$/);
    const initialized = (await init.json()) as { result: Record<string, unknown> };
    expect(initialized.result.protocolVersion).toBe('2025-11-25');
    expect(initialized.result.resultType).toBeUndefined();
    const list = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-protocol-version': '2025-11-25', 'mcp-session-id': session! },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    const listed = (await list.json()) as { result: Record<string, unknown> };
    expect(listed.result.tools).toBeDefined();
    expect(listed.result.ttlMs).toBeUndefined();
    expect(listed.result.cacheScope).toBeUndefined();
  });
});
