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
  GH_SECRET_UNREADABLE: {
    status: 500,
    summary:
      'A secret stored encrypted could not be decrypted: the encryption key (MCP_AZURE_JWT_SIGNING_KEY or GATEHOUSE_ENCRYPTION_KEY) is not the one it was written with, or the stored value was altered.',
  },
  GH_HTTP_BODY_TOO_LARGE: {
    status: 413,
    rpc: -32600,
    summary: 'The request body is larger than HTTP_BODY_LIMIT.',
  },
  GH_HTTP_MISDIRECTED: {
    status: 421,
    rpc: -32600,
    summary:
      'The request names another host (Host, or X-Forwarded-Host from a trusted proxy) than MCP_SERVER_BASE_URL; /health and /ready answer on any host.',
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
  GH_MCP_SSE_SESSION_REQUIRED: {
    status: 400,
    rpc: -32600,
    summary:
      'POST /messages (legacy HTTP+SSE transport) needs the ?sessionId= of the endpoint its SSE stream announced.',
  },
  GH_MCP_SSE_SESSION_NOT_FOUND: {
    status: 404,
    rpc: -32001,
    summary:
      "The sessionId names no open SSE stream of the caller (it closed, never existed, or is another user's); open GET /sse again.",
  },
  GH_MCP_SSE_WRONG_INSTANCE: {
    status: 421,
    rpc: -32001,
    summary:
      "The caller's SSE stream is held by another Gatehouse instance: the load balancer must route /messages to the instance holding /sse (session affinity).",
  },
  GH_MCP_SSE_STREAM_LIMIT: {
    status: 429,
    rpc: -32600,
    summary:
      'The user already holds MCP_SSE_MAX_STREAMS_PER_USER open legacy SSE streams on this instance; close one or use Streamable HTTP.',
  },
  GH_MCP_HEADER_MISMATCH: {
    status: 400,
    rpc: -32020,
    summary:
      'MCP 2026-07-28: the MCP-Protocol-Version, Mcp-Method or Mcp-Name header is missing or disagrees with the body; the message names which.',
  },
  GH_MCP_ENVELOPE_INVALID: {
    status: 400,
    rpc: -32602,
    summary:
      'MCP 2026-07-28: params._meta lacks io.modelcontextprotocol/protocolVersion or io.modelcontextprotocol/clientCapabilities, or one of its reserved keys is malformed.',
  },
  GH_MCP_REVISION_UNSUPPORTED: {
    status: 400,
    rpc: -32022,
    summary:
      'The request names a protocol revision Gatehouse does not serve; error.data.supported lists those it does.',
  },
  GH_MCP_BATCH_UNSUPPORTED: {
    status: 400,
    rpc: -32600,
    summary: 'A JSON-RPC batch carries a 2026-07-28 request; that revision takes one message per POST.',
  },
  GH_MCP_STATELESS_METHOD_NOT_ALLOWED: {
    status: 405,
    rpc: -32000,
    summary:
      'GET or DELETE with MCP-Protocol-Version 2026-07-28: that revision keeps no sessions or listening streams; send requests with POST.',
  },
  GH_AUTH_MISSING_TOKEN: {
    status: 401,
    rpc: -32001,
    summary:
      'No bearer token in the Authorization header; the WWW-Authenticate header says where to get one.',
  },
  GH_AUTH_INVALID_TOKEN: {
    status: 401,
    rpc: -32001,
    summary:
      'The bearer token is not acceptable (signature, issuer, audience, times, tenant or client); the description says which.',
  },
  GH_AUTH_KEYS_UNAVAILABLE: {
    status: 503,
    rpc: -32001,
    summary:
      "The issuer's signing keys could not be fetched and none are cached; retry after Retry-After seconds.",
  },
  GH_AUTH_INSUFFICIENT_SCOPE: {
    status: 403,
    rpc: -32001,
    summary:
      'The token lacks a scope the request needs; WWW-Authenticate names every scope to ask for (step-up).',
  },
  GH_AUTH_DUPLICATE_CREDENTIALS: {
    status: 400,
    rpc: -32600,
    summary:
      'The request carries more than one Authorization header; send exactly one credential (RFC 6750 invalid_request).',
  },
  GH_AUTH_PATH_TOKEN_FORBIDDEN: {
    status: 403,
    rpc: -32001,
    summary: 'The token in the /mcp/t-{token}/http path is not the configured MCP_SERVER_TOKEN.',
  },
  GH_POLICY_NO_MEMBERSHIP: {
    status: 403,
    rpc: -32001,
    summary:
      'The user belongs to no organization or team and has no role from Entra ID; an administrator must add them.',
  },
  GH_POLICY_ROLE_REQUIRED: {
    status: 200,
    rpc: -32003,
    summary: 'The tool needs a role the caller does not have; the message names it.',
  },
  GH_ENTRA_UNAVAILABLE: {
    status: 502,
    summary: "Entra ID's discovery or token endpoint could not be reached.",
  },
  GH_ENTRA_SIGN_IN_ENDED: {
    status: 400,
    summary:
      "Entra ID refused to refresh the user's sign-in because they must sign in again (invalid_grant, e.g. Conditional Access sign-in frequency AADSTS70043; interaction_required, e.g. MFA AADSTS50076/50079): the Gatehouse grants built on it end with invalid_grant, and the next authorization goes through Entra again.",
  },
  GH_ENTRA_SIGN_IN_FAILED: {
    status: 400,
    summary: 'Entra ID refused or failed the sign-in; the message carries its AADSTS error.',
  },
  GH_ENTRA_CLAIMS_CHALLENGE: {
    status: 200,
    summary:
      "Entra ID answered an on-behalf-of request with a claims challenge (interaction_required, e.g. MFA AADSTS50076/50079, a Conditional Access policy): the tool result says to sign in again; Gatehouse passes the claims to Entra at the user's next sign-in, after which the call succeeds.",
  },
  GH_ENTRA_OBO_FAILED: {
    status: 200,
    summary:
      "Entra ID refused to issue a token on the user's behalf for another API (missing admin consent AADSTS65001, unknown API, Gatehouse's credential); the message carries the AADSTS error.",
  },
  GH_ENTRA_OBO_APP_ONLY: {
    status: 200,
    summary:
      "A tool that acts on the user's behalf (on-behalf-of) was called by a caller with no user: an app-only Entra token (client credentials), the MCP_SERVER_TOKEN path token, or development mode.",
  },
  GH_ENTRA_ACCOUNT_DISABLED: {
    status: 403,
    summary:
      'MCP_AZURE_VALIDATE_WITH_GRAPH is on and Microsoft Graph reports the signing-in account disabled (accountEnabled false): the sign-in is refused with a page saying so.',
  },
  GH_GRAPH_FAILED: {
    status: 200,
    summary:
      "Microsoft Graph could not be reached or refused a request Gatehouse made on the user's behalf; the message carries its error code.",
  },
  GH_CONSENT_INVALID: {
    status: 400,
    summary:
      'The consent form was not valid: missing or wrong CSRF token, another interaction, or an expired page.',
  },
  GH_SIGN_IN_STATE_INVALID: {
    status: 400,
    summary:
      'The sign-in callback has an unknown, used or expired state, or arrived in another browser than the one that started it.',
  },
  GH_WEB_SIGN_IN_REQUIRED: {
    status: 401,
    summary:
      "A page of Gatehouse's own (the admin console) was asked for without a browser session: sign in at /auth/login.",
  },
  GH_WEB_FORBIDDEN: {
    status: 403,
    summary: 'The admin console was asked for by a signed-in user who does not hold the admin role.',
  },
  GH_WEB_CSRF_INVALID: {
    status: 403,
    summary:
      "A form of Gatehouse's own pages was posted without the security token of this browser's session (or with another one).",
  },
  GH_WEB_SIGN_IN_UNAVAILABLE: {
    status: 404,
    summary:
      'Browser sign-in was asked for while Gatehouse has no Entra credential (it is not the authorization server), or the break-glass login while it is not enabled.',
  },
  GH_WEB_BREAK_GLASS_REFUSED: {
    status: 401,
    summary: 'The break-glass login was refused: wrong username or password, or too many attempts.',
  },
  GH_WEB_INPUT_INVALID: {
    status: 400,
    summary: 'An admin console form had a missing or invalid field (the message names it).',
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
  GH_CHAT_NOT_FOUND: {
    status: 200,
    summary:
      "send_message or finish_chat named a conversation that does not exist or is not the caller's (a tool result with isError).",
  },
  GH_CHAT_FINISHED: {
    status: 200,
    summary:
      'send_message named a conversation ended with finish_chat; start a new one by leaving conversationId out.',
  },
  GH_CHAT_CONFLICT: {
    status: 200,
    summary:
      'Another message was added to the conversation while this one was being answered; nothing was stored, send it again.',
  },
  GH_CHAT_BACKEND_FAILED: {
    status: 200,
    summary:
      'The chat completions backend refused the request or broke off its answer (the message gives its status and words); nothing was stored.',
  },
  GH_CHAT_BACKEND_UNAVAILABLE: {
    status: 200,
    summary:
      'The chat completions backend could not be reached or did not finish within CHAT_TIMEOUT; nothing was stored.',
  },
  GH_MCP_REQUEST_CANCELLED: {
    status: 200,
    rpc: -32800,
    summary:
      'The client cancelled the request (notifications/cancelled); the answer only closes the exchange.',
  },
  GH_MCP_RESOURCE_NOT_FOUND: {
    status: 200,
    rpc: -32002,
    summary: 'resources/read (or a completion) named a resource URI no server serves.',
  },
  GH_MCP_PROMPT_NOT_FOUND: {
    status: 200,
    rpc: -32602,
    summary:
      'prompts/get (or a completion) named a prompt Gatehouse does not serve; prompts/list shows the ones it does.',
  },
  GH_MCP_PROMPT_ARGUMENTS_INVALID: {
    status: 200,
    rpc: -32602,
    summary:
      'prompts/get left out a required argument of a built-in prompt, or gave one it cannot use; the message names it.',
  },
  GH_API_ROLE_REQUIRED: {
    status: 403,
    summary: 'The HTTP API operation needs a role the caller does not have; the message names it.',
  },
  GH_AUDIT_INVALID_QUERY: {
    status: 400,
    summary:
      'A filter of /api/audit or /api/audit/export is invalid (a time that is not ISO 8601, a limit out of range, a cursor no page returned); the message names it.',
  },
  GH_GATEWAY_INVALID_SERVER: {
    status: 400,
    rpc: -32602,
    summary:
      'An upstream server definition is invalid (name, URL, command, unknown field, …); the message lists every problem.',
  },
  GH_GATEWAY_SERVER_EXISTS: {
    status: 409,
    rpc: -32602,
    summary: 'A server with that name is already registered (or declared in the config file).',
  },
  GH_GATEWAY_SERVER_CONFLICT: {
    status: 409,
    rpc: -32602,
    summary:
      'The server was changed or deleted by someone else while this update ran; read it again and retry.',
  },
  GH_GATEWAY_SERVER_NOT_FOUND: {
    status: 404,
    rpc: -32602,
    summary: 'No upstream server has that name.',
  },
  GH_GATEWAY_SERVER_READ_ONLY: {
    status: 409,
    rpc: -32602,
    summary:
      'The server is declared in GATEHOUSE_CONFIG_FILE and cannot be changed or deleted at runtime; edit the file.',
  },
  GH_GATEWAY_STDIO_REFUSED: {
    status: 403,
    rpc: -32602,
    summary:
      'Registering a stdio server at runtime starts a program on the Gatehouse host; it is off unless GATEHOUSE_GATEWAY_RUNTIME_STDIO=true.',
  },
  GH_GATEWAY_UPSTREAM_UNAVAILABLE: {
    status: 502,
    rpc: -32031,
    summary: 'The upstream server could not be reached, or its connection was lost during the request.',
  },
  GH_GATEWAY_UPSTREAM_TIMEOUT: {
    status: 504,
    rpc: -32032,
    summary: 'The upstream server did not answer within its timeout ("timeoutMs").',
  },
  GH_GATEWAY_CIRCUIT_OPEN: {
    status: 503,
    rpc: -32033,
    summary:
      'The upstream failed repeatedly, so calls to it are refused at once until the time the message gives (circuit breaker).',
  },
  GH_RATE_LIMITED: {
    status: 429,
    rpc: -32029,
    summary:
      'Too many requests: the caller (on MCP) or the address (on the sign-in and OAuth endpoints) used up its budget for the window; retry after Retry-After seconds (RATE_LIMIT_* settings).',
  },
  GH_BREAK_GLASS_INVALID_CREDENTIALS: {
    status: 401,
    summary: 'The break-glass administrator login was refused: the user name or the password is wrong.',
  },
  GH_BREAK_GLASS_TOO_EARLY: {
    status: 429,
    summary:
      'A break-glass login came before the delay that follows a failed attempt (1, 2, 4, 8 s) was over; retry after Retry-After seconds.',
  },
  GH_BREAK_GLASS_LOCKED: {
    status: 429,
    summary:
      'Five failed break-glass logins locked the account or the address for 5 minutes; retry after Retry-After seconds.',
  },
  GH_METRICS_DISABLED: {
    status: 404,
    summary:
      '/metrics is off on this listener: set METRICS_TOKEN to scrape it here with a bearer token, or METRICS_PORT to serve it on a listener of its own.',
  },
  GH_METRICS_UNAUTHORIZED: {
    status: 401,
    summary: '/metrics needs Authorization: Bearer <METRICS_TOKEN>; the token was missing or wrong.',
  },
  GH_MEMBERS_USER_NOT_FOUND: {
    status: 404,
    summary: 'gatehouse members: no user matches the given id, tenantId/objectId or username.',
  },
  GH_MEMBERS_USER_AMBIGUOUS: {
    status: 409,
    summary:
      'gatehouse members: the username belongs to more than one user (in different tenants); name the user by id or tenantId/objectId.',
  },
  GH_MEMBERS_NOT_FOUND: {
    status: 404,
    summary: 'gatehouse members remove: the user has no such membership.',
  },
} as const satisfies Record<string, { status: number; rpc?: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
