import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses an outgoing request of the authorization server (client ID metadata documents, clients'
 * JWKS) may never reach: loopback, private, link-local, shared, documentation, benchmarking,
 * multicast and reserved ranges (the IANA special-purpose registries).
 */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');

/** Whether an IP address is outside the public internet (IPv4-mapped IPv6 judged as its IPv4). */
export function isNonPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return NON_PUBLIC.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class NonPublicAddressError extends Error {
  override name = 'NonPublicAddressError';
}

/**
 * The DNS lookup a connection uses: it resolves the name once, refuses it when any address is not
 * public, and hands the connection exactly the addresses it checked, so there is no second
 * resolution for a rebinding name to answer differently, and no connection is opened to a refused
 * address.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((entry) => isNonPublicAddress(entry.address));
    if (refused !== undefined || addresses.length === 0) {
      const refusal = new NonPublicAddressError(
        `${hostname} resolves to ${refused?.address ?? 'no address'}, which is not a public address: refused before connecting`,
      ) as NodeJS.ErrnoException;
      refusal.code = 'ENONPUBLIC';
      return callback(refusal, '', 0);
    }
    if (options.all) return (callback as (e: null, a: typeof addresses) => void)(null, addresses);
    const first = addresses[0] as { address: string; family: number };
    return callback(null, first.address, first.family);
  });
};

type Dispatcher = object;
let dispatcher: Dispatcher | undefined;

/**
 * undici's Agent, as the fetch built into Node.js has it (no dependency on the undici package): the
 * class of its global dispatcher, which exists once fetch's classes have been loaded.
 */
function publicOnlyDispatcher(): Dispatcher {
  if (dispatcher !== undefined) return dispatcher;
  void Response;
  const global = globalThis as Record<symbol, unknown>;
  const current = (global[Symbol.for('undici.globalDispatcher.2')] ??
    global[Symbol.for('undici.globalDispatcher.1')]) as { constructor: new (options: unknown) => Dispatcher };
  if (current === undefined) throw new Error("this Node.js's fetch has no undici dispatcher to configure");
  dispatcher = new current.constructor({ connect: { lookup: publicOnlyLookup } });
  return dispatcher;
}

/**
 * The fetch the authorization server uses for every outgoing request: a URL naming a non-public IP
 * address is refused outright, and a host name is resolved, checked and pinned by the connection's
 * own lookup (publicOnlyLookup) before any TCP or TLS handshake.
 */
export async function publicFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) !== 0 && isNonPublicAddress(host)) {
    throw new TypeError('fetch failed', {
      cause: new NonPublicAddressError(`${host} is not a public address: refused before connecting`),
    });
  }
  return globalThis.fetch(url, { ...init, dispatcher: publicOnlyDispatcher() } as RequestInit);
}
