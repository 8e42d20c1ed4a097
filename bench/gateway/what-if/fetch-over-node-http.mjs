// What-if (bench only, loaded with `node --import`): POSTs to an `/mcp` URL over plain node:http
// with a keep-alive agent instead of undici's fetch. JSON answers are buffered into a Response,
// SSE answers streamed; the signal goes to http.request, which drops its listener when the request
// ends. In Gatehouse this would be the `fetch` option of StreamableHTTPClientTransport.
import { nodeHttpFetch } from '../node-http-fetch.mjs';

const { fetchImpl } = nodeHttpFetch();
const original = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const target = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (target.protocol !== 'http:' || !target.pathname.endsWith('/mcp') || init.method !== 'POST')
    return original(input, init);
  return fetchImpl(input, init);
};
