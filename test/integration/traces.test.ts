import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATELESS_PROTOCOL_VERSION } from '../../src/mcp/protocol.js';
import { MCP_JSON_HEADERS } from '../helpers/auth-fixture.js';
import {
  type GatewayFixture,
  startGatewayFixture,
  startTestUpstream,
  type TestUpstream,
} from '../helpers/gateway-fixture.js';

// Traces exported over OTLP/HTTP to a receiver in this test (the exporter posts JSON to
// /v1/traces): the server span of a tools/call continues the trace the client named in
// params._meta.traceparent, carries the MCP semantic-convention attributes, and the call relayed to
// an upstream is a client span under it whose context the upstream receives.

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
  status?: { code?: number };
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

let receiver: Server;
let receiverUrl: string;
const spans: OtlpSpan[] = [];
const contentTypes: string[] = [];
let resourceAttributes: OtlpAttribute[] = [];

let upstream: TestUpstream;
let f: GatewayFixture | undefined;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        contentTypes.push(String(request.headers['content-type']));
        const parsed = JSON.parse(body) as {
          resourceSpans: {
            resource: { attributes: OtlpAttribute[] };
            scopeSpans: { spans: OtlpSpan[] }[];
          }[];
        };
        for (const resource of parsed.resourceSpans) {
          resourceAttributes = resource.resource.attributes;
          for (const scope of resource.scopeSpans) spans.push(...scope.spans);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  upstream = await startTestUpstream();
});
afterAll(async () => {
  await f?.close();
  await upstream?.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

function attributesOf(span: OtlpSpan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of span.attributes)
    out[key] = value.stringValue ?? (value.intValue === undefined ? value.boolValue : Number(value.intValue));
  return out;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

describe('OpenTelemetry traces', () => {
  it('exports a server span continuing _meta.traceparent and a client span for the relayed call', async () => {
    f = await startGatewayFixture(
      { up: { url: upstream.url } },
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_SERVICE_NAME: 'gatehouse-trace-test' },
    );
    const traceId = hex(16);
    const parentSpanId = hex(8);
    const otherTrace = hex(16);

    // A built-in tool, 2026-07-28: the trace context travels in _meta (and a different one in the header, which loses).
    const builtIn = await fetch(f.mcpUrl, {
      method: 'POST',
      headers: {
        ...MCP_JSON_HEADERS,
        'mcp-protocol-version': STATELESS_PROTOCOL_VERSION,
        'mcp-method': 'tools/call',
        'mcp-name': 'calculate_sum',
        traceparent: `00-${otherTrace}-${hex(8)}-01`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'sum-1',
        method: 'tools/call',
        params: {
          name: 'calculate_sum',
          arguments: { numbers: [1, 2] },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': STATELESS_PROTOCOL_VERSION,
            'io.modelcontextprotocol/clientCapabilities': {},
            traceparent: `00-${traceId}-${parentSpanId}-01`,
            tracestate: 'vendor=abc',
          },
        },
      }),
    });
    expect(builtIn.status).toBe(200);
    expect(((await builtIn.json()) as { result: { isError?: boolean } }).result.isError).toBeFalsy();

    // A relayed tool (handshake era, no session), its context in the HTTP traceparent header only.
    const relayTrace = hex(16);
    const relayParent = hex(8);
    const relayed = await fetch(f.mcpUrl, {
      method: 'POST',
      headers: { ...MCP_JSON_HEADERS, traceparent: `00-${relayTrace}-${relayParent}-01` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'up__echo', arguments: { message: 'hi' } },
      }),
    });
    expect(relayed.status).toBe(200);

    // Closing flushes the batch of spans to the receiver.
    await f.close();
    f = undefined;

    expect(contentTypes.every((type) => type.startsWith('application/json'))).toBe(true);
    expect(resourceAttributes.find((a) => a.key === 'service.name')?.value.stringValue).toBe(
      'gatehouse-trace-test',
    );

    const sum = spans.find((span) => span.name === 'tools/call calculate_sum');
    expect(sum).toBeDefined();
    expect(sum!.traceId).toBe(traceId);
    expect(sum!.parentSpanId).toBe(parentSpanId);
    expect(sum!.kind).toBe(SPAN_KIND_SERVER);
    expect(attributesOf(sum!)).toMatchObject({
      'mcp.method.name': 'tools/call',
      'mcp.protocol.version': STATELESS_PROTOCOL_VERSION,
      'jsonrpc.request.id': 'sum-1',
      'gen_ai.tool.name': 'calculate_sum',
      'gen_ai.operation.name': 'execute_tool',
      'network.transport': 'tcp',
      'client.address': '127.0.0.1',
    });
    expect(attributesOf(sum!)['error.type']).toBeUndefined();

    const server = spans.find((span) => span.name === 'tools/call up__echo');
    const client = spans.find((span) => span.name === 'tools/call echo');
    expect(server).toBeDefined();
    expect(client).toBeDefined();
    expect(server!.traceId).toBe(relayTrace);
    expect(server!.parentSpanId).toBe(relayParent);
    expect(client!.kind).toBe(SPAN_KIND_CLIENT);
    expect(client!.traceId).toBe(relayTrace);
    expect(client!.parentSpanId).toBe(server!.spanId);
    expect(attributesOf(client!)).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'echo',
      'server.address': '127.0.0.1',
      'gatehouse.upstream.server': 'up',
    });
    expect(attributesOf(server!)['jsonrpc.request.id']).toBe('7');

    // The upstream got the client span's context, in the header and in _meta.
    const call = (await upstream.recorded()).find(
      (request) => request.rpc === 'tools/call' && request.params?.name === 'echo',
    );
    expect(call).toBeDefined();
    const sent = `00-${relayTrace}-${client!.spanId}-01`;
    expect(call!.headers.traceparent).toBe(sent);
    expect(call!.params._meta.traceparent).toBe(sent);
  });

  it('marks a failed request with error.type', async () => {
    spans.length = 0;
    f = await startGatewayFixture({}, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiverUrl}/v1/traces` });
    const traceId = hex(16);
    const response = await fetch(f.mcpUrl, {
      method: 'POST',
      headers: MCP_JSON_HEADERS,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'no_such_tool', _meta: { traceparent: `00-${traceId}-${hex(8)}-01` } },
      }),
    });
    const body = (await response.json()) as { error: { code: number } };
    await f.close();
    f = undefined;
    const span = spans.find((candidate) => candidate.traceId === traceId);
    expect(span).toBeDefined();
    expect(attributesOf(span!)['error.type']).toBe(String(body.error.code));
    expect(span!.status?.code).toBe(2);
  });
});
