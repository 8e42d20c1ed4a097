// A minimal MCP server on bare node:http: the cheapest upstream a gateway can forward to. It
// speaks the 2025-era Streamable HTTP protocol statelessly (no Mcp-Session-Id is issued or
// required) and always answers in JSON, never SSE:
//   initialize                 -> the client's protocolVersion if supported, else 2025-11-25
//   notifications/* (no id)    -> 202, empty body
//   ping                       -> {}
//   tools/list                 -> one tool, `echo`
//   tools/call echo            -> {content: [{type: 'text', text: <message>}]}
//   server/discover (2026 era) -> JSON-RPC -32601, so a 2.x SDK client's era probe falls back to
//                                 initialize at once (the 2025-era answer the spec prescribes)
//   anything else              -> -32601
// GET (the standalone SSE stream) and DELETE (session end) get 405, as a stateless server answers.
import http from 'node:http';

const SUPPORTED = new Set(['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']);
const ECHO = {
  name: 'echo',
  description: 'Returns its message',
  inputSchema: {
    type: 'object',
    properties: { message: { type: 'string' } },
    required: ['message'],
  },
};

function answer(message) {
  const { method, params } = message;
  switch (method) {
    case 'initialize':
      return {
        result: {
          protocolVersion: SUPPORTED.has(params?.protocolVersion) ? params.protocolVersion : '2025-11-25',
          capabilities: { tools: {} },
          serverInfo: { name: 'bare-mcp-upstream', version: '1.0.0' },
        },
      };
    case 'ping':
      return { result: {} };
    case 'tools/list':
      return { result: { tools: [ECHO] } };
    case 'tools/call':
      if (params?.name === 'echo' && typeof params.arguments?.message === 'string')
        return { result: { content: [{ type: 'text', text: params.arguments.message }] } };
      return { error: { code: -32602, message: `Unknown tool or bad arguments: ${params?.name}` } };
    default:
      return { error: { code: -32601, message: `Method not found: ${method}` } };
  }
}

const port = Number(process.env.PORT ?? 0);
const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    let message;
    try {
      message = JSON.parse(body);
    } catch {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}');
      return;
    }
    if (message.id === undefined) {
      // A notification (notifications/initialized, notifications/cancelled, …): accepted.
      res.writeHead(202).end();
      return;
    }
    const payload = JSON.stringify({ jsonrpc: '2.0', id: message.id, ...answer(message) });
    res.writeHead(200, { 'content-type': 'application/json' }).end(payload);
  });
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
