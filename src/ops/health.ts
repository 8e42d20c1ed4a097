import type { FastifyInstance } from 'fastify';
import type { DurableStore, EphemeralStore } from '../storage/contract.js';

/** /health says the process is alive; /ready says its storage answers (503 otherwise). */
export async function healthRoutes(
  app: FastifyInstance,
  options: { durable: DurableStore; ephemeral: EphemeralStore },
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
    if (!ready) request.log.warn({ checks: results }, 'not ready');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: results });
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
