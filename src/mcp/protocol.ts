import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

export { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS };

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
