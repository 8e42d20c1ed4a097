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
