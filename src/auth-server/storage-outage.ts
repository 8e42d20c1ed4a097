import type Provider from 'oidc-provider';
import { isGatehouseError } from '../errors/index.js';
import { STORAGE_RETRY_AFTER_SECONDS } from '../resource-server/routes.js';

const OUTAGE = 'gatehouseStorageOutage';

function storageOutage(error: unknown): { message: string } | undefined {
  for (let cause = error, depth = 0; cause !== undefined && depth < 5; depth++) {
    if (isGatehouseError(cause) && cause.code === 'GH_STORAGE_UNAVAILABLE') return cause;
    cause = (cause as { cause?: unknown } | null)?.cause;
  }
  return undefined;
}

/**
 * oidc-provider answers any failure of its storage with 500 server_error. When the cause is
 * PostgreSQL or Redis not answering, the client is told what it is: 503 temporarily_unavailable
 * with Retry-After, like Gatehouse's other routes (GH_STORAGE_UNAVAILABLE); nothing was changed,
 * so the same request (a refresh, a registration) may be sent again once storage is back.
 */
export function answerStorageOutages(provider: Provider): void {
  provider.on('server_error', (ctx: unknown, error: unknown) => {
    const outage = storageOutage(error);
    if (outage !== undefined) (ctx as { state: Record<string, unknown> }).state[OUTAGE] = outage;
  });
  provider.use(async (ctx, next) => {
    await next();
    const outage = ctx.state[OUTAGE] as { message: string } | undefined;
    if (outage === undefined || ctx.status !== 500) return;
    ctx.status = 503;
    ctx.set('retry-after', STORAGE_RETRY_AFTER_SECONDS);
    const body = {
      error: 'temporarily_unavailable',
      error_description: `Storage did not answer (GH_STORAGE_UNAVAILABLE): ${outage.message} Retry after ${STORAGE_RETRY_AFTER_SECONDS} seconds.`,
    };
    if (ctx.type?.includes('html')) {
      ctx.type = 'text/plain';
      ctx.body = `${body.error_description}\n`;
    } else ctx.body = body;
  });
}
