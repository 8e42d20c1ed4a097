import pino, { type Logger } from 'pino';
import type { GatehouseConfig } from '../config/index.js';

/** JSON lines by default; readable lines in a terminal (LOG_FORMAT=pretty). */
export function createLogger(
  config: Pick<GatehouseConfig, 'log'>,
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base: { service: 'gatehouse' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.authorization',
        '*.password',
        '*.clientSecret',
        '*.client_secret',
        '*.secret',
        '*.access_token',
        '*.refresh_token',
        '*.id_token',
        '*.code_verifier',
        '*.client_assertion',
      ],
      censor: '[redacted]',
    },
  };
  if (destination !== undefined) return pino(options, destination);
  if (config.log.format === 'pretty') {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  }
  return pino(options);
}

/** Query parameters that carry credentials (OAuth codes and tokens, PKCE verifiers, assertions, session ids). */
const SECRET_PARAMETERS = new Set([
  'code',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'client_secret',
  'code_verifier',
  'assertion',
  'client_assertion',
  'sessionid',
  'session_id',
]);
const PATH_TOKEN = /^\/mcp\/t-[^/?]*/;

/**
 * A request URL fit for a log line: the shared path token (/mcp/t-{token}/http) and every credential
 * in the query string replaced by [redacted]; the rest kept, so the line still says what was asked.
 */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  const path = (query < 0 ? url : url.slice(0, query)).replace(PATH_TOKEN, '/mcp/t-[redacted]');
  if (query < 0) return path;
  const parameters = url
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // an undecodable name is compared as sent
      }
      return SECRET_PARAMETERS.has(decoded.toLowerCase()) ? `${name}=[redacted]` : pair;
    });
  return `${path}?${parameters.join('&')}`;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
type LevelName = (typeof LEVELS)[number];
type LogCall = (...args: unknown[]) => void;

/**
 * A request's child logger that is made only when something is logged at an enabled level (or its
 * level, bindings or own children are asked for). Fastify gives every request a child logger with
 * its requestId bound, and pino's `child()` serializes those bindings through the redaction paths:
 * a few microseconds on every request, most of which log nothing at all. Once made, the real child
 * answers everything; until then, `bindings` are kept as given.
 */
class DeferredChildLogger {
  #real: Logger | undefined;

  constructor(
    readonly parent: Logger,
    readonly childBindings: pino.Bindings,
    readonly childOptions: pino.ChildLoggerOptions,
  ) {}

  real(): Logger {
    this.#real ??= this.parent.child(this.childBindings, this.childOptions);
    return this.#real;
  }

  get level(): string {
    return this.#real?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.#real ?? this.parent).isLevelEnabled(level);
  }

  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return this.real().child(bindings, options);
  }

  bindings(): pino.Bindings {
    return this.#real?.bindings() ?? { ...this.parent.bindings(), ...this.childBindings };
  }

  silent(): void {}

  flush(callback?: (error?: Error) => void): void {
    this.parent.flush(callback);
  }
}

for (const level of LEVELS) {
  Object.defineProperty(DeferredChildLogger.prototype, level, {
    value: function log(this: DeferredChildLogger, ...args: unknown[]): void {
      const logger = this.isLevelEnabled(level) ? this.real() : undefined;
      if (logger !== undefined) (logger[level] as LogCall)(...args);
    },
  });
}

/** Fastify's `childLoggerFactory`: each request's logger, made when first used (DeferredChildLogger). */
export function deferredChildLogger(
  parent: Logger,
  bindings: pino.Bindings,
  options: pino.ChildLoggerOptions,
): Logger & Record<LevelName, LogCall> {
  // A route's own level or serializers change what the child logs: such a child is made at once.
  if (Object.keys(options).length > 0) return parent.child(bindings, options);
  return new DeferredChildLogger(parent, bindings, options) as unknown as Logger & Record<LevelName, LogCall>;
}
