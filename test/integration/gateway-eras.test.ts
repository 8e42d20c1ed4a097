import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningConformanceUpstream,
  startConformanceUpstream,
} from '../fixtures/conformance-upstream/server.js';
import {
  BACKENDS,
  eventually,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/gateway-fixture.js';
import { type RunningUpstream, startEverything } from '../helpers/upstreams.js';

// Toward upstreams the gateway speaks whatever each speaks: the stateless 2026-07-28 revision
// (server/discover), the handshake era (initialize, sessions), and the legacy HTTP+SSE transport.
describe.each(BACKENDS)('upstreams of every protocol era behind one gateway (%s)', (backend) => {
  let modern: RunningConformanceUpstream;
  let handshake: RunningUpstream;
  let legacySse: RunningUpstream;
  let f: GatewayFixture;

  beforeAll(async () => {
    [modern, handshake, legacySse] = await Promise.all([
      startConformanceUpstream({}),
      startEverything('streamableHttp'),
      startEverything('sse'),
    ]);
    f = await startGatewayFixture(
      {
        modern: { url: modern.url },
        handshake: { url: handshake.url },
        legacy: { type: 'sse', url: legacySse.url },
      },
      { GATEHOUSE_GATEWAY_LIST_WAIT: '10000' },
      {},
      backend,
    );
    expect(f.gatehouse.stores.durable.backend).toBe(backend);
  }, 30_000);
  afterAll(async () => {
    await f?.close();
    await Promise.all([modern?.close(), handshake?.close(), legacySse?.close()]);
  });

  async function health(server: string) {
    return (await (await fetch(`${f.gatehouse.url}/api/servers/${server}/health`)).json()) as {
      connected: boolean;
      protocolVersion: string | null;
    };
  }

  it.each([
    ['modern', '2026-07-28', 'modern__test_simple_text', {}, 'This is a simple text response for testing.'],
    ['handshake', '2025-11-25', 'handshake__echo', { message: 'hi' }, 'Echo: hi'],
    ['legacy', '2025-11-25', 'legacy__echo', { message: 'hi' }, 'Echo: hi'],
  ])('%s: negotiated %s, listed and called through /mcp', async (server, version, tool, args, text) => {
    await eventually(async () => (await f.toolNames()).includes(tool));
    const { body } = await f.rpc('tools/call', { name: tool, arguments: args });
    expect(body.result.content[0].text).toBe(text);
    expect(await health(server)).toMatchObject({ connected: true, protocolVersion: version });
  });
});

describe('an upstream that restarts and forgets its sessions', () => {
  let upstream: RunningUpstream;
  let f: GatewayFixture;
  beforeAll(async () => {
    upstream = await startEverything('streamableHttp');
    f = await startGatewayFixture(
      { restarting: { url: upstream.url } },
      { GATEHOUSE_GATEWAY_LIST_WAIT: '10000' },
    );
  }, 30_000);
  afterAll(async () => {
    await f?.close();
    await upstream?.close();
  });

  it('is reconnected (new session) on its 404, and the call succeeds', async () => {
    const call = () => f.rpc('tools/call', { name: 'restarting__echo', arguments: { message: 'hi' } });
    expect((await call()).body.result.content[0].text).toBe('Echo: hi');
    const port = upstream.port;
    await upstream.close();
    upstream = await startEverything('streamableHttp', port);
    // server-everything answers the old session id with 400 (the spec says 404): both reconnect.
    expect((await call()).body.result.content[0].text).toBe('Echo: hi');
  });
});
