import { z } from 'zod';
import { defineTool } from '../../mcp/tool.js';

export const registerServer = defineTool({
  name: 'register_server',
  title: 'Register an upstream server',
  description:
    'Registers an MCP server behind this gateway. `definition` takes the mcpServers shape of IDE configs ({"url", "headers"} for a remote server, {"command", "args", "env"} for stdio) plus Gatehouse fields (title, roles, scopes, tools, timeoutMs, enabled). Header and env values are stored encrypted and never shown again.',
  input: z.strictObject({
    name: z
      .string()
      .min(1)
      .describe('Lower-case letters, digits, single - or _; prefixes its tools as {name}__{tool}.'),
    definition: z.record(z.string(), z.unknown()).describe('The server definition (see docs/gateway.md).'),
  }),
  annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run({ name, definition }, { services, caller, requestId }) {
    const view = await services.gateway.registry.create(name, definition, caller.userId);
    services.gateway.audit({ action: 'create', server: name, caller, requestId });
    return {
      structured: view,
      text: `Registered '${name}'. Its tools appear as ${name}__{tool} within seconds; get_server_health shows its state.`,
    };
  },
});
