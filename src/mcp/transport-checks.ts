import type { IncomingHttpHeaders } from 'node:http';
import { isLoopbackHost } from '../config/index.js';
import { GatehouseError } from '../errors/index.js';
import {
  isStatelessEraVersion,
  isSupportedProtocolVersion,
  SUPPORTED_PROTOCOL_VERSIONS,
} from './protocol.js';

const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$/i;
const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$/i;

export interface TransportPolicy {
  /** Validates the headers every MCP request must pass; throws the error to answer with. */
  check(headers: IncomingHttpHeaders): void;
}

/**
 * DNS-rebinding and protocol checks of the Streamable HTTP transport. Browsers send Origin on
 * cross-site requests, so a foreign Origin is refused; on a loopback bind the Host header is also
 * checked, because a rebound same-origin GET carries no Origin at all.
 */
export function createTransportPolicy(options: {
  baseUrl: string;
  bindHost: string;
  allowedOrigins: readonly string[];
}): TransportPolicy {
  const base = new URL(options.baseUrl);
  const exactOrigins = new Set<string>([base.origin.toLowerCase()]);
  const originPatterns: RegExp[] = [];
  const allowedHosts = new Set<string>([base.host.toLowerCase()]);
  for (const origin of options.allowedOrigins) {
    if (origin.endsWith(':*')) {
      const prefix = origin
        .slice(0, -2)
        .toLowerCase()
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      originPatterns.push(new RegExp(`^${prefix}(:\\d{1,5})?$`));
    } else {
      exactOrigins.add(origin.toLowerCase());
      allowedHosts.add(new URL(origin).host.toLowerCase());
    }
  }
  const checkHost = isLoopbackHost(options.bindHost);

  function originAllowed(origin: string): boolean {
    const lower = origin.toLowerCase();
    return (
      exactOrigins.has(lower) ||
      LOOPBACK_ORIGIN.test(lower) ||
      originPatterns.some((pattern) => pattern.test(lower))
    );
  }

  return {
    check(headers) {
      if (checkHost) {
        const host = headers.host;
        if (host !== undefined && !LOOPBACK_HOST.test(host) && !allowedHosts.has(host.toLowerCase())) {
          throw new GatehouseError(
            'GH_MCP_ORIGIN_FORBIDDEN',
            `Host '${host}' is not this server: requests must address ${base.host} (set MCP_SERVER_BASE_URL or MCP_ALLOWED_ORIGINS to allow another name).`,
          );
        }
      }
      const origin = headers.origin;
      if (origin !== undefined && !originAllowed(origin)) {
        throw new GatehouseError(
          'GH_MCP_ORIGIN_FORBIDDEN',
          `Origin '${origin}' is not allowed to call this MCP server. To allow a web client, add its origin to MCP_ALLOWED_ORIGINS.`,
        );
      }
      const version = headers['mcp-protocol-version'];
      // A version of the stateless era or later is that era's to answer (src/mcp/era.ts): it needs
      // the body to echo the request id and to compare the header with params._meta.
      if (
        version !== undefined &&
        !isSupportedProtocolVersion(version as string) &&
        !isStatelessEraVersion(version as string)
      ) {
        throw new GatehouseError(
          'GH_MCP_PROTOCOL_VERSION_UNSUPPORTED',
          `MCP-Protocol-Version '${String(version)}' is not supported: use one of ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}.`,
        );
      }
    },
  };
}

export interface AcceptedFormats {
  json: boolean;
  sse: boolean;
}

export function acceptedFormats(accept: string | undefined): AcceptedFormats {
  if (accept === undefined || accept === '') return { json: true, sse: true };
  const lower = accept.toLowerCase();
  const any = lower.includes('*/*');
  return { json: any || lower.includes('application/json'), sse: any || lower.includes('text/event-stream') };
}
