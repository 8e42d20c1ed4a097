/**
 * The error catalogue. Every code here is documented in docs/errors.md (a test checks both ways).
 * `status` is the HTTP status; `rpc` is the JSON-RPC error code used on the MCP endpoint.
 */
export const ERROR_CATALOGUE = {
  GH_CONFIG_INVALID: {
    status: 500,
    summary: 'A configuration value is missing or invalid; Gatehouse does not start.',
  },
  GH_DEV_MODE_REFUSED: {
    status: 500,
    summary:
      'Development mode (ENABLE_AUTH=false) was asked for on a non-loopback HOST or with NODE_ENV=production.',
  },
  GH_STORAGE_UNAVAILABLE: { status: 503, summary: 'The database or Redis did not answer.' },
  GH_STORAGE_MIGRATION_FAILED: {
    status: 500,
    summary: 'A storage migration failed; nothing of it was kept.',
  },
  GH_STORAGE_INVALID_ARGUMENT: {
    status: 500,
    summary:
      'A storage call got an argument outside the contract (for example a TTL that is not a positive integer).',
  },
  GH_HTTP_BODY_TOO_LARGE: {
    status: 413,
    rpc: -32600,
    summary: 'The request body is larger than HTTP_BODY_LIMIT.',
  },
  GH_HTTP_NOT_FOUND: { status: 404, summary: 'No route matches the method and path.' },
  GH_HTTP_BAD_REQUEST: {
    status: 400,
    summary: 'The request is malformed in a way no more specific code covers.',
  },
  GH_INTERNAL: {
    status: 500,
    rpc: -32603,
    summary: 'An unexpected failure; the log has the detail under the request id.',
  },
  GH_MCP_PARSE_ERROR: { status: 400, rpc: -32700, summary: 'The body is not valid JSON.' },
  GH_MCP_INVALID_REQUEST: {
    status: 400,
    rpc: -32600,
    summary: 'The body is JSON but not a valid JSON-RPC 2.0 message.',
  },
  GH_MCP_METHOD_NOT_FOUND: {
    status: 200,
    rpc: -32601,
    summary: 'The JSON-RPC method is not one Gatehouse serves.',
  },
  GH_MCP_INVALID_PARAMS: {
    status: 200,
    rpc: -32602,
    summary: 'The method parameters are invalid (for tools/call: the tool does not exist).',
  },
  GH_MCP_NOT_INITIALIZED: {
    status: 400,
    rpc: -32600,
    summary: 'A session was used before the initialize handshake completed.',
  },
  GH_MCP_SESSION_NOT_FOUND: {
    status: 404,
    rpc: -32001,
    summary: 'The Mcp-Session-Id is unknown or expired; start a new session with initialize.',
  },
  GH_MCP_SESSION_REQUIRED: {
    status: 400,
    rpc: -32600,
    summary: 'The request needs an Mcp-Session-Id header (GET streams and DELETE).',
  },
  GH_MCP_ORIGIN_FORBIDDEN: {
    status: 403,
    rpc: -32600,
    summary: 'The Origin header names a site that is not allowed (DNS-rebinding protection).',
  },
  GH_MCP_PROTOCOL_VERSION_UNSUPPORTED: {
    status: 400,
    rpc: -32600,
    summary: 'The MCP-Protocol-Version header names a version Gatehouse does not speak.',
  },
  GH_MCP_NOT_ACCEPTABLE: {
    status: 406,
    rpc: -32600,
    summary: 'The Accept header allows neither application/json nor text/event-stream.',
  },
  GH_MCP_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    rpc: -32600,
    summary: 'A POST body must be Content-Type: application/json.',
  },
  GH_MCP_METHOD_NOT_ALLOWED: {
    status: 405,
    rpc: -32600,
    summary: 'The HTTP method is not served on the MCP endpoint for this request.',
  },
  GH_TOOL_UNKNOWN: {
    status: 200,
    rpc: -32602,
    summary: 'tools/call named a tool that does not exist (or that the caller may not see).',
  },
  GH_TOOL_INVALID_ARGUMENTS: {
    status: 200,
    summary: 'tools/call arguments do not match the tool input schema; the tool result says which argument.',
  },
  GH_TOOL_FAILED: {
    status: 200,
    summary: 'The tool ran and reported a failure (a tool result with isError: true).',
  },
  GH_NOTE_NOT_FOUND: {
    status: 200,
    summary: "delete_user_note named a note that does not exist or is not the caller's.",
  },
} as const satisfies Record<string, { status: number; rpc?: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
