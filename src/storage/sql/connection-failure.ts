/**
 * Messages for a database or cache that cannot be reached. Each names the variable that points
 * at the server and what to check; none repeats a URL, so a password in it cannot leak.
 */

export interface ServerEndpoint {
  /** 'PostgreSQL', 'Redis'. */
  product: string;
  /** host:port, never the URL. */
  address: string;
  /** The setting that holds the URL, e.g. DATABASE_URL. */
  variable: string;
}

/** host:port of a server URL, without user or password. */
export function addressOf(url: string, defaultPort: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || defaultPort}`;
  } catch {
    return 'the configured address';
  }
}

/** The `code` of a Node or driver error, looking inside AggregateError (several addresses tried). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (error instanceof AggregateError) return errorCode(error.errors[0]);
  return undefined;
}

const NETWORK_FAILURES: Record<string, (at: ServerEndpoint) => string> = {
  ECONNREFUSED: (at) =>
    `${at.product} at ${at.address} refused the connection (${at.variable}): is the server running?`,
  ENOTFOUND: (at) =>
    `${at.product} host in ${at.address} could not be resolved (${at.variable}): check the host name.`,
  EAI_AGAIN: (at) =>
    `${at.product} host in ${at.address} could not be resolved (${at.variable}): check the host name and DNS.`,
  ETIMEDOUT: (at) =>
    `${at.product} at ${at.address} did not answer in time (${at.variable}): check the host, the port and any firewall.`,
  EHOSTUNREACH: (at) =>
    `${at.product} at ${at.address} is unreachable (${at.variable}): check the network route.`,
  ENETUNREACH: (at) =>
    `${at.product} at ${at.address} is unreachable (${at.variable}): check the network route.`,
  ECONNRESET: (at) =>
    `${at.product} at ${at.address} closed the connection (${at.variable}): is the server restarting or out of connections?`,
  EPIPE: (at) =>
    `${at.product} at ${at.address} closed the connection (${at.variable}): is the server restarting or out of connections?`,
};

/** The message for a socket-level failure to reach the server, or undefined when it is not one. */
export function describeNetworkFailure(error: unknown, at: ServerEndpoint): string | undefined {
  const code = errorCode(error);
  const describe = code === undefined ? undefined : NETWORK_FAILURES[code];
  return describe?.(at);
}
