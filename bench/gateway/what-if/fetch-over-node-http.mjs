// What-if (bench only, loaded with `node --import`): POSTs to an `/mcp` URL over plain node:http
// with a keep-alive agent instead of undici's fetch. JSON answers are buffered into a Response,
// SSE answers streamed; the signal goes to http.request, which drops its listener when the request
// ends. In Gatehouse this would be the `fetch` option of StreamableHTTPClientTransport.
import http from 'node:http';
import { Readable } from 'node:stream';

const agent = new http.Agent({ keepAlive: true });
const original = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const target = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (target.protocol !== 'http:' || !target.pathname.endsWith('/mcp') || init.method !== 'POST')
    return original(input, init);
  return new Promise((resolve, reject) => {
    const headers = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    if (init.body != null) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
        headers,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        const responseHeaders = new Headers();
        for (const [key, value] of Object.entries(res.headers))
          for (const each of Array.isArray(value) ? value : [value]) responseHeaders.append(key, each);
        const options = { status: res.statusCode, statusText: res.statusMessage, headers: responseHeaders };
        if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          resolve(new Response(Readable.toWeb(res), options));
          return;
        }
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve(
            new Response(
              res.statusCode === 202 || res.statusCode === 204 ? null : Buffer.concat(chunks),
              options,
            ),
          ),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body ?? undefined);
  });
};
