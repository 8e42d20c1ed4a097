// Soak through the load balancer: three Gatehouse instances (the built CLI) behind HAProxy
// (deploy/haproxy.cfg) on PostgreSQL and Redis, first driven as hard as possible to measure the
// peak, then for --minutes at half that rate with tool calls, refreshes and sign-ins mixed.
// Reports errors, each instance's resident memory over time and the p99 latency per minute.
//
//   npm run build && npx tsx bench/soak/run.ts [--minutes 10] [--write]
//
// It uses the test helpers (emulator, cluster, HTTP sign-in) and a fresh database and Redis prefix
// on TEST_DATABASE_URL / TEST_REDIS_URL (default: the local ones), removed at the end.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevEntra } from '../../dev-entra/index.js';
import type { SeededUser } from '../../test/dev-entra/helpers.js';
import { type Cluster, startCluster } from '../../test/helpers/load-balanced-cluster.js';
import { HttpBrowser, refresh, signInForTokens } from '../../test/helpers/oauth-http-flow.js';
import { createTestDatabase, createTestRedisPrefix, TEST_REDIS_URL } from '../../test/helpers/services.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
};
const MINUTES = Number(arg('minutes', '10'));
const PEAK_SECONDS = Number(arg('peak-seconds', '20'));
const WRITE = process.argv.includes('--write');
const USERS: SeededUser[] = ['alice', 'bob', 'carol'];
const REFRESH_EVERY_MS = 2_000;
const SIGN_IN_EVERY_MS = 15_000;
const SAMPLE_EVERY_MS = 10_000;
const MAX_IN_FLIGHT = 256;

interface Grant {
  clientId: string;
  accessToken: string;
  refreshToken: string;
}

const call = (id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params:
      id % 2 === 0
        ? { name: 'whoami', arguments: {} }
        : { name: 'calculate_sum', arguments: { numbers: [id, 2, 3] } },
  });

async function toolCall(url: string, grant: Grant, id: number): Promise<void> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${grant.accessToken}`,
    },
    body: call(id),
  });
  const text = await response.text();
  if (response.status !== 200 || text.includes('"error"'))
    throw new Error(`tools/call ${response.status}: ${text.slice(0, 200)}`);
}

async function signIn(cluster: Cluster, user: SeededUser): Promise<Grant> {
  const { steps, tokens } = await signInForTokens(new HttpBrowser(cluster.url), { user });
  return {
    clientId: steps.client.clientId,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token!,
  };
}

async function refreshGrant(cluster: Cluster, grant: Grant): Promise<void> {
  const answer = await refresh(cluster.url, grant.clientId, grant.refreshToken);
  if (answer.status !== 200) throw new Error(`refresh ${answer.status}: ${answer.text.slice(0, 200)}`);
  const json = answer.json as { access_token: string; refresh_token: string };
  grant.accessToken = json.access_token;
  grant.refreshToken = json.refresh_token;
}

function residentKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  } catch {
    return undefined;
  }
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** Closed loop at `concurrency` for `seconds`: tool calls per second. */
async function peak(url: string, grants: Grant[], seconds: number, concurrency = 32): Promise<number> {
  let done = 0;
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      let id = worker;
      while (Date.now() < end) {
        try {
          await toolCall(url, grants[id % grants.length]!, id);
          done++;
        } catch {
          errors++;
        }
        id += concurrency;
      }
    }),
  );
  if (errors > 0) console.error(`  (${errors} errors during the peak probe at ${url})`);
  return done / seconds;
}

async function main() {
  const entra = await startDevEntra({ port: 0 });
  const database = await createTestDatabase();
  const redis = createTestRedisPrefix();
  const cluster = await startCluster({
    entra,
    databaseUrl: database.url,
    redisUrl: TEST_REDIS_URL,
    redisKeyPrefix: redis.prefix,
    // Sign-ins and registrations are the load here, not an attack.
    env: { GATEHOUSE_REGISTRATIONS_PER_HOUR: '100000', LOG_LEVEL: 'error' },
  });
  try {
    const grants: Grant[] = [];
    for (const user of USERS) grants.push(await signIn(cluster, user));

    console.error(`Peak: ${PEAK_SECONDS} s closed loop through the balancer, then against one instance`);
    const peakThree = await peak(cluster.url, grants, PEAK_SECONDS);
    const peakOne = await peak(cluster.instances[0]!.url, grants, PEAK_SECONDS);
    const rate = Math.max(1, Math.floor(peakThree / 2));
    console.error(
      `  three instances ${peakThree.toFixed(0)}/s, one ${peakOne.toFixed(0)}/s; soak at ${rate}/s`,
    );

    const latencies: { minute: number; ms: number }[] = [];
    const errors: { at: number; kind: string; message: string }[] = [];
    const counts = { toolCalls: 0, refreshes: 0, signIns: 0, skipped: 0 };
    const rss: { at: number; kb: (number | undefined)[] }[] = [];
    let inFlight = 0;
    let id = 0;
    const start = Date.now();
    const end = start + MINUTES * 60_000;
    const minuteOf = (at: number) => Math.floor((at - start) / 60_000);
    const track = async (kind: string, work: () => Promise<void>, timed: boolean) => {
      inFlight++;
      const began = performance.now();
      try {
        await work();
        if (timed) latencies.push({ minute: minuteOf(Date.now()), ms: performance.now() - began });
      } catch (error) {
        errors.push({ at: Date.now() - start, kind, message: String((error as Error).message ?? error) });
      } finally {
        inFlight--;
      }
    };

    console.error(
      `Soak: ${MINUTES} min at ${rate} tool calls/s, a refresh every ${REFRESH_EVERY_MS / 1000} s, a sign-in every ${SIGN_IN_EVERY_MS / 1000} s`,
    );
    const pending = new Set<Promise<void>>();
    const spawnWork = (promise: Promise<void>) => {
      pending.add(promise);
      void promise.finally(() => pending.delete(promise));
    };
    const TICK_MS = 20;
    let due = 0;
    const ticker = setInterval(() => {
      due += (rate * TICK_MS) / 1000;
      while (due >= 1) {
        due--;
        if (inFlight >= MAX_IN_FLIGHT) {
          counts.skipped++;
          continue;
        }
        const grant = grants[id % grants.length]!;
        const thisId = id++;
        counts.toolCalls++;
        spawnWork(track('tools/call', () => toolCall(cluster.url, grant, thisId), true));
      }
    }, TICK_MS);
    let refreshIndex = 0;
    const refresher = setInterval(() => {
      counts.refreshes++;
      spawnWork(
        track('refresh', () => refreshGrant(cluster, grants[refreshIndex++ % grants.length]!), false),
      );
    }, REFRESH_EVERY_MS);
    let signInIndex = 0;
    const signer = setInterval(() => {
      counts.signIns++;
      spawnWork(
        track(
          'sign-in',
          async () => {
            const grant = await signIn(cluster, USERS[signInIndex++ % USERS.length]!);
            await toolCall(cluster.url, grant, 0);
          },
          false,
        ),
      );
    }, SIGN_IN_EVERY_MS);
    const sample = () =>
      rss.push({
        at: Date.now() - start,
        kb: cluster.instances.map((instance) => residentKb(instance.pid())),
      });
    sample();
    const sampler = setInterval(sample, SAMPLE_EVERY_MS);
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const minute = minuteOf(Date.now());
      if ((Date.now() - start) % 60_000 < 1000)
        console.error(
          `  minute ${minute}: ${counts.toolCalls} calls, ${errors.length} errors, in flight ${inFlight}`,
        );
    }
    clearInterval(ticker);
    clearInterval(refresher);
    clearInterval(signer);
    clearInterval(sampler);
    await Promise.all(pending);
    sample();

    const minutes = Array.from({ length: MINUTES }, (_, minute) => {
      const ms = latencies.filter((entry) => entry.minute === minute).map((entry) => entry.ms);
      return { minute: minute + 1, calls: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99) };
    });
    // Memory after warm-up (the first minute) against the last minute, per instance.
    const average = (from: number, to: number, index: number) => {
      const values = rss
        .filter((entry) => entry.at >= from && entry.at <= to)
        .map((entry) => entry.kb[index])
        .filter((kb): kb is number => kb !== undefined);
      return values.reduce((sum, kb) => sum + kb, 0) / Math.max(1, values.length);
    };
    const total = MINUTES * 60_000;
    const memory = cluster.instances.map((instance, index) => {
      const warm = average(60_000, 120_000, index) || average(0, 60_000, index);
      const last = average(total - 60_000, total + 60_000, index);
      return {
        instance: instance.name,
        afterWarmUpMb: warm / 1024,
        lastMinuteMb: last / 1024,
        growth: warm > 0 ? last / warm - 1 : 0,
      };
    });
    const result = {
      measuredAt: new Date().toISOString(),
      node: process.version,
      minutes: MINUTES,
      peak: { threeInstancesPerSecond: peakThree, oneInstancePerSecond: peakOne, cores: 2 },
      rate,
      counts,
      errors: errors.length,
      firstErrors: errors.slice(0, 10),
      perMinute: minutes,
      memory,
      rss,
    };
    console.log(JSON.stringify({ ...result, rss: undefined }, null, 2));
    if (WRITE) writeFileSync(path.join(here, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await cluster.close();
    await entra.close();
    await redis.cleanup();
    await database.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
