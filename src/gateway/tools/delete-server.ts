import { z } from 'zod';
import { defineTool } from '../../mcp/tool.js';

export const deleteServer = defineTool({
  name: 'delete_server',
  title: 'Delete an upstream server',
  description:
    'Removes a server registered at runtime: its tools, prompts and resources disappear and its connection is closed. Servers from the config file cannot be deleted here.',
  input: z.strictObject({ name: z.string().min(1) }),
  output: z.object({ deleted: z.string() }),
  annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run({ name }, { services, caller, requestId }) {
    await services.gateway.registry.delete(name);
    services.gateway.audit({ action: 'delete', server: name, caller, requestId });
    return { structured: { deleted: name }, text: `Deleted '${name}'.` };
  },
});
