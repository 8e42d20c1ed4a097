import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

export { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS };

/** The stateless revision: no initialize, no sessions, a `_meta` envelope on every request. */
export const STATELESS_PROTOCOL_VERSION = '2026-07-28';

/** Every revision Gatehouse speaks, newest first (what server/discover and a -32022 error list). */
export const ALL_PROTOCOL_VERSIONS: readonly string[] = [
  STATELESS_PROTOCOL_VERSION,
  ...SUPPORTED_PROTOCOL_VERSIONS,
];

/**
 * Whether a version names the stateless era or a later one. Revisions are ISO dates, so the order
 * of strings is the order of time; a version after 2026-07-28 that Gatehouse does not serve is
 * still answered by that era's rules (the -32022 error naming what it serves).
 */
export function isStatelessEraVersion(version: string): boolean {
  return version >= STATELESS_PROTOCOL_VERSION;
}

/** Without an MCP-Protocol-Version header, the transport spec says to assume this one. */
export const DEFAULT_HEADER_PROTOCOL_VERSION = '2025-03-26';

const supported = new Set<string>(SUPPORTED_PROTOCOL_VERSIONS);

export function isSupportedProtocolVersion(version: string): boolean {
  return supported.has(version);
}

/** The client's requested version when we speak it, otherwise our latest (the client decides whether to go on). */
export function negotiateProtocolVersion(requested: unknown): string {
  return typeof requested === 'string' && supported.has(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

/** MCP logging levels, least severe first (RFC 5424's order). */
export const LOG_LEVELS: readonly string[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
];
