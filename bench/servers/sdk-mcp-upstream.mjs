// The MCP SDK's stateless pattern as its examples show it, serving the `echo` tool the bare
// upstream serves: a new McpServer and transport for every POST, on plain node:http, JSON
// responses (as bench/servers/sdk-per-request.mjs). As in the SDK's stateless example, GET (the
// standalone SSE stream) and DELETE (session end) are answered 405. The SDK answers a 2.x
// client's `server/discover` probe with an error itself, so the client falls back to initialize.
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function buildServer() {
  const server = new McpServer({ name: 'sdk-mcp-upstream', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Returns its message', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  return server;
}

const port = Number(process.env.PORT ?? 0);
const httpServer = http.createServer(async (req, res) => {
  if (req.method !== 'POST') {
    res
      .writeHead(405, { 'content-type': 'application/json', allow: 'POST' })
      .end('{"jsonrpc":"2.0","error":{"code":-32000,"message":"Method not allowed."},"id":null}');
    return;
  }
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
});
httpServer.listen(port, '127.0.0.1', () => console.log(`listening ${httpServer.address().port}`));
process.on('SIGTERM', () => httpServer.close(() => process.exit(0)));
