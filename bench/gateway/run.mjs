// Scenario: stateless `tools/call` through Gatehouse's gateway to a Streamable HTTP upstream,
// against calling the same upstream directly, in the same run. Two upstreams: a minimal MCP server
// on bare node:http and the MCP SDK's stateless pattern, both serving `echo`. References: Gatehouse's
// built-in calculate_sum (its own CPU per call) and the bare node:http floor.
// Gatehouse runs with authentication on and every request carries bob's Entra access token from
// the development emulator, as in tools-call. Gatehouse (and the floor) run pinned to core 0; this
// process (autocannon and the latency client) and the upstream run pinned to core 1, except that
// autocannon moves to core 0 for the SDK upstream's cells, leaving core 1 to it (README: why).
// With --preload FILE, Gatehouse runs with `node --import FILE` (a what-if/ experiment); such a run
// is never written to the READMEs.
// Usage: node bench/gateway/run.mjs [--duration 10] [--rounds 3] [--sdk-rounds 12] [--write] [--preload FILE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuMicros,
  EMULATOR_API,
  EMULATOR_TENANT,
  emulatorWithBob,
  latencyRun,
  load,
  machineCpuMicros,
  ownCpuMicros,
  pinSelf,
  quantile,
  replaceBetween,
  round,
  startServer,
  waitForQuiet,
} from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const duration = Number(args.includes('--duration') ? args[args.indexOf('--duration') + 1] : 10);
const preload = args.includes('--preload') ? path.resolve(args[args.indexOf('--preload') + 1]) : undefined;
if (preload && args.includes('--write'))
  throw new Error('a --preload (what-if) run is not written to the READMEs');
const rounds = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 3);
const warmup = 3;
// The SDK upstream's cells: many short alternating rounds (its cost per request swings by ±20 % from
// one ten-second cell to the next on this VM; short alternating blocks pair each through block with
// a direct one measured seconds apart), after one long warm-up (the SDK's code takes about 20 s of
// load to reach its steady speed).
const SDK = {
  rounds: Number(args.includes('--sdk-rounds') ? args[args.indexOf('--sdk-rounds') + 1] : 12),
  duration: 3,
  warmup: 1,
  firstWarmup: 25,
};
const concurrencies = [10, 50];
const GATEHOUSE_CORE = '0';
const UPSTREAM_CORE = '1';
const LOADER_CORE = '1';
// With the SDK upstream, the load generator moves to Gatehouse's core and the upstream has core 1 to
// itself: its requests then come from the other core on both paths (see the README's Method).
const SDK_LOADER_CORE = '0';
// Latency runs: requests per path, one at a time (sequential) and over 10 connections at a fixed
// rate (a share of what Gatehouse forwarded at c=10); direct and through Gatehouse alternate in blocks.
const LATENCY = {
  sequential: { requests: 2000, connections: 1 },
  paced: { requests: 2000, connections: 10, share: 0.3 },
  blocks: 4,
};

const pinned = pinSelf(LOADER_CORE);

// The development emulator issues the token Gatehouse verifies.
const { entra, headers } = await emulatorWithBob({ root, core: LOADER_CORE });
const TENANT = EMULATOR_TENANT;
const API = EMULATOR_API;
const MESSAGE = 'gatehouse-gateway-bench';
const call = (name, args) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
const BODIES = {
  echo: call('echo', { message: MESSAGE }),
  forwarded: call('up__echo', { message: MESSAGE }),
  sum: call('calculate_sum', { numbers: [1, 2, 3] }),
};
const echoed = (text) => text.includes(`"text":"${MESSAGE}"`) && !text.includes('"error"');
const summed = (text) => text.includes('"sum":6') && !text.includes('"error"');

const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-gateway-bench-'));

async function startGatehouse(name, upstreamUrl) {
  const configFile = path.join(work, `${name}.json`);
  writeFileSync(configFile, JSON.stringify({ mcpServers: { up: { url: `${upstreamUrl}/mcp` } } }));
  return startServer({
    name: 'Gatehouse',
    script: path.join(root, 'dist/src/cli/main.js'),
    args: ['serve'],
    core: GATEHOUSE_CORE,
    nodeArgs: preload ? ['--import', preload] : [],
    env: {
      GATEHOUSE_DATA_DIR: path.join(work, `${name}-data`),
      GATEHOUSE_CONFIG_FILE: configFile,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      MCP_AZURE_AUTHORITY_HOST: entra.url,
      MCP_AZURE_TENANT_ID: TENANT,
      MCP_AZURE_CLIENT_ID: API,
      // The per-user limit stays on but above what one load generator sends.
      RATE_LIMIT_MCP_PER_MINUTE: '1000000000',
    },
  });
}

/** One request, checked; returns the answer's text. */
async function check(label, url, body, verify) {
  const response = await fetch(`${url}/mcp`, { method: 'POST', headers, body });
  const text = await response.text();
  if (!response.ok || !verify(text)) throw new Error(`${label} answered HTTP ${response.status}: ${text}`);
  return text;
}

/** Every measured cell of every round; `results` holds one row per cell and concurrency (medians over rounds). */
const samples = [];
let results = [];
/** A cell measured while other processes used more than this (% of one core) is measured again. */
const NOISY = 10;
const ATTEMPTS = 3;

/** Foreign CPU (other people's processes) while `work` runs, in % of one core. */
async function measuring(pids, work) {
  const own = () => ownCpuMicros() + pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  const oursBefore = own();
  const machineBefore = machineCpuMicros();
  const started = performance.now();
  const value = await work();
  const elapsed = (performance.now() - started) * 1000;
  const foreign = Math.max(0, machineCpuMicros() - machineBefore - (own() - oursBefore));
  return { value, foreignLoadPercent: round((foreign / elapsed) * 100) };
}

/**
 * One cell at one concurrency: warm-up, then the measured load; CPU of Gatehouse and of the other
 * server. A cell disturbed by other work on the machine is measured again (at most ATTEMPTS times;
 * the least disturbed attempt is kept).
 */
async function cell({
  cell,
  upstream,
  kind,
  url,
  body,
  verify,
  gatehouse,
  other,
  connections,
  round: inRound,
  seconds = duration,
  warmupSeconds = warmup,
}) {
  const pids = [entra.pid, ...(gatehouse ? [gatehouse.pid] : []), ...(other ? [other.pid] : [])];
  let best;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    await waitForQuiet();
    await load({
      url: `${url}/mcp`,
      body,
      headers,
      connections,
      duration: warmupSeconds,
      verifyBody: verify,
    });
    const gatehouseBefore = gatehouse ? cpuMicros(gatehouse.pid) : 0;
    const otherBefore = other ? cpuMicros(other.pid) : 0;
    const { value: result, foreignLoadPercent } = await measuring(pids, () =>
      load({ url: `${url}/mcp`, body, headers, connections, duration: seconds, verifyBody: verify }),
    );
    const gatehouseCpu = gatehouse ? cpuMicros(gatehouse.pid) - gatehouseBefore : undefined;
    const otherCpu = other ? cpuMicros(other.pid) - otherBefore : undefined;
    if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || result.mismatches > 0)
      throw new Error(
        `${cell} c=${connections}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${result.mismatches} wrong answers`,
      );
    const total = result.requests.total;
    const row = {
      cell,
      upstream,
      kind,
      connections,
      round: inRound,
      rps: round(result.requests.average),
      p50: result.latency.p50,
      p99: result.latency.p99,
      meanMs: round(result.latency.mean, 2),
      gatehouseCpuMicrosPerRequest: gatehouseCpu === undefined ? null : round(gatehouseCpu / total),
      otherCpuMicrosPerRequest: otherCpu === undefined ? null : round(otherCpu / total),
      foreignLoadPercent,
      attempts: attempt,
      requests: total,
    };
    console.error(
      `round ${inRound}, ${cell} c=${connections}: ${row.rps} req/s, Gatehouse ${row.gatehouseCpuMicrosPerRequest ?? '—'} µs/req (other processes: ${foreignLoadPercent} % of a core${attempt > 1 ? `, attempt ${attempt}` : ''})`,
    );
    if (best === undefined || row.foreignLoadPercent < best.foreignLoadPercent) best = row;
    if (foreignLoadPercent <= NOISY) break;
  }
  samples.push(best);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** One row per cell and concurrency: the median of each column over the rounds. */
function summarize() {
  const groups = new Map();
  for (const row of samples) {
    const key = `${row.cell}\u0000${row.connections}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(row);
  }
  return [...groups.values()].map((rows) => {
    const column = (name) =>
      rows[0][name] === null ? null : round(median(rows.map((row) => row[name])), name === 'meanMs' ? 2 : 0);
    return {
      ...rows[0],
      round: undefined,
      rounds: rows.length,
      rps: column('rps'),
      p50: column('p50'),
      p99: column('p99'),
      meanMs: column('meanMs'),
      gatehouseCpuMicrosPerRequest: column('gatehouseCpuMicrosPerRequest'),
      otherCpuMicrosPerRequest: column('otherCpuMicrosPerRequest'),
      foreignLoadPercent: Math.max(...rows.map((row) => row.foreignLoadPercent)),
    };
  });
}

const latency = [];

/**
 * Median (and tail) latency direct vs through Gatehouse, alternating blocks so drift hits both
 * alike: one request at a time, then 10 connections at a fixed rate of 30 % of what Gatehouse
 * forwarded at c=10 (so both paths carry the same load, well below saturation).
 */
async function latencyCompare({ upstream, direct, through, pids }) {
  const capacity = median(
    samples
      .filter((r) => r.kind === 'through' && r.upstream === upstream && r.connections === 10)
      .map((r) => r.rps),
  );
  const pacedRate = Math.max(50, Math.round((capacity * LATENCY.paced.share) / 50) * 50);
  for (const [mode, spec] of [
    ['sequential', LATENCY.sequential],
    ['paced', { ...LATENCY.paced, rate: pacedRate }],
  ]) {
    const samples = { direct: [], through: [] };
    const perBlock = Math.ceil(spec.requests / LATENCY.blocks);
    const run = (target, requests) =>
      latencyRun({
        url: `${target.url}/mcp`,
        body: target.body,
        headers,
        requests,
        connections: spec.connections,
        rate: spec.rate,
        verify: echoed,
      });
    await waitForQuiet();
    await run(direct, 200);
    await run(through, 200);
    const { foreignLoadPercent } = await measuring(pids, async () => {
      for (let block = 0; block < LATENCY.blocks; block++) {
        samples.direct.push(...(await run(direct, perBlock)));
        samples.through.push(...(await run(through, perBlock)));
      }
    });
    const stats = (values) => {
      const sorted = values.sort((a, b) => a - b);
      return {
        p50: round(quantile(sorted, 0.5), 3),
        p90: round(quantile(sorted, 0.9), 3),
        p99: round(quantile(sorted, 0.99), 3),
        mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 3),
        n: sorted.length,
      };
    };
    const d = stats(samples.direct);
    const t = stats(samples.through);
    latency.push({
      upstream,
      mode,
      connections: spec.connections,
      rate: spec.rate ?? null,
      direct: d,
      through: t,
      addedP50: round(t.p50 - d.p50, 3),
      addedP99: round(t.p99 - d.p99, 3),
      foreignLoadPercent,
    });
    console.error(
      `${upstream} latency ${mode}: p50 ${d.p50} → ${t.p50} ms (+${round(t.p50 - d.p50, 3)}), p99 ${d.p99} → ${t.p99} ms (other processes: ${foreignLoadPercent} % of a core)`,
    );
  }
}

const NAMES = {
  floor: 'bare node:http (floor)',
  builtin: 'Gatehouse built-in calculate_sum',
  bareDirect: 'bare MCP upstream, direct',
  bareThrough: 'Gatehouse → bare MCP upstream',
  sdkDirect: 'SDK upstream, direct',
  sdkThrough: 'Gatehouse → SDK upstream',
};

try {
  // The floor, exactly as in tools-call (one round: it is the machine's reference, not a target).
  {
    const floor = await startServer({ name: NAMES.floor, script: path.join(root, 'bench/servers/bare.mjs') });
    try {
      await check(NAMES.floor, floor.url, BODIES.sum, summed);
      for (const connections of concurrencies)
        await cell({
          cell: NAMES.floor,
          upstream: null,
          kind: 'floor',
          url: floor.url,
          body: BODIES.sum,
          verify: summed,
          other: floor,
          connections,
          round: 1,
        });
    } finally {
      await floor.stop();
    }
  }

  for (const upstream of ['bare', 'sdk']) {
    const sdk = upstream === 'sdk';
    if (sdk) pinSelf(SDK_LOADER_CORE);
    const server = await startServer({
      name: `${upstream} upstream`,
      script: path.join(
        root,
        `bench/servers/${upstream === 'bare' ? 'bare-mcp-upstream' : 'sdk-mcp-upstream'}.mjs`,
      ),
      core: UPSTREAM_CORE,
    });
    const gatehouse = await startGatehouse(upstream, server.url);
    try {
      await check(`${upstream} upstream`, server.url, BODIES.echo, echoed);
      await check(`Gatehouse → ${upstream} upstream`, gatehouse.url, BODIES.forwarded, echoed);
      const direct = { url: server.url, body: BODIES.echo };
      const through = { url: gatehouse.url, body: BODIES.forwarded };
      const compared = [
        ...(upstream === 'bare'
          ? [
              {
                cell: NAMES.builtin,
                upstream: null,
                kind: 'builtin',
                url: gatehouse.url,
                body: BODIES.sum,
                verify: summed,
                gatehouse,
              },
            ]
          : []),
        {
          cell: NAMES[`${upstream}Direct`],
          upstream,
          kind: 'direct',
          ...direct,
          verify: echoed,
          other: server,
        },
        {
          cell: NAMES[`${upstream}Through`],
          upstream,
          kind: 'through',
          ...through,
          verify: echoed,
          gatehouse,
          other: server,
        },
      ];
      if (upstream === 'bare') await check(NAMES.builtin, gatehouse.url, BODIES.sum, summed);
      // The cells compared with each other alternate, round after round (the order reversed every
      // other round), so that drift on the machine hits each of them alike.
      if (sdk) {
        // Through Gatehouse first, so that its forward path warms with the upstream.
        await load({
          url: `${through.url}/mcp`,
          body: through.body,
          headers,
          connections: 50,
          duration: SDK.firstWarmup,
          verifyBody: echoed,
        });
        await load({
          url: `${direct.url}/mcp`,
          body: direct.body,
          headers,
          connections: 50,
          duration: 5,
          verifyBody: echoed,
        });
      }
      const timing = sdk ? { seconds: SDK.duration, warmupSeconds: SDK.warmup } : {};
      for (let inRound = 1; inRound <= (sdk ? SDK.rounds : rounds); inRound++) {
        const order = inRound % 2 === 1 ? compared : [...compared].reverse();
        for (const connections of concurrencies)
          for (const spec of order) await cell({ ...spec, connections, round: inRound, ...timing });
      }
      // The latency client sits where it does for the bare upstream, so both latency tables compare.
      if (sdk) pinSelf(LOADER_CORE);
      await latencyCompare({ upstream, direct, through, pids: [entra.pid, gatehouse.pid, server.pid] });
    } finally {
      await gatehouse.stop();
      await server.stop();
    }
  }
} finally {
  await entra.stop();
  rmSync(work, { recursive: true, force: true });
}

// ---- report ----
results = summarize();
const find = (kind, upstream, c) =>
  results.find((r) => r.kind === kind && r.upstream === upstream && r.connections === c);
const dash = (value) => (value === null || value === undefined ? '—' : value);
const lines = [
  '| cell | connections | req/s | × direct | p50 ms | p99 ms | mean ms | Gatehouse CPU µs/req | upstream (or floor) CPU µs/req | other processes, % of a core |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const r of results) {
  const direct = r.kind === 'through' ? find('direct', r.upstream, r.connections) : undefined;
  lines.push(
    `| ${r.cell} | ${r.connections} | ${r.rps} | ${direct ? round(r.rps / direct.rps, 2) : '—'} | ${r.p50} | ${r.p99} | ${r.meanMs} | ${dash(r.gatehouseCpuMicrosPerRequest)} | ${dash(r.otherCpuMicrosPerRequest)} | ${r.foreignLoadPercent} |`,
  );
}
const latencyLines = [
  '| upstream | run | direct p50 / p99 ms | through Gatehouse p50 / p99 ms | added p50 ms | added p99 ms |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...latency.map(
    (l) =>
      `| ${l.upstream === 'bare' ? 'bare MCP' : 'SDK'} | ${l.mode === 'sequential' ? `1 connection, sequential (${l.direct.n} each)` : `${l.connections} connections at ${l.rate} req/s (${l.direct.n} each)`} | ${l.direct.p50} / ${l.direct.p99} | ${l.through.p50} / ${l.through.p99} | ${l.addedP50} | ${l.addedP99} |`,
  ),
];

const verdict = (ok) => (ok ? 'met' : '**missed**');
/** A ratio in each round (a from one cell, b from another, same round and concurrency): the values and their median. */
function perRound(a, b, c, value) {
  const pick = (spec, n) =>
    samples.find(
      (r) => r.kind === spec.kind && r.upstream === spec.upstream && r.connections === c && r.round === n,
    );
  const values = [];
  const count = a.upstream === 'sdk' ? SDK.rounds : rounds;
  for (let n = 1; n <= count; n++) values.push(round(value(pick(a, n), pick(b, n)), 2));
  return { values, median: round(median(values), 2), text: values.join(', ') };
}
const targets = [];
for (const c of concurrencies) {
  const direct = find('direct', 'sdk', c);
  const through = find('through', 'sdk', c);
  const ratio = perRound(
    { kind: 'through', upstream: 'sdk' },
    { kind: 'direct', upstream: 'sdk' },
    c,
    (t, d) => t.rps / d.rps,
  );
  // If Gatehouse and the upstream had to share one core: what the upstream costs alone vs both together.
  const sameCore =
    direct.otherCpuMicrosPerRequest /
    (through.otherCpuMicrosPerRequest + through.gatehouseCpuMicrosPerRequest);
  targets.push({
    target: 'SDK upstream: req/s through Gatehouse ≥ 0.9× direct',
    connections: c,
    value: ratio.median,
    rounds: ratio.values,
    met: ratio.median >= 0.9,
    text: `SDK upstream, c=${c}: through Gatehouse ${through.rps} vs direct ${direct.rps} req/s (medians); per round ${ratio.text}, median **${ratio.median}×** (target ≥ 0.9×: ${verdict(ratio.median >= 0.9)}); Gatehouse spends ${through.gatehouseCpuMicrosPerRequest} µs/call against the upstream's ${through.otherCpuMicrosPerRequest} µs, so on one shared core the ratio would be about ${round(sameCore, 2)}×.`,
  });
}
for (const c of concurrencies) {
  const builtin = find('builtin', null, c);
  const through = find('through', 'bare', c);
  const ratio = perRound(
    { kind: 'through', upstream: 'bare' },
    { kind: 'builtin', upstream: null },
    c,
    (t, b) => t.gatehouseCpuMicrosPerRequest / b.gatehouseCpuMicrosPerRequest,
  );
  targets.push({
    target: "bare upstream: Gatehouse's CPU per forwarded call ≤ 2× its CPU per calculate_sum",
    connections: c,
    value: ratio.median,
    rounds: ratio.values,
    met: ratio.median <= 2,
    text: `bare upstream, c=${c}: Gatehouse spends ${through.gatehouseCpuMicrosPerRequest} µs per forwarded call vs ${builtin.gatehouseCpuMicrosPerRequest} µs per built-in calculate_sum (medians); per round ${ratio.text}, median **${ratio.median}×** (target ≤ 2×: ${verdict(ratio.median <= 2)}); through/direct req/s ${round(through.rps / find('direct', 'bare', c).rps, 2)}×.`,
  });
}
{
  const paced = latency.find((l) => l.upstream === 'bare' && l.mode === 'paced');
  const sequential = latency.find((l) => l.upstream === 'bare' && l.mode === 'sequential');
  const direct = find('direct', 'bare', 10);
  const through = find('through', 'bare', 10);
  targets.push({
    target: 'bare upstream: p50 added ≤ 0.5 ms at 10 connections',
    connections: 10,
    value: paced.addedP50,
    met: paced.addedP50 <= 0.5,
    text:
      `bare upstream, 10 connections at ${paced.rate} req/s: p50 ${paced.direct.p50} → ${paced.through.p50} ms, **+${paced.addedP50} ms** (target ≤ 0.5 ms: ${verdict(paced.addedP50 <= 0.5)}); ` +
      `one request at a time +${sequential.addedP50} ms; with autocannon saturating the server at c=10, p50 ${direct.p50} → ${through.p50} ms and mean ${direct.meanMs} → ${through.meanMs} ms (queueing: 10 / req/s).`,
  });
}

// Which Gatehouse was measured: the checkout's commit and when dist/ was built.
let head = 'unknown';
try {
  head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
} catch {
  // not a git checkout
}
const built = statSync(path.join(root, 'dist/src/cli/main.js'))
  .mtime.toISOString()
  .slice(0, 16)
  .replace('T', ' ');
const stamp = `Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version}, Gatehouse at ${head} (dist/ built ${built} UTC), ${rounds} rounds of ${duration} s per cell after ${warmup} s warm-up for the floor, the built-in tool and the bare upstream, ${SDK.rounds} rounds of ${SDK.duration} s after ${SDK.warmup} s (and one ${SDK.firstWarmup} s warm-up) for the SDK upstream (the compared cells alternating; tables give medians over rounds); Gatehouse and the floor pinned to core ${GATEHOUSE_CORE}, the upstreams and the latency client to core ${LOADER_CORE}, autocannon to core ${LOADER_CORE} with the bare upstream and to core ${SDK_LOADER_CORE} (Gatehouse's) with the SDK upstream, which has core ${UPSTREAM_CORE} to itself${pinned ? '' : ' (taskset missing: nothing was pinned)'}${preload ? `. WHAT-IF: Gatehouse ran with --import ${path.relative(root, preload)}` : ''}. Other processes on the machine used at most ${Math.max(...results.map((r) => r.foreignLoadPercent))} % of a core during a cell.`;
const table = lines.join('\n');
const latencyTable = latencyLines.join('\n');
const summary = targets.map((t) => `- ${t.text}`).join('\n');
console.log(`\n${stamp}\n\n${table}\n\n${latencyTable}\n\n${summary}`);
// A what-if run only prints: results.json and the READMEs hold plain Gatehouse.
if (!preload)
  writeFileSync(
    path.join(here, 'results.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, head, distBuilt: built, duration, rounds, warmup, sdk: SDK, pinned, preload: preload ? path.relative(root, preload) : null, results, latency, samples, targets: targets.map(({ text, ...t }) => t) }, null, 2)}\n`,
  );
if (args.includes('--write')) {
  replaceBetween(
    path.join(here, 'README.md'),
    'results',
    `${stamp}\n\n${table}\n\nAdded latency (performance.now() per request, medians over alternating blocks):\n\n${latencyTable}\n\nTargets:\n\n${summary}`,
  );
  replaceBetween(path.join(root, 'bench/README.md'), 'gateway-summary', `${stamp}\n\n${summary}`);
}
