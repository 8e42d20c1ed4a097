import type { GatehouseError } from '../errors/index.js';

export interface ChallengeContext {
  /** URL of this resource's RFC 9728 metadata. */
  resourceMetadataUrl: string;
  /** Scopes a client should ask for to use the MCP endpoint, in the form the authorization server knows. */
  defaultScopes: readonly string[];
  /** Turns a scope name as tokens carry it into the form to ask the authorization server for. */
  advertise(scope: string): string;
}

/**
 * The WWW-Authenticate header for an authentication or scope failure (RFC 6750 §3, RFC 9728 §5.1,
 * MCP authorization "Scope Selection Strategy" and "Step-Up Authorization Flow").
 * `error` and its description appear only when a token was sent.
 */
export function wwwAuthenticate(error: GatehouseError, context: ChallengeContext): string | undefined {
  const metadata = `resource_metadata="${context.resourceMetadataUrl}"`;
  switch (error.code) {
    case 'GH_AUTH_MISSING_TOKEN':
      return `Bearer ${metadata}, scope="${context.defaultScopes.join(' ')}"`;
    case 'GH_AUTH_INVALID_TOKEN':
      return `Bearer error="invalid_token", error_description="${quoted(error.message)}", ${metadata}, scope="${context.defaultScopes.join(' ')}"`;
    case 'GH_AUTH_DUPLICATE_CREDENTIALS':
      return `Bearer error="invalid_request", error_description="${quoted(error.message)}", ${metadata}`;
    case 'GH_AUTH_INSUFFICIENT_SCOPE': {
      const required = (error.detail?.requiredScopes as string[] | undefined) ?? [];
      return `Bearer error="insufficient_scope", scope="${required.map(context.advertise).join(' ')}", ${metadata}, error_description="${quoted(error.message)}"`;
    }
    default:
      return undefined;
  }
}

/** RFC 7235 quoted-string content: no quotes, backslashes or control characters. */
function quoted(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += char === '"' || char === '\\' ? "'" : code < 0x20 || code === 0x7f ? ' ' : char;
  }
  return out;
}
