import {
  type Attributes,
  type Context,
  createTraceState,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { JsonRpcId, JsonRpcResponse } from '../mcp/jsonrpc.js';

/**
 * OpenTelemetry traces of MCP requests, following the semantic conventions for MCP
 * (docs/operations.md#traces): a SERVER span per request Gatehouse answers, continuing the W3C
 * trace context the client sent in `params._meta` (or, failing that, in the HTTP traceparent
 * header), and a CLIENT span per request relayed to an upstream, whose context goes upstream in
 * `params._meta` and the traceparent header. Built only when an OTLP endpoint is configured; with
 * tracing off, the request path checks one `undefined`.
 */

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = '00000000000000000000000000000000';
const INVALID_SPAN = '0000000000000000';

export interface TracingSettings {
  url: string;
  headers: Readonly<Record<string, string>>;
  serviceName: string;
}

/** What the endpoint knows about one MCP request when its span starts. */
export interface RequestFacts {
  method: string;
  params: Record<string, unknown> | undefined;
  id: JsonRpcId;
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  /** The HTTP traceparent/tracestate headers, used when `params._meta` carries none. */
  traceparent: string | undefined;
  tracestate: string | undefined;
  clientAddress: string;
  clientPort: number | undefined;
  httpVersion: string;
}

/** The server span of one MCP request. */
export interface RequestSpan {
  /** Starts the CLIENT span of a request relayed to an upstream, as a child of this one. */
  startUpstream(call: UpstreamCall): UpstreamSpan;
  end(response: JsonRpcResponse): void;
}

export interface UpstreamCall {
  server: string;
  method: string;
  /** The params sent upstream (tool or prompt name, resource URI). */
  params: Record<string, unknown>;
  /** The upstream's URL, for a remote one. */
  url: string | undefined;
  protocolVersion: string | undefined;
}

export interface UpstreamSpan {
  /** The W3C trace context to send upstream (in `params._meta` and the traceparent header). */
  readonly traceparent: string;
  readonly tracestate: string | undefined;
  /** outcome: 'ok', 'tool-error', 'upstream-error' or a GH_ code, as in the gateway.forward audit event. */
  end(outcome: string, rpcCode?: number): void;
}

export interface Tracing {
  startRequest(facts: RequestFacts): RequestSpan;
  /** Exports what is pending and stops. */
  shutdown(): Promise<void>;
}

export function createTracing(settings: TracingSettings, version: string, exporter?: SpanExporter): Tracing {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': version }),
    spanProcessors: [
      new BatchSpanProcessor(
        exporter ?? new OTLPTraceExporter({ url: settings.url, headers: { ...settings.headers } }),
      ),
    ],
  });
  // The provider is not registered globally: several Gatehouses in one process keep their own.
  const tracer = provider.getTracer('gatehouse', version);
  return {
    startRequest: (facts) => startRequest(tracer, facts),
    shutdown: () => provider.shutdown(),
  };
}

function startRequest(tracer: Tracer, facts: RequestFacts): RequestSpan {
  const meta = facts.params?._meta as Record<string, unknown> | undefined;
  const metaParent = typeof meta?.traceparent === 'string' ? meta.traceparent : undefined;
  const parent =
    (metaParent === undefined
      ? undefined
      : remoteParent(metaParent, typeof meta?.tracestate === 'string' ? meta.tracestate : undefined)) ??
    (facts.traceparent === undefined ? undefined : remoteParent(facts.traceparent, facts.tracestate)) ??
    ROOT_CONTEXT;
  const target = targetOf(facts.method, facts.params);
  const attributes: Attributes = {
    'mcp.method.name': facts.method,
    'jsonrpc.request.id': String(facts.id),
    'network.transport': 'tcp',
    'network.protocol.name': 'http',
    'network.protocol.version': facts.httpVersion,
    'client.address': facts.clientAddress,
    ...methodAttributes(facts.method, facts.params),
  };
  if (facts.clientPort !== undefined) attributes['client.port'] = facts.clientPort;
  if (facts.sessionId !== undefined) attributes['mcp.session.id'] = facts.sessionId;
  if (facts.protocolVersion !== undefined) attributes['mcp.protocol.version'] = facts.protocolVersion;
  const span = tracer.startSpan(
    target === undefined ? facts.method : `${facts.method} ${target}`,
    { kind: SpanKind.SERVER, attributes },
    parent,
  );
  const context = trace.setSpan(ROOT_CONTEXT, span);
  return {
    startUpstream: (call) => startUpstream(tracer, context, call),
    end(response) {
      if ('error' in response) {
        const code = String(response.error.code);
        span.setAttributes({ 'error.type': code, 'rpc.response.status_code': code });
        span.setStatus({ code: SpanStatusCode.ERROR, message: response.error.message });
      } else if ((response.result as { isError?: unknown } | undefined)?.isError === true) {
        span.setAttribute('error.type', 'tool_error');
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

function startUpstream(tracer: Tracer, parent: Context, call: UpstreamCall): UpstreamSpan {
  const target = targetOf(call.method, call.params);
  const attributes: Attributes = {
    'mcp.method.name': call.method,
    'gatehouse.upstream.server': call.server,
    ...methodAttributes(call.method, call.params),
  };
  if (call.protocolVersion !== undefined) attributes['mcp.protocol.version'] = call.protocolVersion;
  if (call.url === undefined) attributes['network.transport'] = 'pipe';
  else {
    const url = new URL(call.url);
    attributes['server.address'] = url.hostname;
    attributes['server.port'] = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    attributes['network.transport'] = 'tcp';
    attributes['network.protocol.name'] = 'http';
  }
  const span: Span = tracer.startSpan(
    target === undefined ? call.method : `${call.method} ${target}`,
    { kind: SpanKind.CLIENT, attributes },
    parent,
  );
  const context = span.spanContext();
  return {
    traceparent: `00-${context.traceId}-${context.spanId}-${context.traceFlags.toString(16).padStart(2, '0')}`,
    tracestate: context.traceState?.serialize() || undefined,
    end(outcome, rpcCode) {
      if (outcome === 'tool-error') {
        span.setAttribute('error.type', 'tool_error');
        span.setStatus({ code: SpanStatusCode.ERROR });
      } else if (outcome !== 'ok') {
        const type = rpcCode === undefined ? outcome : String(rpcCode);
        span.setAttribute('error.type', type);
        if (rpcCode !== undefined) span.setAttribute('rpc.response.status_code', String(rpcCode));
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      }
      span.end();
    },
  };
}

/** The low-cardinality target of a span name: the tool or prompt name, when the method has one. */
function targetOf(method: string, params: Record<string, unknown> | undefined): string | undefined {
  if (method !== 'tools/call' && method !== 'prompts/get') return undefined;
  const name = params?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function methodAttributes(method: string, params: Record<string, unknown> | undefined): Attributes {
  const name = params?.name;
  switch (method) {
    case 'tools/call':
      return typeof name === 'string'
        ? { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name }
        : { 'gen_ai.operation.name': 'execute_tool' };
    case 'prompts/get':
      return typeof name === 'string' ? { 'gen_ai.prompt.name': name } : {};
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return typeof params?.uri === 'string' ? { 'mcp.resource.uri': params.uri } : {};
    default:
      return {};
  }
}

/** The remote parent a W3C traceparent names; undefined when it is malformed (a new trace starts). */
function remoteParent(traceparent: string, tracestate: string | undefined): Context | undefined {
  const match = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (match === null || match[1] === 'ff') return undefined;
  const traceId = match[2] as string;
  const spanId = match[3] as string;
  if (traceId === INVALID_TRACE || spanId === INVALID_SPAN) return undefined;
  let traceState: ReturnType<typeof createTraceState> | undefined;
  if (tracestate !== undefined) {
    try {
      traceState = createTraceState(tracestate);
    } catch {
      traceState = undefined;
    }
  }
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId,
    traceFlags: Number.parseInt(match[4] as string, 16) & 1,
    isRemote: true,
    ...(traceState === undefined ? {} : { traceState }),
  });
}
