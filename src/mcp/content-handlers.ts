import { GatehouseError } from '../errors/index.js';
import type { GatewaySurface } from '../gateway/surface.js';
import type { BuiltInSurface } from './built-in-surface.js';
import type { RequestContext } from './dispatcher.js';

type Item = Record<string, unknown>;
type Handler = (params: Item, context: RequestContext) => Promise<unknown> | unknown;

/**
 * prompts/*, resources/* and completion/complete: Gatehouse's own prompts and resources first,
 * then the gateway's upstream ones, in a fixed order. A name or URI goes to whoever owns it: a
 * built-in prompt name or a `note://` URI to the built-ins, anything else to the gateway (whose
 * names carry a `{server}__` or `gatehouse://{server}/` prefix, so the two never overlap).
 */
export function contentHandlers(
  builtIns: BuiltInSurface | undefined,
  gateway: GatewaySurface | undefined,
): [string, Handler][] {
  const ownsPrompt = (name: unknown) => builtIns?.hasPrompt(String(name ?? '')) === true;
  const ownsUri = (uri: unknown) => builtIns?.ownsUri(String(uri ?? '')) === true;
  const subscription = (action: 'subscribe' | 'unsubscribe') => (params: Item, context: RequestContext) => {
    if (builtIns !== undefined && ownsUri(params.uri)) return builtIns.subscription(action, params, context);
    if (gateway !== undefined) return gateway.subscription(action, params, context);
    throw resourceNotFound(params.uri);
  };
  return [
    [
      'prompts/list',
      async (_params, context) => ({
        prompts: [
          ...(builtIns?.listPrompts(context.caller) ?? []),
          ...((await gateway?.listPrompts(context.caller)) ?? []),
        ],
      }),
    ],
    [
      'prompts/get',
      (params, context) => {
        if (builtIns !== undefined && (ownsPrompt(params.name) || gateway === undefined))
          return builtIns.getPrompt(params, context);
        if (gateway !== undefined) return gateway.getPrompt(params, context);
        throw promptNotFound(params.name);
      },
    ],
    [
      'resources/list',
      async (_params, context) => ({
        resources: [
          ...((await builtIns?.listResources(context.caller)) ?? []),
          ...((await gateway?.listResources(context.caller, 'resources')) ?? []),
        ],
      }),
    ],
    [
      'resources/templates/list',
      async (_params, context) => ({
        resourceTemplates: [
          ...(builtIns?.listResourceTemplates(context.caller) ?? []),
          ...((await gateway?.listResources(context.caller, 'resourceTemplates')) ?? []),
        ],
      }),
    ],
    [
      'resources/read',
      (params, context) => {
        if (builtIns !== undefined && ownsUri(params.uri)) return builtIns.readResource(params, context);
        if (gateway !== undefined) return gateway.readResource(params, context);
        throw resourceNotFound(params.uri);
      },
    ],
    ['resources/subscribe', subscription('subscribe')],
    ['resources/unsubscribe', subscription('unsubscribe')],
    [
      'completion/complete',
      (params, context) => {
        const ref = (params.ref ?? {}) as Item;
        const builtIn =
          builtIns !== undefined &&
          ((ref.type === 'ref/prompt' && (ownsPrompt(ref.name) || gateway === undefined)) ||
            (ref.type === 'ref/resource' && ownsUri(ref.uri)));
        if (builtIn) return builtIns.complete(params, context);
        if (gateway !== undefined) return gateway.complete(params, context);
        if (ref.type === 'ref/resource') throw resourceNotFound(ref.uri);
        throw new GatehouseError(
          'GH_MCP_INVALID_PARAMS',
          'completion/complete needs params.ref of type "ref/prompt" (with name) or "ref/resource" (with uri).',
        );
      },
    ],
  ];
}

function promptNotFound(name: unknown): GatehouseError {
  return new GatehouseError(
    'GH_MCP_PROMPT_NOT_FOUND',
    `Unknown prompt: '${String(name ?? '')}'. Call prompts/list to see the prompts you can use.`,
  );
}

function resourceNotFound(uri: unknown): GatehouseError {
  return new GatehouseError(
    'GH_MCP_RESOURCE_NOT_FOUND',
    `Resource not found: '${String(uri ?? '')}'. resources/list shows the resources you can read.`,
  );
}
