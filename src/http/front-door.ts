import type { FastifyInstance } from 'fastify';
import { isLoopbackHost } from '../config/index.js';
import { GatehouseError } from '../errors/index.js';

/** Load-balancer probes answer on any host: balancers address instances by their own address. */
export const ANY_HOST_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

/**
 * Fastify's trustProxy for TRUSTED_PROXIES: only these peers' X-Forwarded-For, -Proto and -Host
 * count (request.ip, request.protocol, request.host); with none, the headers are ignored and
 * request.ip is the socket's peer.
 */
export function trustProxyOption(trusted: readonly string[]): false | string[] {
  return trusted.length === 0 ? false : [...trusted];
}

/** host[:port] as the public URL's scheme writes it (default port left out, lower case). */
function normalHost(host: string, protocol: string): URL | undefined {
  if (!/^[\w.\-[\]:]+$/.test(host)) return undefined;
  try {
    return new URL(`${protocol}//${host}`);
  } catch {
    return undefined;
  }
}

/**
 * Refuses requests addressed to another host than MCP_SERVER_BASE_URL's (421 GH_HTTP_MISDIRECTED):
 * a DNS name pointed at Gatehouse by someone else, or a shared cache keyed on Host, gets nothing.
 * The host is the Host header, or X-Forwarded-Host when the peer is a trusted proxy. A loopback
 * public URL (development) also accepts the other loopback names, which a browser cannot be
 * tricked into rebinding to.
 */
export function refuseForeignHosts(app: FastifyInstance, baseUrl: string): void {
  const base = new URL(baseUrl);
  const publicHost = base.host.toLowerCase();
  const loopbackBase = isLoopbackHost(base.hostname);
  // Host header values already found to be this server's: the common case costs one Set lookup
  // instead of a URL parse. Only accepted values enter it (a few spellings of the public host).
  const accepted = new Set<string>();
  app.addHook('onRequest', (request, _reply, done) => {
    const raw = request.host;
    if (typeof raw === 'string' && accepted.has(raw)) return done();
    const path = request.url.split('?', 1)[0] as string;
    if (ANY_HOST_PATHS.has(path)) return done();
    const host = typeof raw === 'string' ? normalHost(raw, base.protocol) : undefined;
    if (host?.host === publicHost || (loopbackBase && host !== undefined && isLoopbackHost(host.hostname))) {
      if (accepted.size < ACCEPTED_HOSTS_KEPT) accepted.add(raw as string);
      return done();
    }
    done(
      new GatehouseError(
        'GH_HTTP_MISDIRECTED',
        `Host '${String(raw ?? '')}' is not this server (${publicHost}): address requests to ${base.origin} (MCP_SERVER_BASE_URL). A proxy in front must pass the public Host, or X-Forwarded-Host with its own address in TRUSTED_PROXIES.`,
      ),
    );
  });
}

const ACCEPTED_HOSTS_KEPT = 32;
