import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, deferredChildLogger } from '../../../src/http/logger.js';

/** A Gatehouse logger at `level` whose lines land in the returned array. */
function capture(level: 'info' | 'debug' | 'warn') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ log: { level, format: 'json' } }, destination);
  return { logger, lines };
}

describe("a request's deferred child logger", () => {
  it('makes no pino child while nothing is logged at an enabled level', () => {
    const { logger, lines } = capture('info');
    const child = vi.spyOn(logger, 'child');
    const log = deferredChildLogger(logger, { requestId: 'r-1' }, {});
    log.debug('below the level');
    log.trace({ password: 'x' }, 'below the level');
    expect(log.isLevelEnabled('debug')).toBe(false);
    expect(log.level).toBe('info');
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  it('logs at enabled levels with its bindings, through the redaction paths', () => {
    const { logger, lines } = capture('info');
    const log = deferredChildLogger(logger, { requestId: 'r-2' }, {});
    log.warn({ user: { name: 'bob', password: 'hunter2' } }, 'something odd');
    log.info('and again');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      requestId: 'r-2',
      service: 'gatehouse',
      user: { name: 'bob', password: '[redacted]' },
      msg: 'something odd',
      level: 40,
    });
    expect(lines[1]).toMatchObject({ requestId: 'r-2', msg: 'and again' });
    expect(log.bindings()).toMatchObject({ requestId: 'r-2', service: 'gatehouse' });
  });

  it('redacts secrets in its own bindings as a pino child does', () => {
    const { logger, lines } = capture('info');
    const log = deferredChildLogger(logger, { requestId: 'r-3', session: { secret: 's3cr3t' } }, {});
    log.error('failed');
    expect(JSON.stringify(lines[0])).not.toContain('s3cr3t');
    expect(lines[0]).toMatchObject({ requestId: 'r-3', session: { secret: '[redacted]' } });
  });

  it('gives children that carry both bindings, and takes a level of its own', () => {
    const { logger, lines } = capture('info');
    const log = deferredChildLogger(logger, { requestId: 'r-4' }, {});
    log.child({ traceparent: 't-1' }).info('traced');
    expect(lines[0]).toMatchObject({ requestId: 'r-4', traceparent: 't-1', msg: 'traced' });
    log.level = 'debug';
    log.debug('now visible');
    expect(lines[1]).toMatchObject({ requestId: 'r-4', msg: 'now visible', level: 20 });
    expect(logger.isLevelEnabled('debug')).toBe(false);
  });

  it('follows a change of the parent level made after it was created', () => {
    const { logger, lines } = capture('warn');
    const log = deferredChildLogger(logger, { requestId: 'r-5' }, {});
    log.info('hidden');
    logger.level = 'info';
    log.info('shown');
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
  });

  it("makes the child at once for a route's own level", () => {
    const { logger, lines } = capture('info');
    const log = deferredChildLogger(logger, { requestId: 'r-6' }, { level: 'debug' });
    log.debug('route-level debug');
    expect(lines[0]).toMatchObject({ requestId: 'r-6', msg: 'route-level debug' });
  });

  it("is what Fastify hands a request as request.log, with the request's id", async () => {
    const { logger, lines } = capture('info');
    const app = Fastify({
      loggerInstance: logger,
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
      genReqId: () => 'req-fixed',
      childLoggerFactory: (parent, bindings, options) =>
        deferredChildLogger(parent as never, bindings, options) as never,
    });
    app.get('/', async (request) => {
      request.log.debug('not at info');
      request.log.warn({ headers: { authorization: 'Bearer abc' } }, 'seen');
      return 'ok';
    });
    const response = await app.inject({ method: 'GET', url: '/' });
    await app.close();
    expect(response.body).toBe('ok');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      requestId: 'req-fixed',
      msg: 'seen',
      headers: { authorization: '[redacted]' },
    });
  });
});
