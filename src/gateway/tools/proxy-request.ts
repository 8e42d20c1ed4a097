import { z } from 'zod';
import { defineTool } from '../../mcp/tool.js';
import { exposedName } from '../naming.js';

export const proxyRequest = defineTool({
  name: 'proxy_request',
  title: 'Call a tool of an upstream server',
  description:
    'Calls the tool `tool` of the upstream server `server` with `arguments`, under the same policy as calling {server}__{tool} directly, and returns its result.',
  input: z.strictObject({
    server: z.string().min(1).describe('The server name, as list_servers shows it.'),
    tool: z.string().min(1).describe("The tool's own name on that server."),
    arguments: z.record(z.string(), z.unknown()).optional().describe("The tool's arguments."),
  }),
  annotations: { openWorldHint: true },
  async run({ server, tool, arguments: args }, context) {
    const result = await context.services.gatewaySurface.callTool(
      { name: exposedName(server, tool), ...(args === undefined ? {} : { arguments: args }) },
      {
        caller: context.caller,
        requestId: context.requestId,
        signal: context.signal,
        sendProgress: (progress, total, message) => context.reportProgress(progress, total, message),
      },
    );
    return { structured: result, text: '', result: result as never };
  },
});
