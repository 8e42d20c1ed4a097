import { LOG_LEVEL_META_KEY } from '@modelcontextprotocol/client';
import { GatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import type { RequestContext } from '../mcp/dispatcher.js';
import type { ToolAccess } from '../mcp/tool-access.js';
import { ERROR_CODE_META_KEY } from '../mcp/tool-registry.js';
import type { AuditSink } from '../ops/audit.js';
import type { ToolPolicy } from '../policy/tool-policy.js';
import type { Gateway } from './gateway.js';
import type { IdentityForward } from './identity-assertion.js';
import { exposedName, exposedUri, parseExposedUri, serverOfName } from './naming.js';
import type { ListKind, ServerRuntime } from './runtime.js';
import type { UpstreamServer } from './server-config.js';
import { UpstreamRpcError } from './upstream/connection.js';

type Item = Record<string, unknown>;

/** What the gateway adds to a request to an upstream on behalf of a caller (the identity assertion). */
export type IdentityFor = (caller: Caller, server: UpstreamServer) => Promise<IdentityForward> | undefined;

/**
 * The upstreams as an MCP server shows them: at /mcp every enabled upstream under prefixed names
 * (`{server}__{tool}`, `gatehouse://{server}/…`), at /mcp/{server} one upstream under its own
 * names. Lists are filtered by the same ToolAccess policy that decides calls, and a slow or
 * failing upstream is left out of a list after `listWaitMs` rather than delaying it.
 */
export class GatewaySurface {
  readonly #indexes = new WeakMap<Item[], Map<string, Item>>();

  constructor(
    private readonly gateway: Gateway,
    private readonly access: ToolAccess,
    private readonly audit: AuditSink,
    private readonly options: {
      /** Set for /mcp/{server}: that server only, under its own names. */
      single?: string;
      listWaitMs: number;
      identityFor?: IdentityFor;
      /** The config file's "tools" section, keyed by the names at /mcp: it wins over server definitions. */
      overrides?: Readonly<Record<string, ToolPolicy>>;
    },
  ) {}

  /** Whether the surface has anything to show (the capabilities to declare). */
  get active(): boolean {
    return this.options.single !== undefined || this.gateway.registry.servers().length > 0;
  }

  async listTools(caller: Caller): Promise<Item[]> {
    const out: Item[] = [];
    for (const [runtime, tools] of await this.lists('tools')) {
      for (const tool of tools) {
        const name = String(tool.name);
        const override = runtime.server.toolOverrides[name];
        if (override?.hidden) continue;
        const exposed = this.nameOf(runtime, name);
        if (!this.access.canSee(caller, this.toolPolicy(runtime, name))) continue;
        out.push(exposed === name ? tool : { ...tool, name: exposed });
      }
    }
    return out;
  }

  async listPrompts(caller: Caller): Promise<Item[]> {
    const out: Item[] = [];
    for (const [runtime, prompts] of await this.lists('prompts')) {
      if (!this.access.canSee(caller, runtime.server.policy)) continue;
      for (const prompt of prompts) {
        const exposed = this.nameOf(runtime, String(prompt.name));
        out.push(exposed === prompt.name ? prompt : { ...prompt, name: exposed });
      }
    }
    return out;
  }

  async listResources(caller: Caller, kind: 'resources' | 'resourceTemplates'): Promise<Item[]> {
    const field = kind === 'resources' ? 'uri' : 'uriTemplate';
    const out: Item[] = [];
    for (const [runtime, resources] of await this.lists(kind)) {
      if (!this.access.canSee(caller, runtime.server.policy)) continue;
      for (const resource of resources) {
        out.push(
          this.options.single === undefined
            ? { ...resource, [field]: exposedUri(runtime.server.name, String(resource[field])) }
            : resource,
        );
      }
    }
    return out;
  }

  /** The policy of a tool named as this surface names it; undefined for names it does not own. */
  toolPolicyOf(name: string): ToolPolicy | undefined {
    const runtime = this.runtimeOfName(name);
    if (runtime === undefined) return undefined;
    const tool = this.findCached(runtime, 'tools', name);
    return this.toolPolicy(runtime, tool === undefined ? undefined : String(tool.name));
  }

  async callTool(params: Item, context: RequestContext): Promise<Item> {
    const name = String(params.name);
    const runtime = this.runtimeOfName(name);
    const tool =
      runtime === undefined
        ? undefined
        : (this.findCached(runtime, 'tools', name) ?? (await this.find(runtime, 'tools', name)));
    if (
      runtime === undefined ||
      tool === undefined ||
      runtime.server.toolOverrides[String(tool.name)]?.hidden
    ) {
      throw new GatehouseError(
        'GH_TOOL_UNKNOWN',
        `Unknown tool: '${name}'. Call tools/list to see the tools you can use.`,
      );
    }
    const upstreamName = String(tool.name);
    // Allowed forwards are audited by their gateway.forward event: only refusals are recorded as decisions.
    this.access.authorize(
      context.caller,
      name,
      this.toolPolicy(runtime, upstreamName),
      context.requestId,
      false,
    );
    return this.forward(runtime, 'tools/call', { ...params, name: upstreamName }, context, name);
  }

  async getPrompt(params: Item, context: RequestContext): Promise<Item> {
    const name = String(params.name ?? '');
    const runtime = this.runtimeOfName(name);
    const prompt = runtime === undefined ? undefined : await this.find(runtime, 'prompts', name);
    if (runtime === undefined || prompt === undefined) {
      throw new GatehouseError(
        'GH_MCP_PROMPT_NOT_FOUND',
        `Unknown prompt: '${name}'. Call prompts/list to see the prompts you can use.`,
      );
    }
    this.access.authorize(context.caller, name, runtime.server.policy, context.requestId, false);
    return this.forward(runtime, 'prompts/get', { ...params, name: String(prompt.name) }, context, name);
  }

  async readResource(params: Item, context: RequestContext): Promise<Item> {
    const target = this.resourceTarget(String(params.uri ?? ''));
    this.access.authorize(
      context.caller,
      target.label,
      target.runtime.server.policy,
      context.requestId,
      false,
    );
    const result = await this.forward(
      target.runtime,
      'resources/read',
      { ...params, uri: target.uri },
      context,
      target.label,
    );
    if (this.options.single !== undefined || !Array.isArray(result.contents)) return result;
    const server = target.runtime.server.name;
    return {
      ...result,
      contents: (result.contents as Item[]).map((content) =>
        typeof content.uri === 'string' ? { ...content, uri: exposedUri(server, content.uri) } : content,
      ),
    };
  }

  /** resources/subscribe and resources/unsubscribe: the session hears of changes on its listening stream. */
  async subscription(
    action: 'subscribe' | 'unsubscribe',
    params: Item,
    context: RequestContext,
  ): Promise<Item> {
    const exposed = String(params.uri ?? '');
    const target = this.resourceTarget(exposed);
    if (context.sessionId === undefined) {
      throw new GatehouseError(
        'GH_MCP_SESSION_REQUIRED',
        `resources/${action} needs a session: updates are sent on the session's listening stream (GET with Mcp-Session-Id).`,
      );
    }
    this.access.authorize(context.caller, target.label, target.runtime.server.policy, context.requestId);
    const { subscriptions } = this.gateway;
    if (action === 'subscribe')
      await subscriptions.subscribe(target.runtime, target.uri, exposed, context.sessionId);
    else await subscriptions.unsubscribe(target.runtime, target.uri, context.sessionId);
    return {};
  }

  async complete(params: Item, context: RequestContext): Promise<Item> {
    const ref = (params.ref ?? {}) as Item;
    if (ref.type === 'ref/prompt') {
      const name = String(ref.name ?? '');
      const runtime = this.runtimeOfName(name);
      const prompt = runtime === undefined ? undefined : await this.find(runtime, 'prompts', name);
      if (runtime === undefined || prompt === undefined) {
        throw new GatehouseError('GH_MCP_PROMPT_NOT_FOUND', `Unknown prompt: '${name}'.`);
      }
      this.access.authorize(context.caller, name, runtime.server.policy, context.requestId, false);
      return this.forward(
        runtime,
        'completion/complete',
        { ...params, ref: { ...ref, name: prompt.name } },
        context,
        name,
      );
    }
    if (ref.type === 'ref/resource') {
      const target = this.resourceTarget(String(ref.uri ?? ''));
      this.access.authorize(
        context.caller,
        target.label,
        target.runtime.server.policy,
        context.requestId,
        false,
      );
      return this.forward(
        target.runtime,
        'completion/complete',
        { ...params, ref: { ...ref, uri: target.uri } },
        context,
        target.label,
      );
    }
    throw new GatehouseError(
      'GH_MCP_INVALID_PARAMS',
      'completion/complete needs params.ref of type "ref/prompt" (with name) or "ref/resource" (with uri).',
    );
  }

  /** Relays one request; the outcome is audited with its duration whatever it is. */
  private async forward(
    runtime: ServerRuntime,
    method: string,
    params: Item,
    context: RequestContext,
    label: string,
  ): Promise<Item> {
    const started = performance.now();
    let outcome = 'ok';
    let errorCode: string | null = null;
    let rpcCode: number | undefined;
    const span = context.trace?.startUpstream({
      server: runtime.server.name,
      method,
      params,
      url: runtime.server.transport.kind === 'stdio' ? undefined : runtime.server.transport.url,
      protocolVersion: runtime.connection.protocolVersion,
    });
    try {
      const pending = this.options.identityFor?.(context.caller, runtime.server);
      let identity: Awaited<typeof pending>;
      try {
        identity = pending === undefined ? undefined : await pending;
      } catch (error) {
        // A token on the user's behalf could not be had (a claims challenge, an app-only caller):
        // for a tool call that is the tool's result, which the client shows and can act on.
        if (method !== 'tools/call' || !(error instanceof GatehouseError)) throw error;
        outcome = error.code;
        return {
          content: [{ type: 'text', text: error.message }],
          isError: true,
          _meta: { 'io.gatehouse/error-code': error.code },
        };
      }
      let headers = identity?.headers;
      let forwarded = withoutProtocolMeta(params);
      if (span !== undefined) {
        // The upstream continues this call's span: in _meta (MCP) and in the HTTP headers (remote upstreams).
        const trace = {
          traceparent: span.traceparent,
          ...(span.tracestate ? { tracestate: span.tracestate } : {}),
        };
        headers = { ...headers, ...trace };
        forwarded = { ...forwarded, _meta: { ...(forwarded._meta as Item | undefined), ...trace } };
      }
      if (identity?.meta !== undefined || context.logLevel !== undefined) {
        const meta = {
          ...identity?.meta,
          // The caller's logging/setLevel, per request as 2026-07-28 has it (a handshake-era upstream gets it once, below).
          ...(context.logLevel === undefined ? {} : { [LOG_LEVEL_META_KEY]: context.logLevel }),
        };
        forwarded = { ...forwarded, _meta: { ...(forwarded._meta as Item | undefined), ...meta } };
      }
      if (context.logLevel !== undefined) await runtime.connection.ensureLogLevel(context.logLevel);
      const sendProgress = context.sendProgress;
      const result = await runtime.forward(method, forwarded, {
        // Only a caller with a session can cancel (notifications/cancelled names a request of the session).
        ...(context.sessionId === undefined ? {} : { signal: context.signal }),
        ...(sendProgress === undefined
          ? {}
          : { onprogress: (update) => sendProgress(update.progress, update.total, update.message) }),
        ...(headers === undefined ? {} : { headers }),
        ...(context.relay === undefined ? {} : { relay: context.relay }),
        ...(context.stateless === undefined ? {} : { stateless: context.stateless }),
      });
      if (result.isError === true) {
        outcome = 'tool-error';
        const code = (result._meta as Item | undefined)?.[ERROR_CODE_META_KEY];
        if (typeof code === 'string') errorCode = code;
      }
      return result;
    } catch (error) {
      outcome = error instanceof GatehouseError ? error.code : 'upstream-error';
      errorCode = error instanceof GatehouseError ? error.code : null;
      if (error instanceof UpstreamRpcError) rpcCode = error.rpcCode;
      throw error;
    } finally {
      span?.end(outcome, rpcCode);
      this.audit.emit({
        type: 'gateway.forward',
        at: new Date().toISOString(),
        requestId: context.requestId,
        userId: context.caller.userId,
        tenantId: context.caller.tenantId,
        server: runtime.server.name,
        method,
        name: label,
        outcome,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        clientId: context.caller.clientAppId,
        errorCode,
        ...(method === 'tools/call' ? { arguments: params.arguments } : {}),
      });
    }
  }

  /**
   * Each enabled upstream's list: fresh from cache, else stale while a refresh runs, else fetched
   * with a bounded wait. An upstream whose circuit is open or that is unhealthy is left out.
   */
  private async lists(kind: ListKind): Promise<[ServerRuntime, Item[]][]> {
    const runtimes = this.runtimesInScope();
    const lists = await Promise.all(
      runtimes.map(async (runtime): Promise<Item[] | undefined> => {
        if (runtime.breaker.state === 'open' || runtime.health.status === 'unhealthy') return undefined;
        const fresh = runtime.cached(kind);
        if (fresh !== undefined) return fresh;
        const fetching = runtime.list(kind);
        const stale = runtime.lastKnown(kind);
        if (stale !== undefined) {
          fetching.catch(() => {});
          return stale;
        }
        return withinTime(fetching, this.options.listWaitMs);
      }),
    );
    const out: [ServerRuntime, Item[]][] = [];
    runtimes.forEach((runtime, index) => {
      const list = lists[index];
      if (list !== undefined) out.push([runtime, list]);
    });
    return out;
  }

  private runtimesInScope(): ServerRuntime[] {
    if (this.options.single === undefined) return this.gateway.runtimes();
    const runtime = this.gateway.runtime(this.options.single);
    return runtime === undefined ? [] : [runtime];
  }

  private runtimeOfName(name: string): ServerRuntime | undefined {
    if (this.options.single !== undefined) return this.gateway.runtime(this.options.single);
    const server = serverOfName(name);
    return server === undefined ? undefined : this.gateway.runtime(server);
  }

  private nameOf(runtime: ServerRuntime, name: string): string {
    return this.options.single === undefined ? exposedName(runtime.server.name, name) : name;
  }

  private findCached(runtime: ServerRuntime, kind: 'tools' | 'prompts', exposed: string): Item | undefined {
    const items = runtime.lastKnown(kind);
    return items === undefined ? undefined : this.indexOf(runtime, items).get(exposed);
  }

  /** The item the exposed name stands for, fetching the upstream's list when it is not known yet. */
  private async find(
    runtime: ServerRuntime,
    kind: 'tools' | 'prompts',
    exposed: string,
  ): Promise<Item | undefined> {
    const cached = this.findCached(runtime, kind, exposed);
    if (cached !== undefined) return cached;
    return this.indexOf(runtime, await runtime.list(kind)).get(exposed);
  }

  /** A fetched list by the names this surface gives its items: built once per list, so a call is a map lookup. */
  private indexOf(runtime: ServerRuntime, items: Item[]): Map<string, Item> {
    let index = this.#indexes.get(items);
    if (index === undefined) {
      index = new Map(items.map((item) => [this.nameOf(runtime, String(item.name)), item]));
      this.#indexes.set(items, index);
    }
    return index;
  }

  private toolPolicy(runtime: ServerRuntime, upstreamName: string | undefined): ToolPolicy {
    if (upstreamName === undefined) return runtime.server.policy;
    return (
      this.options.overrides?.[exposedName(runtime.server.name, upstreamName)] ??
      runtime.server.toolOverrides[upstreamName]?.policy ??
      runtime.server.policy
    );
  }

  private resourceTarget(uri: string): { runtime: ServerRuntime; uri: string; label: string } {
    if (this.options.single !== undefined) {
      const runtime = this.gateway.runtime(this.options.single);
      if (runtime !== undefined) return { runtime, uri, label: uri };
    } else {
      const parsed = parseExposedUri(uri);
      const runtime = parsed === undefined ? undefined : this.gateway.runtime(parsed.server);
      if (parsed !== undefined && runtime !== undefined) return { runtime, uri: parsed.uri, label: uri };
    }
    throw new GatehouseError(
      'GH_MCP_RESOURCE_NOT_FOUND',
      `Resource not found: '${uri}'. Resources of upstream servers are named gatehouse://{server}/{uri}; resources/list shows them.`,
    );
  }
}

/** Resolves to undefined when the promise takes longer than `ms` (it goes on, and fills the cache when it ends). */
function withinTime<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.catch(() => undefined),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The caller's progress token is replaced by the gateway's own (the SDK sets one when progress is
 * relayed), and the caller's protocol keys describe its exchange with Gatehouse, not Gatehouse's
 * with the upstream.
 */
function withoutProtocolMeta(params: Item): Item {
  const meta = params._meta as Item | undefined;
  if (meta === undefined) return params;
  const kept: Item = {};
  for (const [key, value] of Object.entries(meta)) {
    if (key === 'progressToken' || key.startsWith('io.modelcontextprotocol/')) continue;
    kept[key] = value;
  }
  const { _meta: _dropped, ...rest } = params;
  return Object.keys(kept).length === 0 ? rest : { ...rest, _meta: kept };
}
