import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATELESS_PROTOCOL_VERSION } from '../../src/mcp/protocol.js';
import { MCP_JSON_HEADERS } from '../helpers/auth-fixture.js';
import {
  type GatewayFixture,
  startGatewayFixture,
  startTestUpstream,
  type TestUpstream,
} from '../helpers/gateway-fixture.js';

// The gateway's series: a relayed tools/call in the tool latency histogram under its server, every
// relayed request in the upstream histogram, and each upstream's health and circuit as gauges.

const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnopqrstuvwxyz';

let upstream: TestUpstream;
let f: GatewayFixture;

beforeAll(async () => {
  upstream = await startTestUpstream();
  f = await startGatewayFixture({ up: { url: upstream.url } }, { METRICS_TOKEN });
});
afterAll(async () => {
  await f?.close();
  await upstream?.close();
});

async function scrape(): Promise<string> {
  const response = await fetch(`${f.gatehouse.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return response.text();
}

function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n'))
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return undefined;
}

describe('gateway metrics', () => {
  it('times relayed tool calls by tool, server and outcome, and shows upstream health', async () => {
    const ok = await f.rpc('tools/call', { name: 'up__echo', arguments: { message: 'hi' } });
    expect(ok.body.result.isError).toBeFalsy();
    await upstream.behave('fail');
    const failed = await f.rpc('tools/call', { name: 'up__echo', arguments: { message: 'hi' } });
    expect(failed.body.error).toBeDefined();
    const code = failed.body.error.data.code as string;
    await upstream.behave('ok');
    const discover = await fetch(f.mcpUrl, {
      method: 'POST',
      headers: {
        ...MCP_JSON_HEADERS,
        'mcp-protocol-version': STATELESS_PROTOCOL_VERSION,
        'mcp-method': 'server/discover',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'server/discover',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': STATELESS_PROTOCOL_VERSION,
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    });
    expect(discover.status).toBe(200);

    const text = await scrape();
    expect(
      value(text, 'gatehouse_tool_call_duration_seconds_count{tool="up__echo",server="up",outcome="ok"}'),
    ).toBe(1);
    expect(
      value(
        text,
        `gatehouse_tool_call_duration_seconds_count{tool="up__echo",server="up",outcome="${code}"}`,
      ),
    ).toBe(1);
    expect(
      value(
        text,
        'gatehouse_upstream_request_duration_seconds_count{server="up",method="tools/call",outcome="ok"}',
      ),
    ).toBe(1);
    expect(value(text, 'gatehouse_mcp_requests_total{method="tools/call",outcome="ok"}')).toBe(1);
    expect(value(text, 'gatehouse_mcp_requests_total{method="tools/call",outcome="error"}')).toBe(1);
    expect(value(text, 'gatehouse_mcp_requests_total{method="server/discover",outcome="ok"}')).toBe(1);
    expect(value(text, 'gatehouse_upstream_circuit_open{server="up"}')).toBe(0);
    expect([0, 1]).toContain(value(text, 'gatehouse_upstream_up{server="up"}'));
    const statuses = ['unknown', 'healthy', 'unhealthy'].map((status) =>
      value(text, `gatehouse_upstream_health{server="up",status="${status}"}`),
    );
    expect(statuses.reduce((sum, one) => (sum ?? 0) + (one ?? 0), 0)).toBe(1);
    // Process metrics are collected only when /metrics is served.
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });
});
