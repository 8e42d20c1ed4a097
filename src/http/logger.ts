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
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.clientSecret', '*.secret'],
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
