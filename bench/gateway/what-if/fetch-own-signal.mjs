// What-if (bench only, loaded with `node --import`): every fetch gets a signal of its own,
// AbortSignal.any([signal]), instead of the Streamable HTTP transport's one long-lived signal.
// undici then adds its per-request 'abort' listener to that short-lived signal, not to the
// transport's, so listeners no longer pile up between garbage collections. In Gatehouse this
// would be the `fetch` option of StreamableHTTPClientTransport (src/gateway/upstream/transports.ts).
const original = globalThis.fetch;
globalThis.fetch = (input, init) =>
  original(input, init?.signal ? { ...init, signal: AbortSignal.any([init.signal]) } : init);
