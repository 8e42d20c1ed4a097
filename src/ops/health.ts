import type { FastifyInstance } from 'fastify';
import type { DurableStore, EphemeralStore } from '../storage/contract.js';
import type { AuditSinkStats } from './audit.js';

/**
 * /health says the process is alive; /ready says its storage answers (503 otherwise). The audit
 * log's state is shown in /ready (checks.audit, and its counters under audit) but never makes it
 * 503: a database outage already does through the database's own check, and taking an instance
 * out of rotation for events already lost would turn an audit problem into an outage.
 */
export async function healthRoutes(
  app: FastifyInstance,
  options: { durable: DurableStore; ephemeral: EphemeralStore; audit?: { stats(): AuditSinkStats } },
) {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (request, reply) => {
    const checks = await Promise.all([
      probe(options.durable.backend, () => options.durable.ping()),
      options.ephemeral === options.durable.ephemeral
        ? undefined
        : probe(options.ephemeral.backend, () => options.ephemeral.ping()),
    ]);
    const results = Object.fromEntries(
      checks.filter((check) => check !== undefined).map((check) => [check.name, check.result]),
    );
    const ready = Object.values(results).every((result) => result === 'ok');
    const audit = options.audit?.stats();
    if (audit !== undefined) results.audit = auditCheck(audit);
    if (!ready) request.log.warn({ checks: results }, 'not ready');
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unavailable', checks: results, ...(audit ? { audit } : {}) });
  });
}

async function probe(name: string, ping: () => Promise<void>): Promise<{ name: string; result: string }> {
  try {
    await ping();
    return { name, result: 'ok' };
  } catch (error) {
    return { name, result: (error as Error).message };
  }
}

/** 'ok' while events are written and none was lost; otherwise what is wrong, in a sentence. */
function auditCheck(stats: AuditSinkStats): string {
  const problems: string[] = [];
  if (stats.lastError !== null)
    problems.push(`writes failing (${stats.queued} events queued, retrying): ${stats.lastError}`);
  if (stats.dropped > 0) problems.push(`${stats.dropped} events dropped since start`);
  return problems.length === 0 ? 'ok' : problems.join('; ');
}
