import { z } from 'zod';
import { defineTool } from '../../mcp/tool.js';
import { serverSummary } from '../status.js';

export const listServers = defineTool({
  name: 'list_servers',
  title: 'List upstream servers',
  description:
    'Lists the MCP servers behind this gateway: name, title, transport, whether it is enabled, its health and circuit state. Their tools appear as {server}__{tool}.',
  input: z.strictObject({}),
  output: z.object({
    servers: z.array(
      z.object({
        name: z.string(),
        title: z.string(),
        source: z.enum(['file', 'api']),
        transport: z.string(),
        enabled: z.boolean(),
        status: z.string(),
        circuit: z.string(),
      }),
    ),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  run(_args, { services }) {
    const servers = services.gateway.registry.views().map((view) => {
      const summary = serverSummary(services.gateway, view);
      return {
        name: summary.name,
        title: summary.title,
        source: summary.source,
        transport: summary.transport,
        enabled: summary.enabled,
        status: summary.status,
        circuit: summary.circuit,
      };
    });
    return {
      structured: { servers },
      text:
        servers.length === 0
          ? 'No upstream servers are registered.'
          : servers.map((server) => `${server.name} (${server.transport}): ${server.status}`).join('\n'),
    };
  },
});
