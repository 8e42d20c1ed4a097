import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
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
}

export interface ServerIdentity {
  name: string;
  title: string;
  version: string;
  instructions: string;
}

type Handler = (params: Record<string, unknown>, context: RequestContext) => Promise<unknown> | unknown;

/**
 * The MCP methods Gatehouse answers, on plain JSON-RPC objects: no transport, no per-request
 * construction. The HTTP endpoint owns sessions and streams; this owns what each method means.
 */
export class McpDispatcher {
  readonly #handlers: ReadonlyMap<string, Handler>;

  constructor(
    private readonly registry: ToolRegistry,
    private readonly access: ToolAccess,
    private readonly services: ToolServices,
    private readonly server: ServerIdentity,
    private readonly logInternal: (error: unknown, method: string) => void,
  ) {
    this.#handlers = new Map<string, Handler>([
      ['initialize', (params) => this.initialize(params)],
      ['ping', () => ({})],
      [
        'tools/list',
        (_params, context) => ({
          tools: this.registry.list().filter((tool) => this.access.visible(context.caller, tool.name)),
        }),
      ],
      ['tools/call', (params, context) => this.callTool(params, context)],
    ]);
  }

  async request(message: JsonRpcRequest, context: RequestContext): Promise<JsonRpcResponse> {
    const handler = this.#handlers.get(message.method);
    if (handler === undefined) {
      return failure(
        message.id,
        new GatehouseError(
          'GH_MCP_METHOD_NOT_FOUND',
          `Method not found: '${message.method}'. Gatehouse serves initialize, ping, tools/list and tools/call.`,
        ),
      );
    }
    try {
      return success(message.id, await handler(message.params ?? {}, context));
    } catch (error) {
      if (isGatehouseError(error)) return failure(message.id, error);
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

  /** Notifications need no answer; the ones Gatehouse acts on are handled by the endpoint. */
  notify(_message: JsonRpcNotification): void {}

  private initialize(params: Record<string, unknown>) {
    return {
      protocolVersion: negotiateProtocolVersion(params.protocolVersion),
      capabilities: { tools: { listChanged: false } },
      serverInfo: { name: this.server.name, title: this.server.title, version: this.server.version },
      instructions: this.server.instructions,
    };
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
    this.access.authorizeCall(context.caller, name, context.requestId);
    const sendProgress = context.sendProgress;
    return this.registry.call(name, args, {
      caller: context.caller,
      services: this.services,
      get signal() {
        return context.signal;
      },
      reportProgress: sendProgress ?? noProgress,
    });
  }
}

function noProgress(): void {}
