import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  type GatewayFixture,
  startGatewayFixture,
  startTestUpstream,
  TEST_UPSTREAM,
  type TestUpstream,
} from '../helpers/gateway-fixture.js';
import { freePort } from '../helpers/ports.js';
import { createTestDatabase } from '../helpers/services.js';

// The gateway on a bad day: upstreams that are down at start, die mid-call, answer too slowly,
// exit (stdio), flap, or hang. Each case ends with a clear JSON-RPC error naming the server, and
// in every case tools/list at /mcp still answers with everything else.
describe.each(['sqlite', 'postgres'] as const)('gateway faults (%s)', (backend) => {
  let f: GatewayFixture;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let steady: TestUpstream;
  let flaky: TestUpstream;
  let doomed: TestUpstream;
  let hung: TestUpstream;

  beforeAll(async () => {
    [steady, flaky, doomed, hung] = await Promise.all([
      startTestUpstream(),
      startTestUpstream(),
      startTestUpstream(),
      startTestUpstream(),
    ]);
    await hung.behave('hang');
    database = backend === 'postgres' ? await createTestDatabase() : undefined;
    const quickChecks = { healthCheck: { intervalMs: 1000, timeoutMs: 500, unhealthyAfter: 1 } };
    f = await startGatewayFixture(
      {
        steady: { url: steady.url, timeoutMs: 800 },
        down: { url: `http://127.0.0.1:${await freePort()}/mcp`, ...quickChecks },
        flaky: {
          url: flaky.url,
          circuitBreaker: { failureThreshold: 3, openMs: 400 },
          healthCheck: { intervalMs: 600_000 },
        },
        doomed: { url: doomed.url, timeoutMs: 60_000 },
        hung: { url: hung.url, connectTimeoutMs: 60_000, timeoutMs: 60_000 },
        local: { command: process.execPath, args: [TEST_UPSTREAM, '--stdio'], startup: 'eager' },
      },
      { GATEHOUSE_GATEWAY_LIST_WAIT: '300', ...(database ? { DATABASE_URL: database.url } : {}) },
    );
    expect(f.gatehouse.stores.durable.backend).toBe(backend);
  }, 30_000);
  afterAll(async () => {
    await f?.close();
    await Promise.all([steady, flaky, doomed, hung].map((upstream) => upstream?.close({ kill: true })));
    await database?.drop();
  });

  async function call(name: string, args: Record<string, unknown> = {}) {
    return (await f.rpc('tools/call', { name, arguments: args })).body;
  }

  /** tools/list answers, with the built-in tools and the steady upstream's, whatever else is wrong. */
  async function listStillWorks() {
    await eventually(async () => (await f.toolNames()).includes('steady__echo'));
    const names = await f.toolNames();
    expect(names).toContain('whoami');
    expect(names).toContain('steady__echo');
    return names;
  }

  it('an upstream down at start: Gatehouse starts, leaves its tools out, reports it unhealthy, and refuses its calls clearly', async () => {
    const names = await listStillWorks();
    expect(names.some((name) => name.startsWith('down__'))).toBe(false);
    const refused = await call('down__echo', { message: 'x' });
    expect(refused.error).toMatchObject({ code: -32031, data: { code: 'GH_GATEWAY_UPSTREAM_UNAVAILABLE' } });
    expect(refused.error.message).toContain("'down'");
    await eventually(async () => {
      const health = (await (await fetch(`${f.gatehouse.url}/api/servers/down/health`)).json()) as any;
      return health.status === 'unhealthy' && health.checks.lastError !== null;
    });
  });

  it('a hung upstream never holds tools/list: its tools are left out after the list wait', async () => {
    const names = await listStillWorks();
    expect(names.some((name) => name.startsWith('hung__'))).toBe(false);
  });

  it('an upstream killed mid-call: the call ends with a clear error, not a hang and not the 60 s timeout', async () => {
    expect((await call('doomed__echo', { message: 'before' })).result.content[0].text).toBe('echo: before');
    const pending = call('doomed__slow', { ms: 30_000 });
    await eventually(async () => (await doomed.recorded()).some((request) => request.method === 'POST'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await doomed.close({ kill: true });
    const answer = await pending;
    expect(answer.error).toMatchObject({ code: -32031, data: { code: 'GH_GATEWAY_UPSTREAM_UNAVAILABLE' } });
    expect(answer.error.message).toContain("'doomed'");
    await listStillWorks();
    const forwarded = f.audit.events.filter(
      (event) =>
        event.type === 'gateway.forward' && event.server === 'doomed' && event.name === 'doomed__slow',
    );
    expect(forwarded).toMatchObject([{ outcome: 'GH_GATEWAY_UPSTREAM_UNAVAILABLE' }]);
  });

  it('a slow upstream: the call ends at the server timeout with its own code', async () => {
    const answer = await call('steady__slow', { ms: 5_000 });
    expect(answer.error).toMatchObject({ code: -32032, data: { code: 'GH_GATEWAY_UPSTREAM_TIMEOUT' } });
    expect(answer.error.message).toContain('800 ms');
    expect((await call('steady__echo', { message: 'after' })).result.content[0].text).toBe('echo: after');
  });

  it('a stdio server that exits is restarted and its tools come back', async () => {
    await eventually(async () => (await f.toolNames()).includes('local__echo'));
    const died = await call('local__die');
    expect(died.error).toMatchObject({ data: { code: 'GH_GATEWAY_UPSTREAM_UNAVAILABLE' } });
    await eventually(
      async () => (await call('local__echo', { message: 'again' })).result?.content[0].text === 'echo: again',
    );
    await eventually(async () => (await f.toolNames()).includes('local__echo'));
  });

  it("a caller's cancellation reaches the upstream, and the caller's request is answered as cancelled", async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const initialize = await fetch(f.mcpUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'canceller', version: '1' },
        },
      }),
    });
    const session = { ...headers, 'mcp-session-id': initialize.headers.get('mcp-session-id') ?? '' };
    const before = (await flaky.recorded()).length;
    const pending = fetch(f.mcpUrl, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 99,
        method: 'tools/call',
        params: { name: 'flaky__slow', arguments: { ms: 20_000 } },
      }),
    }).then((response) => response.json() as Promise<any>);
    await eventually(async () =>
      (await flaky.recorded()).slice(before).some((request) => request.rpc === 'tools/call'),
    );
    const cancelled = await fetch(f.mcpUrl, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: 99, reason: 'user' },
      }),
    });
    expect(cancelled.status).toBe(202);
    expect(await pending).toMatchObject({
      id: 99,
      error: { code: -32800, data: { code: 'GH_MCP_REQUEST_CANCELLED' } },
    });
    // The upstream was told which of its requests to stop.
    await eventually(async () => {
      const recorded = (await flaky.recorded()).slice(before);
      const call = recorded.find((request) => request.rpc === 'tools/call');
      return recorded.some(
        (request) =>
          request.rpc === 'notifications/cancelled' &&
          call !== undefined &&
          request.params?.requestId === call.id,
      );
    });
  });

  it('a flapping upstream: the circuit opens after repeated failures, refuses at once, then recovers', async () => {
    expect((await call('flaky__echo', { message: 'one' })).result.content[0].text).toBe('echo: one');
    await flaky.behave('fail');
    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await call('flaky__echo', { message: 'x' })).error.data.code).toBe(
        'GH_GATEWAY_UPSTREAM_UNAVAILABLE',
      );
    }
    const before = (await flaky.recorded()).length;
    const open = await call('flaky__echo', { message: 'x' });
    expect(open.error).toMatchObject({ code: -32033, data: { code: 'GH_GATEWAY_CIRCUIT_OPEN' } });
    expect(open.error.message).toMatch(/'flaky'.*until \d{4}-\d\d-\d\dT/);
    // Refused without a request to the upstream.
    expect((await flaky.recorded()).length).toBe(before);
    const health = (await (await fetch(`${f.gatehouse.url}/api/servers/flaky/health`)).json()) as any;
    expect(health.circuit).toMatchObject({ state: 'open', consecutiveFailures: 3 });

    await flaky.behave('ok');
    await eventually(
      async () => (await call('flaky__echo', { message: 'back' })).result?.content[0].text === 'echo: back',
    );
    const recovered = (await (await fetch(`${f.gatehouse.url}/api/servers/flaky/health`)).json()) as any;
    expect(recovered.circuit.state).toBe('closed');
    await listStillWorks();
  });
});
