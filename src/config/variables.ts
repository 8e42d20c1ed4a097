/**
 * Every configuration variable Gatehouse reads, in one table. docs/configuration.md documents each
 * of them (a test checks the two agree). Parsing turns the raw string into a typed value or
 * returns an error sentence that says what is wrong and what to set.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface VariableSpec<T = unknown> {
  /** Canonical name. */
  name: string;
  /** Older names accepted for the same setting (the canonical name wins when both are set). */
  aliases?: readonly string[];
  description: string;
  /** Shown in the docs; undefined means "not set". */
  defaultText?: string;
  parse(raw: string): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const problem = <T>(text: string): Parsed<T> => ({ ok: false, problem: text });

export function booleanValue(raw: string): Parsed<boolean> {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return ok(true);
  if (['false', '0', 'no', 'off'].includes(value)) return ok(false);
  return problem(`'${raw}' is not a boolean: set true or false`);
}

export function integerValue(min: number, max: number, unit = '') {
  return (raw: string): Parsed<number> => {
    const trimmed = raw.trim();
    if (!/^\d+$/.test(trimmed))
      return problem(`'${raw}' is not a whole number${unit}: set an integer from ${min} to ${max}`);
    const value = Number(trimmed);
    if (value < min || value > max)
      return problem(`${value} is out of range: set an integer from ${min} to ${max}${unit}`);
    return ok(value);
  };
}

export function oneOf<const T extends string>(...choices: T[]) {
  return (raw: string): Parsed<T> => {
    const value = raw.trim().toLowerCase() as T;
    return choices.includes(value)
      ? ok(value)
      : problem(`'${raw}' is not allowed: set one of ${choices.join(', ')}`);
  };
}

export function stringValue(raw: string): Parsed<string> {
  const value = raw.trim();
  return value === '' ? problem('it is empty: unset it or give a value') : ok(value);
}

export function urlValue(protocols: readonly string[]) {
  return (raw: string): Parsed<string> => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      return problem(`'${redactUrl(raw)}' is not a URL: set a full URL such as ${protocols[0]}//host:port`);
    }
    if (!protocols.includes(url.protocol)) {
      return problem(`'${redactUrl(raw)}' has protocol ${url.protocol}: use ${protocols.join(' or ')}`);
    }
    return ok(raw.trim());
  };
}

export function originListValue(raw: string): Parsed<string[]> {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of items) {
    if (!/^https?:\/\/[^/\s]+$/.test(item)) {
      return problem(
        `'${item}' is not an origin: give scheme://host[:port] with no path, e.g. https://app.example.com or http://localhost:*`,
      );
    }
  }
  return ok(items);
}

/** Removes a password from a URL before it is shown anywhere. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@/]+@/, '//$1:***@');
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const VARIABLES = {
  HOST: {
    name: 'HOST',
    description:
      'Address the HTTP server binds to. Development mode (auth off) only allows a loopback address.',
    defaultText: '127.0.0.1',
    parse: stringValue,
  },
  PORT: {
    name: 'PORT',
    description: 'TCP port of the HTTP server (0 picks a free port).',
    defaultText: '8000',
    parse: integerValue(0, 65535),
  },
  NODE_ENV: {
    name: 'NODE_ENV',
    description: 'Set to production in production: development mode then refuses to start.',
    defaultText: 'development',
    parse: oneOf('development', 'production', 'test'),
  },
  MCP_ENABLE_AUTH: {
    name: 'MCP_ENABLE_AUTH',
    aliases: ['ENABLE_AUTH'],
    description:
      'false runs the MCP endpoint without authentication (development mode, loopback only, never in production). true requires authentication, which this version cannot provide yet, so it refuses to start.',
    defaultText: 'false',
    parse: booleanValue,
  },
  MCP_SERVER_BASE_URL: {
    name: 'MCP_SERVER_BASE_URL',
    description:
      'Public origin of Gatehouse as clients reach it (behind a proxy: the proxy URL). Used in metadata and as an allowed Origin.',
    defaultText: 'http://{HOST}:{PORT}',
    parse: urlValue(['http:', 'https:']),
  },
  MCP_ALLOWED_ORIGINS: {
    name: 'MCP_ALLOWED_ORIGINS',
    description:
      'Extra browser origins allowed to call /mcp, comma-separated (`*` allowed as the port: http://localhost:*). Loopback origins and the MCP_SERVER_BASE_URL origin are always allowed.',
    parse: originListValue,
  },
  MCP_SESSION_MODE: {
    name: 'MCP_SESSION_MODE',
    description:
      'stateful: initialize returns an Mcp-Session-Id (requests without one are still served statelessly). stateless: no sessions are created.',
    defaultText: 'stateful',
    parse: oneOf('stateful', 'stateless'),
  },
  MCP_SESSION_TTL: {
    name: 'MCP_SESSION_TTL',
    description: 'Seconds an idle MCP session is kept before it expires (a request resets the clock).',
    defaultText: '3600',
    parse: integerValue(60, 7 * 24 * 3600, ' seconds'),
  },
  MCP_RESPONSE_MODE: {
    name: 'MCP_RESPONSE_MODE',
    description:
      'json: answer POSTs with a JSON body, switching to an SSE stream only when a request asks for progress or the client accepts only SSE. sse: always answer with an SSE stream.',
    defaultText: 'json',
    parse: oneOf('json', 'sse'),
  },
  HTTP_BODY_LIMIT: {
    name: 'HTTP_BODY_LIMIT',
    description: 'Largest accepted request body in bytes; larger bodies get 413.',
    defaultText: '1048576',
    parse: integerValue(1024, 64 * 1024 * 1024, ' bytes'),
  },
  HTTP_SHUTDOWN_TIMEOUT: {
    name: 'HTTP_SHUTDOWN_TIMEOUT',
    description:
      'Seconds to let in-flight requests finish after SIGTERM/SIGINT before the process exits anyway.',
    defaultText: '10',
    parse: integerValue(0, 600, ' seconds'),
  },
  LOG_LEVEL: {
    name: 'LOG_LEVEL',
    description: `Log level: ${LOG_LEVELS.join(', ')}. Each request is logged at debug.`,
    defaultText: 'info',
    parse: oneOf(...LOG_LEVELS),
  },
  LOG_FORMAT: {
    name: 'LOG_FORMAT',
    description: 'json: one JSON object per line. pretty: readable lines for a terminal.',
    defaultText: 'pretty when stdout is a terminal, otherwise json',
    parse: oneOf('json', 'pretty'),
  },
  GATEHOUSE_DATA_DIR: {
    name: 'GATEHOUSE_DATA_DIR',
    description: 'Folder for the SQLite database (gatehouse.db) when DATABASE_URL is not set.',
    defaultText: './data',
    parse: stringValue,
  },
  DATABASE_URL: {
    name: 'DATABASE_URL',
    description:
      'PostgreSQL connection URL (postgres://user:pass@host:5432/db). When set, durable data lives in PostgreSQL instead of SQLite.',
    parse: urlValue(['postgres:', 'postgresql:']),
  },
  DATABASE_SCHEMA: {
    name: 'DATABASE_SCHEMA',
    description:
      'PostgreSQL schema to use (created if missing); lets several deployments share one database.',
    defaultText: 'public',
    parse: stringValue,
  },
  REDIS_URL: {
    name: 'REDIS_URL',
    description:
      'Redis URL (redis://host:6379). When set, short-lived state (sessions, codes, counters) lives in Redis, shared by every instance.',
    parse: urlValue(['redis:', 'rediss:']),
  },
  REDIS_KEY_PREFIX: {
    name: 'REDIS_KEY_PREFIX',
    description: 'Prefix of every Redis key Gatehouse writes.',
    defaultText: 'gatehouse:',
    parse: stringValue,
  },
  GATEHOUSE_CONFIG_FILE: {
    name: 'GATEHOUSE_CONFIG_FILE',
    description:
      'Path of an optional JSON config file. Its `env` object may set any variable in this table; real environment variables win.',
    parse: stringValue,
  },
} as const satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof VARIABLES;
export type VariableValue<N extends VariableName> =
  (typeof VARIABLES)[N] extends VariableSpec<infer T> ? T : never;
