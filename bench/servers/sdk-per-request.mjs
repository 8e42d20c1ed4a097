// The MCP SDK's stateless pattern as its examples show it: a new McpServer and transport for every
// request, on plain node:http (the faster of the SDK's two hosting options).
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function buildServer() {
  const server = new McpServer({ name: 'sdk-bench', version: '1.0.0' });
  server.registerTool(
    'calculate_sum',
    {
      description: 'Adds numbers',
      inputSchema: { numbers: z.array(z.number()) },
      outputSchema: { sum: z.number() },
    },
    async ({ numbers }) => {
      const sum = numbers.reduce((a, b) => a + b, 0);
      return { content: [{ type: 'text', text: String(sum) }], structuredContent: { sum } };
    },
  );
  return server;
}

const port = Number(process.env.PORT ?? 0);
const httpServer = http.createServer(async (req, res) => {
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
