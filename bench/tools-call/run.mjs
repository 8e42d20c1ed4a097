// Scenario: stateless `tools/call calculate_sum {numbers:[1,2,3]}` over Streamable HTTP.
// Servers: a bare node:http floor, the MCP SDK's per-request-server pattern, Gatehouse with
// authentication off, and Gatehouse verifying an Entra access token (from the development
// emulator) on every request. Every server runs pinned to one core; autocannon runs on the other.
// Every server gets the same request, Authorization header included. Gatehouse also gets the same
// call in the stateless 2026-07-28 form (`_meta` envelope, Mcp-Method/Mcp-Name headers), measured
// in the same run as the 2025-11-25 form: alternating on one Gatehouse, and side by side (two
// Gatehouses sharing core 0, loaded at the same time, one with each form, the forms swapped every
// other block), which is what the comparison of the forms is judged on.
// Usage: node bench/tools-call/run.mjs [--duration 10] [--rounds 3] [--side-rounds 8] [--write]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuMicros,
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
const duration = args.includes('--duration') ? Number(args[args.indexOf('--duration') + 1]) : 10;
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
const warmup = 3;
const concurrencies = [10, 50];
const SIDE = {
  rounds: args.includes('--side-rounds') ? Number(args[args.indexOf('--side-rounds') + 1]) : 8,
  duration: 5,
  warmup: 1,
};

// The servers run on core 0 (startServer); this process, and so autocannon, on core 1.
const pinned = pinSelf('1');

// The development emulator issues the token the authenticated server verifies.
const { entra, headers } = await emulatorWithBob({ root, core: '1' });
const TENANT = EMULATOR_TENANT;
const API = EMULATOR_API;

const body = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'calculate_sum', arguments: { numbers: [1, 2, 3] } },
});

// The same call as a 2026-07-28 client sends it: no session, everything in the request itself.
const body2026 = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: {
    name: 'calculate_sum',
    arguments: { numbers: [1, 2, 3] },
    _meta: {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'autocannon', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    },
  },
});
const headers2026 = {
  ...headers,
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': 'tools/call',
  'mcp-name': 'calculate_sum',
};
const KINDS = {
  '2025-11-25': { body, headers },
  '2026-07-28': { body: body2026, headers: headers2026 },
};

const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-'));
const servers = [
  { name: 'bare node:http', script: path.join(root, 'bench/servers/bare.mjs'), kinds: ['2025-11-25'] },
  {
    name: 'MCP SDK, new server per request',
    script: path.join(root, 'bench/servers/sdk-per-request.mjs'),
    kinds: ['2025-11-25'],
  },
  {
    name: 'Gatehouse (auth off)',
    kinds: ['2025-11-25', '2026-07-28'],
    script: path.join(root, 'dist/src/cli/main.js'),
    args: ['serve'],
    env: {
      GATEHOUSE_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      MCP_ENABLE_AUTH: 'false',
      // The per-user limit stays on (its cost is measured) but above what one load generator sends.
      RATE_LIMIT_MCP_PER_MINUTE: '1000000000',
    },
  },
  {
    name: 'Gatehouse (auth on, Entra token)',
    kinds: ['2025-11-25', '2026-07-28'],
    script: path.join(root, 'dist/src/cli/main.js'),
    args: ['serve'],
    env: {
      GATEHOUSE_DATA_DIR: `${dataDir}-auth`,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      MCP_AZURE_AUTHORITY_HOST: entra.url,
      MCP_AZURE_TENANT_ID: TENANT,
      MCP_AZURE_CLIENT_ID: API,
      RATE_LIMIT_MCP_PER_MINUTE: '1000000000',
    },
  },
];

async function check(server, kind) {
  const response = await fetch(`${server.url}/mcp`, { method: 'POST', ...KINDS[kind] });
  const json = await response.json();
  if (json.result?.structuredContent?.sum !== 6)
    throw new Error(`${server.name} (${kind}) answered ${JSON.stringify(json)}`);
  // A 2026-07-28 answer opens no session.
  if (kind === '2026-07-28' && response.headers.get('mcp-session-id') !== null)
    throw new Error(`${server.name} opened a session for a 2026-07-28 request`);
}

/** Every measured cell; `results` holds one row per server, request form and concurrency (medians over rounds). */
const samples = [];
for (const spec of servers) {
  const server = await startServer(spec);
  try {
    for (const kind of spec.kinds) await check(server, kind);
    // A server measured in two request forms alternates them, round after round (the order reversed
    // every other round), so that drift on the machine hits both alike.
    const serverRounds = spec.kinds.length > 1 ? rounds : 1;
    for (let inRound = 1; inRound <= serverRounds; inRound++) {
      const kinds = inRound % 2 === 1 ? spec.kinds : [...spec.kinds].reverse();
      for (const connections of concurrencies) {
        for (const kind of kinds) {
          const request = { url: `${server.url}/mcp`, ...KINDS[kind] };
          await load({ ...request, connections, duration: warmup });
          const cpuBefore = cpuMicros(server.pid);
          const result = await load({ ...request, connections, duration });
          const cpu = cpuMicros(server.pid) - cpuBefore;
          if (result.non2xx > 0 || result.errors > 0)
            throw new Error(`${spec.name} (${kind}): ${result.non2xx} non-2xx, ${result.errors} errors`);
          samples.push({
            server: spec.name,
            request: kind,
            connections,
            round: inRound,
            rps: round(result.requests.average),
            p50: result.latency.p50,
            p99: result.latency.p99,
            cpuMicrosPerRequest: round(cpu / result.requests.total),
            requests: result.requests.total,
          });
          console.error(
            `${spec.name} ${kind} c=${connections}${serverRounds > 1 ? ` (round ${inRound})` : ''}: ${round(result.requests.average)} req/s, ${round(cpu / result.requests.total)} µs/req`,
          );
        }
      }
    }
  } finally {
    await server.stop();
  }
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const results = [];
for (const row of samples) {
  if (
    results.some(
      (r) => r.server === row.server && r.request === row.request && r.connections === row.connections,
    )
  )
    continue;
  const same = samples.filter(
    (r) => r.server === row.server && r.request === row.request && r.connections === row.connections,
  );
  const column = (name) => round(median(same.map((r) => r[name])));
  results.push({
    ...row,
    round: undefined,
    rounds: same.length,
    rps: column('rps'),
    p50: column('p50'),
    p99: column('p99'),
    cpuMicrosPerRequest: column('cpuMicrosPerRequest'),
    requests: same.reduce((sum, r) => sum + r.requests, 0),
  });
}

/**
 * Side by side: two servers share core 0 and are loaded at the same time, each with its request
 * form (`kinds[i]` for `pair[i]`), so the kernel gives each half the core while both have work and
 * their CPU per request is compared at the same instant (this VM's speed swings by ±15–20 % within
 * seconds). With `swap`, the two forms change servers every other block, so that a difference
 * between the two processes cancels out. One row per block and concurrency, keyed by `labels`.
 */
async function sideBySide({ pair, kinds, labels, swap }) {
  const rows = [];
  for (const connections of concurrencies)
    for (const [index, server] of pair.entries())
      await load({ url: `${server.url}/mcp`, ...KINDS[kinds[index]], connections, duration: 5 });
  for (let block = 1; block <= SIDE.rounds; block++) {
    const order = swap && block % 2 === 0 ? [1, 0] : [0, 1];
    for (const connections of concurrencies) {
      const measured = await loadSideBySide(
        pair.map((server, index) => ({
          url: `${server.url}/mcp`,
          ...KINDS[kinds[order[index]]],
          connections,
          pid: server.pid,
          name: `side by side (${labels[order[index]]})`,
        })),
        { duration: SIDE.duration, warmup: SIDE.warmup },
      );
      const row = { block, connections };
      measured.forEach(({ result, cpuMicrosPerRequest }, index) => {
        row[labels[order[index]]] = { rps: round(result.requests.average), cpuMicrosPerRequest };
      });
      rows.push(row);
      console.error(
        `side by side c=${connections} (block ${block}): ${labels.map((label) => `${label} ${row[label].rps} req/s ${row[label].cpuMicrosPerRequest} µs`).join(', ')}`,
      );
    }
  }
  return rows;
}

// The two request forms on two Gatehouses with auth on; then Gatehouse with auth on beside the floor.
let side = [];
let sideBare = [];
{
  const spec = servers[3];
  const pair = [];
  for (const suffix of ['a', 'b'])
    pair.push(
      await startServer({ ...spec, env: { ...spec.env, GATEHOUSE_DATA_DIR: `${dataDir}-side-${suffix}` } }),
    );
  try {
    const forms = Object.keys(KINDS);
    for (const server of pair) for (const kind of forms) await check({ ...server, name: spec.name }, kind);
    side = await sideBySide({ pair, kinds: forms, labels: forms, swap: true });
    pair.push(await startServer(servers[0]));
    sideBare = await sideBySide({
      pair: [pair[0], pair[2]],
      kinds: ['2025-11-25', '2025-11-25'],
      labels: ['gatehouse', 'bare'],
      swap: false,
    });
  } finally {
    for (const server of pair) await server.stop();
  }
}

await entra.stop();
rmSync(dataDir, { recursive: true, force: true });
for (const suffix of ['auth', 'side-a', 'side-b'])
  rmSync(`${dataDir}-${suffix}`, { recursive: true, force: true });

const byKey = (name, c, kind = '2025-11-25') =>
  results.find((r) => r.server === name && r.connections === c && r.request === kind);
const lines = [
  '| server | request | connections | req/s | × bare | × SDK per-request | × Gatehouse auth off | p50 ms | p99 ms | server CPU µs/req |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const r of results) {
  const bare = byKey(servers[0].name, r.connections).rps;
  const sdk = byKey(servers[1].name, r.connections).rps;
  const authOff = byKey(servers[2].name, r.connections).rps;
  lines.push(
    `| ${r.server} | ${r.request} | ${r.connections} | ${r.rps} | ${round(r.rps / bare, 2)} | ${round(r.rps / sdk, 1)} | ${round(r.rps / authOff, 2)} | ${r.p50} | ${r.p99} | ${r.cpuMicrosPerRequest} |`,
  );
}
const table = lines.join('\n');
const stamp = `Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version}, ${duration} s per cell after ${warmup} s warm-up (Gatehouse's two request forms alternating over ${rounds} rounds, medians shown), server pinned to core 0 and autocannon on core 1${pinned ? '' : ' (taskset missing: nothing was pinned)'}.`;
console.log(`\n${stamp}\n\n${table}`);
writeFileSync(
  path.join(here, 'results.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, duration, rounds, results, samples, sideBySide: side, sideBySideBare: sideBare }, null, 2)}\n`,
);

/** The 2026-07-28 form's CPU per request over the 2025-11-25 form's, in each round: the values and their median. */
function cpuRatios(name, c) {
  const values = [];
  for (let n = 1; n <= rounds; n++) {
    const of = (kind) =>
      samples.find((r) => r.server === name && r.connections === c && r.request === kind && r.round === n);
    const a = of('2025-11-25');
    const b = of('2026-07-28');
    if (a && b) values.push(round(b.cpuMicrosPerRequest / a.cpuMicrosPerRequest, 2));
  }
  return `${values.join(', ')}, median ${round(median(values), 2)}×`;
}
/** Side by side, per block at `c` connections: `numerator`'s CPU per request over `denominator`'s, and the median. */
function blockRatios(rows, c, numerator, denominator) {
  const values = rows
    .filter((row) => row.connections === c)
    .map((row) => round(row[numerator].cpuMicrosPerRequest / row[denominator].cpuMicrosPerRequest, 3));
  return { values, median: round(median(values), 3) };
}
const summary = concurrencies
  .map((c) => {
    const forms = blockRatios(side, c, '2026-07-28', '2025-11-25');
    const timesBare = blockRatios(sideBare, c, 'bare', 'gatehouse');
    const bare = byKey(servers[0].name, c);
    const sdk = byKey(servers[1].name, c);
    const off = byKey(servers[2].name, c);
    const on = byKey(servers[3].name, c);
    const on2026 = byKey(servers[3].name, c, '2026-07-28');
    return (
      `- c=${c}: Gatehouse with auth serves ${round(on.rps / sdk.rps, 1)}× the SDK per-request pattern's throughput ` +
      `(${round(on.rps / bare.rps, 2)}× bare); verifying the token changes throughput by ${round((on.rps / off.rps - 1) * 100)} % ` +
      `and CPU per request by ${round(on.cpuMicrosPerRequest - off.cpuMicrosPerRequest)} µs (${off.cpuMicrosPerRequest} → ${on.cpuMicrosPerRequest} µs; bare ${bare.cpuMicrosPerRequest} µs, SDK ${sdk.cpuMicrosPerRequest} µs). ` +
      `The 2026-07-28 form of the call runs at ${round(on2026.rps / on.rps, 2)}× the 2025-11-25 form's throughput ` +
      `(${on.cpuMicrosPerRequest} → ${on2026.cpuMicrosPerRequest} µs CPU per request; CPU ratio per round ${cpuRatios(servers[3].name, c)}). ` +
      `Side by side (two Gatehouses sharing core 0, loaded at the same time, ${SIDE.rounds} blocks of ${SIDE.duration} s): the 2026-07-28 form costs **${forms.median}×** the CPU per request of the 2025-11-25 form (target within 10 %: ${Math.abs(forms.median - 1) <= 0.1 ? 'met' : '**missed**'}; blocks ${forms.values.join(', ')}). ` +
      `Gatehouse with auth side by side with bare node:http (same method, 2025-11-25 form): **${timesBare.median}× bare** in CPU per request (bare's over Gatehouse's; blocks ${timesBare.values.join(', ')}; published before: 0.46×).`
    );
  })
  .join('\n');
console.log(`\n${summary}`);

if (args.includes('--write')) {
  replaceBetween(path.join(root, 'bench/README.md'), 'summary', `${stamp}\n\n${summary}`);
  replaceBetween(path.join(here, 'README.md'), 'results', `${stamp}\n\n${table}`);
}
