// What-if (bench only, loaded with `node --import`): the floor of forwarding. A `tools/call` on a
// 2025-era Streamable HTTP connection skips the SDK client's request path (Protocol bookkeeping,
// Headers, fetch, zod parsing of the JSON-RPC message) and goes out as one node:http POST on a
// keep-alive agent, its JSON answer relayed. Everything else (connect, lists, pings) still goes
// through the SDK. Only for measuring: no SSE answers, no progress, no cancellation.
import http from 'node:http';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const agent = new http.Agent({ keepAlive: true });
const original = Client.prototype.request;
let nextId = 1_000_000;
Client.prototype.request = function request(message, schema, options) {
  const transport = this.transport;
  if (
    message.method !== 'tools/call' ||
    !(transport instanceof StreamableHTTPClientTransport) ||
    options?.onprogress
  )
    return original.call(this, message, schema, options);
  const url = transport._url;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: nextId++,
    method: message.method,
    params: message.params,
  });
  const headers = {
    ...transport._requestInit?.headers,
    ...options?.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'content-length': String(Buffer.byteLength(body)),
    ...(transport._protocolVersion ? { 'mcp-protocol-version': transport._protocolVersion } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          try {
            const answer = JSON.parse(text);
            if (answer.error)
              reject(new ProtocolError(answer.error.code, answer.error.message, answer.error.data));
            else resolve(answer.result);
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
};
