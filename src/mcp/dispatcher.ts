import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { GatewaySurface } from '../gateway/surface.js';
import { type Relay, UpstreamRpcError } from '../gateway/upstream/connection.js';
import type { Caller } from '../identity/caller.js';
import type { McpObserver } from '../ops/metrics.js';
import type { RequestSpan } from '../ops/tracing.js';
import type { BuiltInSurface } from './built-in-surface.js';
import { contentHandlers } from './content-handlers.js';
import {
  failure,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  success,
} from './jsonrpc.js';
import { negotiateProtocolVersion } from './protocol.js';
import type { ToolServices } from './tool.js';
import type { ToolAccess } from './tool-access.js';
import type { ToolRegistry } from './tool-registry.js';

export interface RequestContext {
  readonly caller: Caller;
  readonly requestId: string;
  readonly signal: AbortSignal;
  /** Present when the response is an SSE stream and the request carried a progress token. */
  readonly sendProgress: ((progress: number, total?: number, message?: string) => void) | undefined;
  /** The client's session, when it has one. */
  readonly sessionId?: string | undefined;
  /** The level the session asked for with logging/setLevel. */
  readonly logLevel?: string | undefined;
  /** When the response is a stream: how an upstream's requests and notifications reach the client. */
  readonly relay?: Relay | undefined;
  /** Whether the client cancelled the request (without creating a signal to find out). */
  readonly signalled?: () => boolean;
  /**
   * A 2026-07-28 request: its own `_meta` envelope (the caller's protocol version and client
   * capabilities) and the Mcp-Param-* headers it came with, which an upstream of the same revision
   * receives as the caller sent them.
   */
  readonly stateless?: StatelessEnvelope | undefined;
  /** The request's server span, when traces are exported: relayed calls start their span under it. */
  readonly trace?: RequestSpan | undefined;
}

export interface StatelessEnvelope {
  readonly meta: Readonly<Record<string, unknown>>;
  /** Mcp-Param-* headers, names in lower case. */
  readonly paramHeaders: Readonly<Record<string, string>>;
}

export interface ServerIdentity {
  name: string;
  title: string;
  version: string;
  instructions: string;
}

/** The HTTP status an upstream answered an error with, for the responses that relay one. */
const UPSTREAM_STATUS = new WeakMap<JsonRpcResponse, number>();

/** The HTTP status to answer `response` with when it relays an upstream's non-2xx error; else undefined. */
export function upstreamStatusOf(response: JsonRpcResponse): number | undefined {
  return UPSTREAM_STATUS.get(response);
}

type Handler = (params: Record<string, unknown>, context: RequestContext) => Promise<unknown> | unknown;

/**
 * The MCP methods Gatehouse answers, on plain JSON-RPC objects: no transport, no per-request
 * construction. The HTTP endpoint owns sessions and streams; this owns what each method means.
 */
export class McpDispatcher {
  readonly #handlers: ReadonlyMap<string, Handler>;
  /** Whether prompts and resources are served (Gatehouse's own or the upstreams'). */
  readonly #content: boolean;

  constructor(
    private readonly registry: ToolRegistry,
    private readonly access: ToolAccess,
    private readonly services: ToolServices,
    private readonly server: ServerIdentity,
    private readonly logInternal: (error: unknown, method: string) => void,
    /** The upstream servers' tools, prompts and resources, when the gateway serves any. */
    private readonly gateway?: GatewaySurface,
    /** Gatehouse's own prompts and resources (the caller's notes), served before the upstreams'. */
    builtIns?: BuiltInSurface,
    /** Told of every request answered and of every built-in tool call's duration (metrics). */
    private readonly observer?: McpObserver,
  ) {
    const handlers: [string, Handler][] = [
      ['initialize', (params) => this.initialize(params)],
      ['ping', () => ({})],
      ['tools/list', (_params, context) => this.listTools(context)],
      ['tools/call', (params, context) => this.callTool(params, context)],
    ];
    // Prompts and resources: Gatehouse's own, then the upstreams'.
    this.#content = builtIns !== undefined || gateway !== undefined;
    if (this.#content) handlers.push(...contentHandlers(builtIns, gateway));
    this.#handlers = new Map(handlers);
  }

  async request(message: JsonRpcRequest, context: RequestContext): Promise<JsonRpcResponse> {
    const observer = this.observer;
    if (observer === undefined) return this.answer(message, context);
    // Relayed tool calls are timed by the gateway (its gateway.forward audit event); built-in ones here.
    const timed = message.method === 'tools/call' && !this.forwards(message);
    const started = timed ? performance.now() : 0;
    const response = await this.answer(message, context);
    observer.mcpRequest(message.method, !('error' in response));
    if (timed) {
      const name = message.params?.name;
      observer.toolCall(
        typeof name === 'string' && this.registry.has(name) ? name : 'unknown',
        'gatehouse',
        toolOutcome(response),
        (performance.now() - started) / 1000,
      );
    }
    return response;
  }

  private async answer(message: JsonRpcRequest, context: RequestContext): Promise<JsonRpcResponse> {
    const handler = this.#handlers.get(message.method);
    if (handler === undefined) {
      return failure(
        message.id,
        new GatehouseError(
          'GH_MCP_METHOD_NOT_FOUND',
          `Method not found: '${message.method}'. Gatehouse serves ${[...this.#handlers.keys()].join(', ')}.`,
        ),
      );
    }
    try {
      return success(message.id, await handler(message.params ?? {}, context));
    } catch (error) {
      if (isGatehouseError(error)) return failure(message.id, error);
      // An upstream's own JSON-RPC error reaches the caller unchanged, as if it had called the upstream.
      if (error instanceof UpstreamRpcError) {
        const response: JsonRpcResponse = {
          jsonrpc: '2.0',
          id: message.id,
          error: {
            code: error.rpcCode,
            message: error.message,
            ...(error.data === undefined ? {} : { data: error.data }),
          },
        };
        if (error.httpStatus !== undefined) UPSTREAM_STATUS.set(response, error.httpStatus);
        return response;
      }
      // The client cancelled it (notifications/cancelled): it ignores the answer, which must still be sent.
      if (context.signalled?.()) {
        return failure(
          message.id,
          new GatehouseError('GH_MCP_REQUEST_CANCELLED', `${message.method} was cancelled by the client.`),
        );
      }
      this.logInternal(error, message.method);
      return failure(
        message.id,
        new GatehouseError(
          'GH_INTERNAL',
          `Internal error while handling ${message.method}; the server log has the details.`,
        ),
      );
    }
  }

  /** Whether a handler exists for the method (which methods an era keeps is the era's business). */
  serves(method: string): boolean {
    return this.#handlers.has(method);
  }

  /** The methods served, for a method-not-found message. */
  methods(): string[] {
    return [...this.#handlers.keys()];
  }

  /** What the server is (capabilities, identity, instructions): initialize's answer without a version. */
  describe(): {
    capabilities: Record<string, unknown>;
    serverInfo: Record<string, unknown>;
    instructions: string;
  } {
    const { capabilities, serverInfo, instructions } = this.initialize({});
    return { capabilities, serverInfo, instructions };
  }

  /** Whether the request is relayed to an upstream (so the upstream may send the client messages meanwhile). */
  forwards(message: JsonRpcRequest): boolean {
    if (this.gateway === undefined) return false;
    switch (message.method) {
      case 'tools/call':
        return typeof message.params?.name === 'string' && !this.registry.has(message.params.name);
      case 'prompts/get':
      case 'resources/read':
      case 'completion/complete':
        return true;
      default:
        return false;
    }
  }

  /** Notifications need no answer; the ones Gatehouse acts on are handled by the endpoint. */
  notify(_message: JsonRpcNotification): void {}

  private initialize(params: Record<string, unknown>) {
    return {
      protocolVersion: negotiateProtocolVersion(params.protocolVersion),
      capabilities: this.capabilities(),
      serverInfo: { name: this.server.name, title: this.server.title, version: this.server.version },
      instructions: this.server.instructions,
    };
  }

  private capabilities(): Record<string, unknown> {
    const upstreams = this.gateway?.active === true;
    if (!upstreams && !this.#content) return { tools: { listChanged: false } };
    return {
      tools: { listChanged: upstreams },
      prompts: { listChanged: true },
      resources: { listChanged: true, subscribe: true },
      completions: {},
      ...(upstreams ? { logging: {} } : {}),
    };
  }

  private async listTools(context: RequestContext) {
    const tools: unknown[] = this.registry
      .list()
      .filter((tool) => this.access.visible(context.caller, tool.name));
    if (this.gateway !== undefined) tools.push(...(await this.gateway.listTools(context.caller)));
    return { tools };
  }

  private callTool(params: Record<string, unknown>, context: RequestContext) {
    const name = params.name;
    if (typeof name !== 'string' || name === '') {
      throw new GatehouseError(
        'GH_MCP_INVALID_PARAMS',
        'tools/call needs params.name: the name of the tool to call.',
      );
    }
    const args = params.arguments;
    if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
      throw new GatehouseError(
        'GH_MCP_INVALID_PARAMS',
        'tools/call params.arguments must be an object of argument names to values.',
      );
    }
    if (this.gateway !== undefined && !this.registry.has(name)) return this.gateway.callTool(params, context);
    // The call is audited as tool.call when it ends: only a refusal is recorded as a decision.
    this.access.authorizeCall(context.caller, name, context.requestId, false);
    const sendProgress = context.sendProgress;
    return this.registry.call(name, args, {
      caller: context.caller,
      services: this.services,
      requestId: context.requestId,
      get signal() {
        return context.signal;
      },
      reportProgress: sendProgress ?? noProgress,
    });
  }
}

function noProgress(): void {}

/** 'ok', 'tool-error' (a result with isError), or the error's GH_ code ('error' without one). */
function toolOutcome(response: JsonRpcResponse): string {
  if ('error' in response) {
    const code = (response.error.data as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : 'error';
  }
  return (response.result as { isError?: unknown } | undefined)?.isError === true ? 'tool-error' : 'ok';
}
