import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { defineTool } from '../tool.js';

export const getServerInfo = defineTool({
  name: 'get_server_info',
  title: 'Server information',
  description:
    'Returns the name, version, uptime, storage backends and authentication mode of this Gatehouse server.',
  input: z.strictObject({}),
  output: z.object({
    name: z.string(),
    version: z.string(),
    uptimeSeconds: z.number(),
    protocolVersion: z.string(),
    storage: z.object({ durable: z.string(), ephemeral: z.string() }),
    authMode: z.enum(['development', 'entra']),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  run(_args, { services }) {
    const info = {
      name: 'gatehouse',
      version: services.version,
      uptimeSeconds: Math.floor((Date.now() - services.startedAt) / 1000),
      protocolVersion: LATEST_PROTOCOL_VERSION,
      storage: { durable: services.durable.backend, ephemeral: services.ephemeral.backend },
      authMode: services.config.auth.enabled ? ('entra' as const) : ('development' as const),
    };
    return {
      structured: info,
      text:
        `Gatehouse ${info.version}, up ${info.uptimeSeconds} s; storage ${info.storage.durable} ` +
        `(short-lived state: ${info.storage.ephemeral}); authentication: ${info.authMode}.`,
    };
  },
});
