import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../errors/index.js';
import type { Metrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

/**
 * GET /metrics on the main listener. Off (404 GH_METRICS_DISABLED) unless METRICS_TOKEN is set;
 * then it needs `Authorization: Bearer <METRICS_TOKEN>` (401 GH_METRICS_UNAUTHORIZED otherwise).
 */
export async function metricsRoute(
  app: FastifyInstance,
  options: { metrics: Metrics; token: string | undefined },
): Promise<void> {
  const accepts = options.token === undefined ? undefined : tokenCheck(options.token);
  app.get(METRICS_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (accepts === undefined) {
      throw new GatehouseError(
        'GH_METRICS_DISABLED',
        '/metrics is off on this listener: set METRICS_TOKEN (and scrape with Authorization: Bearer <token>) or METRICS_PORT (a listener of its own); see docs/operations.md#metrics.',
      );
    }
    if (!accepts(request.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new GatehouseError(
        'GH_METRICS_UNAUTHORIZED',
        '/metrics needs Authorization: Bearer <METRICS_TOKEN>: the token was missing or wrong.',
      );
    }
    const { contentType, body } = await options.metrics.scrape();
    return reply.header('cache-control', 'no-store').type(contentType).send(body);
  });
}

/** Compares in constant time (over SHA-256 digests, so the lengths never differ). */
function tokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (authorization) => {
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '');
    if (match === null) return false;
    return timingSafeEqual(
      createHash('sha256')
        .update(match[1] as string)
        .digest(),
      expected,
    );
  };
}

/**
 * /metrics on a listener of its own (METRICS_HOST:METRICS_PORT), for a scraper on a private
 * network: no token unless METRICS_TOKEN is set. Everything else there is 404.
 */
export async function startMetricsListener(
  metrics: Metrics,
  settings: { host: string; port: number; token: string | undefined },
  onError: (error: unknown) => void = () => {},
): Promise<{ url: string; close(): Promise<void> }> {
  const accepts = settings.token === undefined ? () => true : tokenCheck(settings.token);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const refuse = (status: number, error: string, message: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify({ error, message }));
    };
    if (path !== METRICS_PATH || (request.method !== 'GET' && request.method !== 'HEAD')) {
      refuse(404, 'GH_HTTP_NOT_FOUND', `This listener serves only GET ${METRICS_PATH}.`);
      return;
    }
    if (!accepts(request.headers.authorization)) {
      refuse(
        401,
        'GH_METRICS_UNAUTHORIZED',
        '/metrics needs Authorization: Bearer <METRICS_TOKEN>: the token was missing or wrong.',
        { 'www-authenticate': 'Bearer realm="metrics"' },
      );
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        onError(error);
        refuse(500, 'GH_INTERNAL', 'Collecting the metrics failed; the server log has the details.');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const address = server.address() as { port: number; address: string; family: string };
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
