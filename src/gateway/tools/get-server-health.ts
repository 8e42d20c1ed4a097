import { z } from 'zod';
import { GatehouseError } from '../../errors/index.js';
import { defineTool } from '../../mcp/tool.js';
import { serverHealth } from '../status.js';

export const getServerHealth = defineTool({
  name: 'get_server_health',
  title: 'Upstream server health',
  description:
    "Returns an upstream server's health: the verdict of its active checks, latency, last error, consecutive failures, recent checks, and its circuit breaker state.",
  input: z.strictObject({ server: z.string().min(1).describe('The server name, as list_servers shows it.') }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  run({ server }, { services }) {
    const health = serverHealth(services.gateway, server);
    if (health === undefined) {
      throw new GatehouseError(
        'GH_GATEWAY_SERVER_NOT_FOUND',
        `No upstream server is named '${server}'. Call list_servers to see them.`,
      );
    }
    const latency = health.checks.latencyMs === null ? '' : `, ${health.checks.latencyMs} ms`;
    return {
      structured: health,
      text: `${server}: ${health.status}${latency}; circuit ${health.circuit.state}${
        health.checks.lastError === null ? '' : `; last error: ${health.checks.lastError}`
      }.`,
    };
  },
});
