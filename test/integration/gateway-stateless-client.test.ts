import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningConformanceUpstream,
  startConformanceUpstream,
} from '../fixtures/conformance-upstream/server.js';
import { eventually, type GatewayFixture, startGatewayFixture } from '../helpers/gateway-fixture.js';
import { type RunningUpstream, startEverything } from '../helpers/upstreams.js';

// A 2026-07-28 client in front of the gateway: the MCP SDK v2 client pinned to the stateless
// revision uses /mcp and each server's /mcp/{server}, whatever era the upstream behind it speaks.
describe('a 2026-07-28 client through the gateway, to upstreams of either era', () => {
  let modern: RunningConformanceUpstream;
  let handshake: RunningUpstream;
  let f: GatewayFixture;

  beforeAll(async () => {
    [modern, handshake] = await Promise.all([
      startConformanceUpstream({}),
      startEverything('streamableHttp'),
    ]);
    f = await startGatewayFixture(
      { modern: { url: modern.url }, handshake: { url: handshake.url } },
      { GATEHOUSE_GATEWAY_LIST_WAIT: '10000' },
    );
    await eventually(async () => {
      const names = await f.toolNames();
      return names.includes('modern__test_simple_text') && names.includes('handshake__echo');
    });
  }, 30_000);
  afterAll(async () => {
    await f?.close();
    await Promise.all([modern?.close(), handshake?.close()]);
  });

  async function connect(path: string): Promise<Client> {
    const client = new Client(
      { name: 'gatehouse-stateless-gateway', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(`${f.gatehouse.url}${path}`)));
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    return client;
  }

  it('/mcp: lists and calls a tool of each upstream', async () => {
    const client = await connect('/mcp');
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(
        expect.arrayContaining(['modern__test_simple_text', 'handshake__echo', 'whoami']),
      );
      const simple = await client.callTool({ name: 'modern__test_simple_text', arguments: {} });
      expect(simple.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
      const echo = await client.callTool({ name: 'handshake__echo', arguments: { message: 'hi' } });
      expect(echo.content).toEqual([{ type: 'text', text: 'Echo: hi' }]);
    } finally {
      await client.close();
    }
  });

  it.each([
    ['/mcp/modern', 'test_simple_text', {}, 'This is a simple text response for testing.'],
    ['/mcp/handshake', 'echo', { message: 'hi' }, 'Echo: hi'],
  ])('%s: the server under its own names', async (path, tool, args, text) => {
    const client = await connect(path);
    try {
      expect((await client.listTools()).tools.map((listed) => listed.name)).toContain(tool);
      const result = await client.callTool({ name: tool, arguments: args });
      expect(result.content).toEqual([{ type: 'text', text }]);
    } finally {
      await client.close();
    }
  });
});
