import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningConformanceUpstream,
  startConformanceUpstream,
} from '../fixtures/conformance-upstream/server.js';
import { LegacySseStream, postMessage } from '../helpers/legacy-sse.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

// The legacy HTTP+SSE transport (MCP 2024-11-05 "Transports") with the gateway behind it: the
// routes beside /mcp/{server}, and everything that travels on the stream besides responses —
// progress, log messages and an upstream's sampling request, answered by the client on POST.
describe('legacy HTTP+SSE transport', () => {
  let upstream: RunningConformanceUpstream;
  let t: TestApp;
  let base: string;
  let configDir: string;

  beforeAll(async () => {
    upstream = await startConformanceUpstream({});
    configDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-legacy-sse-'));
    const configFile = path.join(configDir, 'gatehouse.json');
    writeFileSync(configFile, JSON.stringify({ mcpServers: { fixture: { url: upstream.url } } }));
    t = await createTestApp({ GATEHOUSE_CONFIG_FILE: configFile }, { multiUser: true });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  async function connect(user: string): Promise<Client> {
    const client = new Client({ name: user, version: '1.0.0' }, { capabilities: { sampling: {} } });
    await client.connect(
      new SSEClientTransport(new URL(`${base}/sse`), { requestInit: { headers: { 'x-test-user': user } } }),
    );
    return client;
  }

  it('serves /mcp/sse and /mcp/messages ahead of the gateway route /mcp/{server}', async () => {
    const stream = await LegacySseStream.open(`${base}/mcp/sse`);
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toBe('text/event-stream');
      const endpoint = await stream.endpoint();
      expect(endpoint).toMatch(new RegExp(`^${base}/mcp/messages\\?sessionId=[0-9a-f-]{36}$`));
      expect((await postMessage(endpoint, { jsonrpc: '2.0', id: 'p', method: 'ping' })).status).toBe(202);
      expect(await stream.message()).toEqual({ jsonrpc: '2.0', id: 'p', result: {} });
    } finally {
      stream.close();
    }
  });

  it('answers the wrong method on each route with 405 and the allowed one', async () => {
    for (const url of ['/sse', '/mcp/sse']) {
      const response = await postMessage(`${base}${url}`, { jsonrpc: '2.0', id: 1, method: 'ping' });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET');
      expect(response.json?.error.data.code).toBe('GH_MCP_METHOD_NOT_ALLOWED');
    }
    for (const url of ['/messages', '/mcp/messages']) {
      const response = await fetch(`${base}${url}`);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    }
  });

  it('lists the upstream tools, and sends progress on the stream ahead of the response', async () => {
    const client = await connect('alice');
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['whoami', 'fixture__test_tool_with_progress']));
    } finally {
      await client.close();
    }
    // Read on the raw stream: the SDK client drops a progress notification that arrives in the same
    // chunk as the response (it removes the handler when the response comes).
    const stream = await LegacySseStream.open(`${base}/sse`, { 'x-test-user': 'alice' });
    try {
      const endpoint = await stream.endpoint();
      const call = {
        jsonrpc: '2.0',
        id: 'with-progress',
        method: 'tools/call',
        params: { name: 'fixture__test_tool_with_progress', arguments: {}, _meta: { progressToken: 'p-1' } },
      };
      expect((await postMessage(endpoint, call, { 'x-test-user': 'alice' })).status).toBe(202);
      const seen = [
        await stream.message(),
        await stream.message(),
        await stream.message(),
        await stream.message(),
      ];
      expect(seen.slice(0, 3)).toEqual(
        [0, 50, 100].map((progress) => ({
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: {
            progressToken: 'p-1',
            progress,
            total: 100,
            message: `Completed step ${progress} of 100`,
          },
        })),
      );
      expect(seen[3]).toMatchObject({ id: 'with-progress', result: { content: [{ type: 'text' }] } });
    } finally {
      stream.close();
    }
  });

  it('relays log messages at the level the client set', async () => {
    const client = await connect('alice');
    const logged: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logged.push(String(notification.params.data));
    });
    try {
      await client.setLoggingLevel('info');
      await client.callTool({ name: 'fixture__test_tool_with_logging', arguments: {} });
      expect(logged).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
    } finally {
      await client.close();
    }
  });

  it("relays an upstream's sampling request to the client and its answer back", async () => {
    const client = await connect('alice');
    const prompts: string[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      const content = request.params.messages[0]?.content as { type: string; text?: string };
      prompts.push(content.text ?? '');
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'forty-two' } };
    });
    try {
      const result = await client.callTool({
        name: 'fixture__test_sampling',
        arguments: { prompt: 'the answer?' },
      });
      expect(prompts).toEqual(['the answer?']);
      expect((result.content as Array<{ text: string }>)[0]!.text).toBe('LLM response: forty-two');
    } finally {
      await client.close();
    }
  });
});
