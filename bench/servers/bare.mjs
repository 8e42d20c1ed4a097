// The floor: a bare node:http server answering tools/call calculate_sum with the same JSON-RPC
// response Gatehouse gives, with no framework, validation or MCP machinery.
import http from 'node:http';

const port = Number(process.env.PORT ?? 0);
const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    const message = JSON.parse(body);
    let sum = 0;
    for (const n of message.params.arguments.numbers) sum += n;
    const payload = JSON.stringify({
      jsonrpc: '2.0',
      id: message.id,
      result: { content: [{ type: 'text', text: String(sum) }], structuredContent: { sum } },
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(payload);
  });
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
