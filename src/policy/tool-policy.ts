import type { ScopeNames } from './scopes.js';

/** What calling one tool requires besides the tools.execute scope. */
export interface ToolPolicy {
  /** Extra logical scopes, e.g. 'chat' for the chat tools. */
  scopes: readonly (keyof ScopeNames)[];
  /** The caller needs at least one of these roles; empty means any admitted caller. */
  roles: readonly string[];
  /** Calls one caller may make of the tool per window; no limit of its own when absent. */
  rateLimit?: { readonly max: number; readonly windowSeconds: number };
}

const OPEN: ToolPolicy = Object.freeze({ scopes: [], roles: [] });
const CHAT: ToolPolicy = Object.freeze({ scopes: ['chat'] as const, roles: [] });

/** Defaults for the built-in tools; the config file's "tools" section overrides them by name. */
export const DEFAULT_TOOL_POLICIES: Readonly<Record<string, ToolPolicy>> = Object.freeze({
  whoami: OPEN,
  calculate_sum: OPEN,
  save_user_note: OPEN,
  get_user_notes: OPEN,
  delete_user_note: OPEN,
  // Act on the user's behalf toward Graph: what the user may read there is Entra's decision.
  get_graph_user_details: OPEN,
  get_user_profile: OPEN,
  // The chat tools spend the chat backend's quota: a token must carry the chat scope.
  send_message: CHAT,
  finish_chat: CHAT,
  // Server internals (version, storage, uptime) are for administrators.
  get_server_info: Object.freeze({ scopes: [], roles: ['admin'] }),
  // The gateway's registry: users and administrators see and use it, administrators change it.
  list_servers: Object.freeze({ scopes: [], roles: ['user', 'admin'] }),
  get_server_health: Object.freeze({ scopes: [], roles: ['user', 'admin'] }),
  proxy_request: Object.freeze({ scopes: [], roles: ['user', 'admin'] }),
  register_server: Object.freeze({ scopes: [], roles: ['admin'] }),
  delete_server: Object.freeze({ scopes: [], roles: ['admin'] }),
});

export function policyFor(tool: string, overrides: Readonly<Record<string, ToolPolicy>>): ToolPolicy {
  return overrides[tool] ?? DEFAULT_TOOL_POLICIES[tool] ?? OPEN;
}
