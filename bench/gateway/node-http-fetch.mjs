// A `fetch` built on node:http with a keep-alive agent, for bench experiments on the SDK client's
// transport: JSON answers are buffered into a Response, SSE answers streamed. The signal goes to
// http.request, which removes its listener when the request ends.
import http from 'node:http';
import { Readable } from 'node:stream';

export function nodeHttpFetch() {
  const agent = new http.Agent({ keepAlive: true });
  const fetchImpl = (input, init = {}) =>
    new Promise((resolve, reject) => {
      const target = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
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
          method: init.method ?? 'GET',
          headers,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const responseHeaders = new Headers();
          for (const [key, value] of Object.entries(res.headers))
            for (const each of Array.isArray(value) ? value : [value]) responseHeaders.append(key, each);
          const status = res.statusCode;
          const options = { status, statusText: res.statusMessage, headers: responseHeaders };
          if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
            resolve(new Response(Readable.toWeb(res), options));
            return;
          }
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () =>
            resolve(new Response(status === 202 || status === 204 ? null : Buffer.concat(chunks), options)),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(init.body ?? undefined);
    });
  return { fetchImpl, agent };
}
