import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-sdk-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function start(env: Record<string, string> = {}): Promise<RunningGatehouse> {
  const config = loadConfig({ env: { PORT: '0', GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env } });
  return startGatehouse(config, { logger: createLogger(config) });
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'gatehouse-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

describe('the official MCP SDK client against a running Gatehouse (development mode)', () => {
  it('initializes, lists the tools, sums, and keeps a note across a restart', async () => {
    let server = await start();
    let client = await connect(server.url);
    try {
      expect(client.getServerVersion()?.name).toBe('gatehouse');
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(
        [
          'calculate_sum',
          'delete_user_note',
          'get_server_info',
          'get_user_notes',
          'save_user_note',
          'whoami',
          'get_graph_user_details',
          'get_user_profile',
          // The gateway's registry tools: the development user is an administrator.
          'list_servers',
          'get_server_health',
          'proxy_request',
          'register_server',
          'delete_server',
        ].sort(),
      );

      const sum = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [1, 2, 3] } });
      expect(sum.structuredContent).toEqual({ sum: 6 });
      expect(sum.content).toEqual([{ type: 'text', text: '6' }]);

      const who = await client.callTool({ name: 'whoami', arguments: {} });
      expect(who.structuredContent).toMatchObject({ name: 'Development User', authKind: 'development' });

      const info = await client.callTool({ name: 'get_server_info', arguments: {} });
      expect(info.structuredContent).toMatchObject({
        name: 'gatehouse',
        storage: { durable: 'sqlite', ephemeral: 'sqlite' },
        authMode: 'development',
      });

      const saved = await client.callTool({
        name: 'save_user_note',
        arguments: { note: 'remember the milk' },
      });
      const noteId = (saved.structuredContent as { id: string }).id;
      expect(noteId).toMatch(/^[0-9a-f-]{36}$/);

      await client.close();
      await server.close();

      server = await start();
      client = await connect(server.url);
      const notes = await client.callTool({ name: 'get_user_notes', arguments: {} });
      expect(
        (notes.structuredContent as { notes: Array<{ id: string; note: string }> }).notes,
      ).toContainEqual(expect.objectContaining({ id: noteId, note: 'remember the milk' }));

      const deleted = await client.callTool({ name: 'delete_user_note', arguments: { id: noteId } });
      expect(deleted.isError).toBeFalsy();
      const again = await client.callTool({ name: 'delete_user_note', arguments: { id: noteId } });
      expect(again.isError).toBe(true);
      expect((again.content as Array<{ text: string }>)[0]!.text).toContain('No note with id');
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('works with SSE responses (MCP_RESPONSE_MODE=sse) and ends its session on close', async () => {
    const server = await start({ MCP_RESPONSE_MODE: 'sse' });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`));
    const client = new Client({ name: 'gatehouse-test', version: '1.0.0' });
    try {
      await client.connect(transport);
      const sessionId = transport.sessionId;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      const sum = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [10, 20, 12] } });
      expect(sum.structuredContent).toEqual({ sum: 42 });
      await transport.terminateSession();
      expect(await server.stores.ephemeral.get(`mcp-session:${sessionId}`)).toBeUndefined();
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('reports a bad argument as a tool error the client can read', async () => {
    const server = await start();
    const client = await connect(server.url);
    try {
      const result = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [1, 'two'] } });
      expect(result.isError).toBe(true);
      expect((result.content as Array<{ text: string }>)[0]!.text).toContain(
        "'numbers[1]': expected number, received string",
      );
    } finally {
      await client.close();
      await server.close();
    }
  });
});
