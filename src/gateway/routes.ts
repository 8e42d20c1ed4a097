import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import type { ToolAccess } from '../mcp/tool-access.js';
import type { Gateway } from './gateway.js';
import { exposedName } from './naming.js';
import { serverHealth, serverSummary } from './status.js';

const TAG = 'servers';
const anyObject = { type: 'object', additionalProperties: true } as const;
const nameParam = {
  type: 'object',
  properties: { name: { type: 'string', description: 'The server name.' } },
  required: ['name'],
} as const;
const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' } },
} as const;
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };
const definitionBody = {
  type: 'object',
  additionalProperties: true,
  description:
    'The mcpServers shape of IDE configs ({"url", "headers"} or {"command", "args", "env", "cwd"}, "type": "sse" for the legacy transport) plus Gatehouse fields (title, description, enabled, roles, scopes, tools, timeoutMs, connectTimeoutMs, startup, identity, healthCheck). Header and env values are write-only: answers show {"set": true}, and sending {"set": true} back keeps the stored value.',
} as const;

/**
 * /api/servers: the registry over HTTP. Reading needs what list_servers needs, writing what
 * register_server and delete_server need: the same policy decides the API and the tools.
 */
export async function gatewayRoutes(
  app: FastifyInstance,
  options: {
    gateway: Gateway;
    access: ToolAccess;
    resolveCaller(request: FastifyRequest): Caller | Promise<Caller>;
  },
) {
  const { gateway, access } = options;
  const { registry } = gateway;

  async function reader(request: FastifyRequest): Promise<Caller> {
    const caller = await options.resolveCaller(request);
    access.checkScopes(caller, 'tools/list', undefined, request.id);
    if (!access.visible(caller, 'list_servers'))
      throw roleRequired(caller, 'list_servers', 'read the server registry');
    return caller;
  }

  async function writer(request: FastifyRequest, tool: 'register_server' | 'delete_server'): Promise<Caller> {
    const caller = await options.resolveCaller(request);
    access.checkScopes(caller, 'tools/call', { name: tool }, request.id);
    try {
      access.authorizeCall(caller, tool, request.id);
    } catch (error) {
      if (isGatehouseError(error) && error.code === 'GH_POLICY_ROLE_REQUIRED')
        throw roleRequired(caller, tool, 'change the server registry');
      throw error;
    }
    return caller;
  }

  app.get(
    '/api/servers',
    {
      schema: {
        tags: [TAG],
        summary: 'List the upstream servers',
        security: [{ bearer: [] }],
        response: {
          200: { type: 'object', properties: { servers: { type: 'array', items: anyObject } } },
          ...errors,
        },
      },
    },
    async (request) => {
      await reader(request);
      return { servers: registry.views().map((view) => serverSummary(gateway, view)) };
    },
  );

  app.post(
    '/api/servers',
    {
      schema: {
        tags: [TAG],
        summary: 'Register an upstream server',
        security: [{ bearer: [] }],
        body: {
          ...definitionBody,
          properties: { name: { type: 'string', description: 'Lower-case letters, digits, single - or _.' } },
          required: ['name'],
        },
        response: { 201: anyObject, ...errors },
      },
    },
    async (request, reply) => {
      const caller = await writer(request, 'register_server');
      const { name, ...definition } = request.body as { name: string } & Record<string, unknown>;
      const view = await registry.create(String(name), definition, caller.userId);
      gateway.audit({ action: 'create', server: view.name, caller, requestId: request.id });
      return reply.code(201).send(serverSummary(gateway, view));
    },
  );

  app.get(
    '/api/servers/:name',
    {
      schema: {
        tags: [TAG],
        summary: 'One upstream server, with its health',
        security: [{ bearer: [] }],
        params: nameParam,
        response: { 200: anyObject, ...errors },
      },
    },
    async (request) => {
      await reader(request);
      const { name } = request.params as { name: string };
      return { ...serverSummary(gateway, registry.view(name)), health: serverHealth(gateway, name) ?? null };
    },
  );

  app.put(
    '/api/servers/:name',
    {
      schema: {
        tags: [TAG],
        summary: 'Replace an upstream server definition',
        security: [{ bearer: [] }],
        params: nameParam,
        body: definitionBody,
        response: { 200: anyObject, ...errors },
      },
    },
    async (request) => {
      const caller = await writer(request, 'register_server');
      const { name } = request.params as { name: string };
      const { name: bodyName, ...definition } = request.body as { name?: unknown } & Record<string, unknown>;
      if (bodyName !== undefined && bodyName !== name) {
        throw new GatehouseError(
          'GH_GATEWAY_INVALID_SERVER',
          `The body names '${String(bodyName)}' but the URL names '${name}': a server cannot be renamed; register it under the new name and delete the old one.`,
        );
      }
      const view = await registry.update(name, definition, caller.userId);
      gateway.audit({ action: 'update', server: name, caller, requestId: request.id });
      return serverSummary(gateway, view);
    },
  );

  app.delete(
    '/api/servers/:name',
    {
      schema: {
        tags: [TAG],
        summary: 'Delete an upstream server',
        security: [{ bearer: [] }],
        params: nameParam,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      const caller = await writer(request, 'delete_server');
      const { name } = request.params as { name: string };
      await registry.delete(name);
      gateway.audit({ action: 'delete', server: name, caller, requestId: request.id });
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/servers/:name/health',
    {
      schema: {
        tags: [TAG],
        summary: "An upstream server's health checks and circuit breaker",
        security: [{ bearer: [] }],
        params: nameParam,
        response: { 200: anyObject, ...errors },
      },
    },
    async (request) => {
      await reader(request);
      const { name } = request.params as { name: string };
      registry.view(name);
      return serverHealth(gateway, name) ?? { name, status: 'unknown' };
    },
  );

  app.get(
    '/api/servers/:name/tools',
    {
      schema: {
        tags: [TAG],
        summary: "An upstream server's tools, as the caller may see them",
        security: [{ bearer: [] }],
        params: nameParam,
        response: {
          200: {
            type: 'object',
            properties: { server: { type: 'string' }, tools: { type: 'array', items: anyObject } },
          },
          ...errors,
          502: errorBody,
          503: errorBody,
          504: errorBody,
        },
      },
    },
    async (request) => {
      const caller = await reader(request);
      const { name } = request.params as { name: string };
      registry.view(name);
      const runtime = gateway.runtime(name);
      if (runtime === undefined) return { server: name, tools: [] };
      const tools = await runtime.list('tools');
      return {
        server: name,
        tools: tools
          .filter((tool) => !runtime.server.toolOverrides[String(tool.name)]?.hidden)
          .map((tool) => ({ ...tool, exposedName: exposedName(name, String(tool.name)) }))
          .filter((tool) => access.visible(caller, tool.exposedName)),
      };
    },
  );
}

function roleRequired(caller: Caller, tool: string, what: string): GatehouseError {
  const held = caller.roles.length === 0 ? 'none' : caller.roles.join(', ');
  return new GatehouseError(
    'GH_API_ROLE_REQUIRED',
    `Only callers allowed to use ${tool} may ${what}; your roles: ${held}. Ask an administrator for the role.`,
  );
}
