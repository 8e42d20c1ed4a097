// Scenario: what the operations features cost on the authenticated `tools/call` path.
// The same stateless `tools/call calculate_sum` with bob's Entra token (as in tools-call), sent to
// Gatehouse as it is now — durable audit log (one row per call, with its outcome and duration,
// written in batches to SQLite), Prometheus counters and histograms, the per-user rate limit counted
// on every request — and to Gatehouse as it was before those features (`--baseline`, a git
// revision, built from `git archive` into a temporary directory with this checkout's
// node_modules), plus the bare node:http floor, in the same run.
// By default the two Gatehouses are measured side by side: both on core 0, each loaded by its own
// autocannon at the same time, so the kernel gives each half of the core while both have work and
// the ratio of the requests they serve is the inverse ratio of their costs per request; whatever
// the machine does (this VM's speed swings by ±15–20 % within seconds) hits both at the same
// instant. With --alternating they are measured one at a time, alternating in many short rounds.
// Usage: npm run build && node bench/operations/run.mjs [--baseline 3ef62aa] [--duration 5] [--rounds 8] [--alternating] [--write]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EMULATOR_API,
  EMULATOR_TENANT,
  emulatorWithBob,
  load,
  loadSideBySide,
  pinSelf,
  replaceBetween,
  round,
  startServer,
} from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
// Side by side (the default): "before" and "now" share core 0 and are loaded at the same time, so
// whatever the machine does hits both at the same instant; with --alternating, one at a time.
const sideBySide = !args.includes('--alternating');
const duration = Number(option('--duration', sideBySide ? 5 : 3));
const rounds = Number(option('--rounds', sideBySide ? 8 : 12));
const baseline = option('--baseline', '3ef62aa');
/** Seconds of load before each measured block, and before the first round for each server. */
const warmup = 1;
const firstWarmup = 10;

// The servers run on core 0 (startServer); this process, and so autocannon, on core 1.
const pinned = pinSelf('1');
const concurrencies = [10, 50];

// The baseline build: the revision's sources, compiled with this checkout's compiler and packages.
const baselineDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-baseline-'));
execFileSync('bash', ['-c', `git -C "${root}" archive "${baseline}" | tar -x -C "${baselineDir}"`]);
symlinkSync(path.join(root, 'node_modules'), path.join(baselineDir, 'node_modules'));
execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: baselineDir });
const baselineCommit = execFileSync('git', ['-C', root, 'rev-parse', '--short', baseline]).toString().trim();
const currentCommit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD']).toString().trim();

const { entra, headers } = await emulatorWithBob({ root, core: '1' });
const body = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'calculate_sum', arguments: { numbers: [1, 2, 3] } },
});

const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-ops-'));
const gatehouseEnv = (name) => ({
  GATEHOUSE_DATA_DIR: path.join(dataDir, name),
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  MCP_AZURE_AUTHORITY_HOST: entra.url,
  MCP_AZURE_TENANT_ID: EMULATOR_TENANT,
  MCP_AZURE_CLIENT_ID: EMULATOR_API,
});
const NOW = `Gatehouse now (${currentCommit}: audit, metrics, rate limit)`;
const BEFORE = `Gatehouse before (${baselineCommit})`;
const specs = [
  { name: 'bare node:http', script: path.join(root, 'bench/servers/bare.mjs') },
  {
    name: BEFORE,
    script: path.join(baselineDir, 'dist/src/cli/main.js'),
    args: ['serve'],
    env: gatehouseEnv('before'),
  },
  {
    name: NOW,
    script: path.join(root, 'dist/src/cli/main.js'),
    args: ['serve'],
    env: {
      ...gatehouseEnv('now'),
      // The per-user limit is counted on every request, with a budget one load generator never uses up.
      RATE_LIMIT_MCP_PER_MINUTE: '1000000000',
      // /metrics exposed, so the process metrics are collected as in a scraped deployment.
      METRICS_TOKEN: 'bench-metrics-token-bench-metrics-token',
    },
  },
];

const servers = [];
for (const spec of specs) servers.push(await startServer(spec));
const samples = [];

/** One block: every server of `group` loaded at once (loadSideBySide), one sample each. */
async function measure(group, connections, inRound) {
  const measured = await loadSideBySide(
    group.map((server) => ({
      url: `${server.url}/mcp`,
      body,
      headers,
      connections,
      pid: server.pid,
      name: server.name,
    })),
    { duration, warmup },
  );
  group.forEach((server, index) => {
    const { result, cpuMicrosPerRequest } = measured[index];
    samples.push({
      server: server.name,
      connections,
      round: inRound,
      rps: round(result.requests.average),
      p50: result.latency.p50,
      p99: result.latency.p99,
      cpuMicrosPerRequest,
    });
    console.error(
      `${server.name} c=${connections} (round ${inRound}${group.length > 1 ? ', side by side' : ''}): ${round(result.requests.average)} req/s, ${cpuMicrosPerRequest} µs/req`,
    );
  });
}
try {
  for (const server of servers) {
    const response = await fetch(`${server.url}/mcp`, { method: 'POST', body, headers });
    const json = await response.json();
    if (json.result?.structuredContent?.sum !== 6)
      throw new Error(`${server.name} answered ${JSON.stringify(json)}`);
  }
  for (const server of servers)
    for (const connections of concurrencies)
      await load({ url: `${server.url}/mcp`, body, headers, connections, duration: firstWarmup / 2 });
  for (let inRound = 1; inRound <= rounds; inRound++) {
    for (const connections of concurrencies) {
      if (sideBySide) {
        // The floor alone (first round only: it is the machine's reference), then both Gatehouses at once.
        if (inRound === 1) await measure([servers[0]], connections, inRound);
        await measure([servers[1], servers[2]], connections, inRound);
      } else {
        const order = inRound % 2 === 1 ? servers : [servers[0], servers[2], servers[1]];
        for (const server of order) await measure([server], connections, inRound);
      }
    }
  }
  // The audit rows the load wrote: the log kept up (or says what it dropped).
  const ready = await (await fetch(`${servers[2].url}/ready`)).json();
  console.error(`audit after the load: ${JSON.stringify(ready.audit ?? ready.checks?.audit)}`);
} finally {
  for (const server of servers) await server.stop();
  await entra.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(baselineDir, { recursive: true, force: true });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const cell = (name, c, column) =>
  median(samples.filter((r) => r.server === name && r.connections === c).map((r) => r[column]));
/** Per round, now ÷ before, for a column; and the median of those ratios. */
const ratios = (c, column) => {
  const values = [];
  for (let n = 1; n <= rounds; n++) {
    const of = (name) => samples.find((r) => r.server === name && r.connections === c && r.round === n);
    values.push(round(of(NOW)[column] / of(BEFORE)[column], 3));
  }
  return { values, median: median(values) };
};

// Side by side, each Gatehouse has half the core, so its req/s compares with the other's, not with
// the floor's; "× bare" is then the floor's CPU per request over the server's.
const lines = [
  `| server | connections | req/s${sideBySide ? ' (Gatehouses: side by side, half a core each)' : ''} | × bare${sideBySide ? ' (CPU per request)' : ''} | p50 ms | p99 ms | server CPU µs/req |`,
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const c of concurrencies) {
  for (const spec of specs) {
    const rps = cell(spec.name, c, 'rps');
    const cpu = cell(spec.name, c, 'cpuMicrosPerRequest');
    const timesBare = sideBySide
      ? cell(specs[0].name, c, 'cpuMicrosPerRequest') / cpu
      : rps / cell(specs[0].name, c, 'rps');
    lines.push(
      `| ${spec.name} | ${c} | ${round(rps)} | ${round(timesBare, 2)} | ${cell(spec.name, c, 'p50')} | ${cell(spec.name, c, 'p99')} | ${cpu} |`,
    );
  }
}
const summary = concurrencies
  .map((c) => {
    const rps = ratios(c, 'rps');
    const cpu = ratios(c, 'cpuMicrosPerRequest');
    return `- c=${c}: now ÷ before, throughput **${round(rps.median, 3)}×** (target ≥ 0.9×: ${rps.median >= 0.9 ? 'met' : '**missed**'}; rounds ${rps.values.join(', ')}), CPU per request ${round(cpu.median, 3)}× (rounds ${cpu.values.join(', ')}).`;
  })
  .join('\n');
const stamp = `Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version}, ${sideBySide ? `the two Gatehouses side by side (loaded at the same time, sharing core 0) in ${rounds} blocks of ${duration} s, the floor alone in one block` : `${rounds} alternating rounds of ${duration} s per cell`}, each after ${warmup} s warm-up (and ${firstWarmup} s per server before the first), medians shown, servers pinned to core 0 and autocannon on core 1${pinned ? '' : ' (taskset missing: nothing was pinned)'}.`;
console.log(`\n${stamp}\n\n${lines.join('\n')}\n\n${summary}`);
writeFileSync(
  path.join(here, 'results.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, baseline: baselineCommit, current: currentCommit, method: sideBySide ? 'side-by-side' : 'alternating', duration, rounds, samples }, null, 2)}\n`,
);
if (args.includes('--write'))
  replaceBetween(path.join(here, 'README.md'), 'results', `${stamp}\n\n${lines.join('\n')}\n\n${summary}`);
