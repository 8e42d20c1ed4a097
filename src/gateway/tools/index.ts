import type { ToolDefinition } from '../../mcp/tool.js';
import { deleteServer } from './delete-server.js';
import { getServerHealth } from './get-server-health.js';
import { listServers } from './list-servers.js';
import { proxyRequest } from './proxy-request.js';
import { registerServer } from './register-server.js';

/** The registry tools of the source documents' "MCP Registry Gateway". */
export const REGISTRY_TOOLS: readonly ToolDefinition[] = [
  listServers,
  getServerHealth,
  proxyRequest,
  registerServer,
  deleteServer,
] as ToolDefinition[];
