// Where Gatehouse's CPU goes on one path: runs Gatehouse (auth on, bob's Entra token, pinned to
// core 0) under `node --cpu-prof`, loads it with autocannon (core 1) on one path, and summarizes
// the samples taken during the measured load: self time by package and by function, and the
// inclusive time of the functions that matter on the forward path.
// With --preload FILE, Gatehouse runs with `node --import FILE` (the what-if/ experiments); with
// --no-profile, it runs without the profiler and only the CPU per request is reported.
// Usage: node bench/gateway/profile.mjs [--path forward|builtin|builtin-2026] [--upstream bare|sdk]
//        [--connections 10] [--duration 10] [--top 40] [--keep] [--preload FILE] [--no-profile]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuMicros,
  EMULATOR_API,
  EMULATOR_TENANT,
  emulatorWithBob,
  load,
  machineCpuMicros,
  pinSelf,
  round,
  startServer,
  waitForQuiet,
} from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const option = (name, fallback) =>
  args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback;
const which = option('path', 'forward');
const upstreamKind = option('upstream', 'bare');
const connections = Number(option('connections', 10));
const duration = Number(option('duration', 10));
const top = Number(option('top', 40));
const preload = option('preload', undefined);
const profiling = !args.includes('--no-profile');

pinSelf('1');
const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-gateway-profile-'));
const { entra, headers } = await emulatorWithBob({ root, core: '1' });
const TENANT = EMULATOR_TENANT;
const API = EMULATOR_API;
const call = (name, args, meta) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
  });
// builtin-2026: the built-in call in its 2026-07-28 form (stateless: _meta envelope, Mcp-* headers).
const STATELESS_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'gatehouse-bench', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const body =
  which === 'builtin'
    ? call('calculate_sum', { numbers: [1, 2, 3] })
    : which === 'builtin-2026'
      ? call('calculate_sum', { numbers: [1, 2, 3] }, STATELESS_META)
      : call('up__echo', { message: 'profile' });
if (which === 'builtin-2026')
  Object.assign(headers, {
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': 'calculate_sum',
  });

const upstream = await startServer({
  name: 'upstream',
  script: path.join(
    root,
    `bench/servers/${upstreamKind === 'sdk' ? 'sdk-mcp-upstream' : 'bare-mcp-upstream'}.mjs`,
  ),
  core: '1',
});
writeFileSync(
  path.join(work, 'config.json'),
  JSON.stringify({ mcpServers: { up: { url: `${upstream.url}/mcp` } } }),
);
const profileDir = path.join(work, 'profile');
const spawned = performance.now();
const gatehouse = await startServer({
  name: 'Gatehouse',
  script: path.join(root, 'dist/src/cli/main.js'),
  args: ['serve'],
  core: '0',
  nodeArgs: [
    ...(profiling ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    ...(preload ? ['--import', path.resolve(preload)] : []),
  ],
  env: {
    GATEHOUSE_DATA_DIR: path.join(work, 'data'),
    GATEHOUSE_CONFIG_FILE: path.join(work, 'config.json'),
    LOG_LEVEL: 'warn',
    // The per-user limit stays on (its cost is profiled) but above what one load generator sends.
    RATE_LIMIT_MCP_PER_MINUTE: '1000000000',
    LOG_FORMAT: 'json',
    MCP_AZURE_AUTHORITY_HOST: entra.url,
    MCP_AZURE_TENANT_ID: TENANT,
    MCP_AZURE_CLIENT_ID: API,
  },
});
const first = await fetch(`${gatehouse.url}/mcp`, { method: 'POST', headers, body });
console.error(`check: HTTP ${first.status} ${(await first.text()).slice(0, 200)}`);
await waitForQuiet();
await load({ url: `${gatehouse.url}/mcp`, body, headers, connections, duration: 3 });
const windowStart = performance.now() - spawned;
const cpuBefore = cpuMicros(gatehouse.pid);
const oursBefore = process.cpuUsage();
const upstreamBefore = cpuMicros(upstream.pid);
const machineBefore = machineCpuMicros();
const result = await load({ url: `${gatehouse.url}/mcp`, body, headers, connections, duration });
const cpu = cpuMicros(gatehouse.pid) - cpuBefore;
const windowEnd = performance.now() - spawned;
const ours = process.cpuUsage(oursBefore);
const foreign =
  machineCpuMicros() -
  machineBefore -
  cpu -
  (cpuMicros(upstream.pid) - upstreamBefore) -
  ours.user -
  ours.system;
await gatehouse.stop();
await upstream.stop();
await entra.stop();
console.error(
  `${which} (${upstreamKind}) c=${connections}: ${round(result.requests.average)} req/s, non-2xx ${result.non2xx}, ` +
    `Gatehouse CPU ${round(cpu / result.requests.total)} µs/req over ${result.requests.total} requests` +
    (preload ? ` (with ${path.basename(preload)})` : '') +
    `; other processes: ${round(Math.max(0, foreign) / (duration * 1e4))} % of a core`,
);
if (!profiling) {
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written (Gatehouse did not exit cleanly?)');
const profile = JSON.parse(readFileSync(path.join(profileDir, file), 'utf8'));
if (args.includes('--keep')) {
  const kept = path.join(tmpdir(), `gatehouse-${which}-${upstreamKind}-${Date.now()}.cpuprofile`);
  writeFileSync(kept, JSON.stringify(profile));
  console.error(`profile kept at ${kept}`);
}
rmSync(work, { recursive: true, force: true });

// The profile clock starts when Gatehouse's node starts, about when it was spawned; count only the
// samples inside the measured load (minus a 200 ms margin at both ends).
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
let t = 0;
const counted = [];
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i];
  const ms = t / 1000;
  if (ms >= windowStart + 200 && ms <= windowEnd - 200)
    counted.push([profile.samples[i], profile.timeDeltas[i]]);
}
const totalMicros = counted.reduce((sum, [, dt]) => sum + dt, 0);
const requestsInWindow = result.requests.average * (totalMicros / 1e6);

function packageOf(frame) {
  const url = frame.url ?? '';
  if (frame.functionName === '(garbage collector)') return '(gc)';
  if (frame.functionName === '(idle)') return '(idle)';
  if (frame.functionName === '(program)') return '(program)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes('/dist/src/'))
    return `gatehouse ${url.slice(url.indexOf('/dist/src/') + 10).split('/')[0]}/`;
  if (url.startsWith('node:internal/deps/undici')) return 'undici (node fetch)';
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url === '') return '(native / builtin)';
  return url;
}
const label = (frame) =>
  `${frame.functionName || '(anonymous)'} ${(frame.url ?? '').replace(/^.*node_modules\//, '').replace(/^.*\/dist\/src\//, 'src/')}:${frame.lineNumber + 1}`;

const selfByPackage = new Map();
const selfByFunction = new Map();
const inclusiveByFunction = new Map();
const inclusiveByPackage = new Map();
for (const [id, dt] of counted) {
  const node = nodes.get(id);
  const pkg = packageOf(node.callFrame);
  selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + dt);
  const fn = `${label(node.callFrame)}  [${pkg}]`;
  selfByFunction.set(fn, (selfByFunction.get(fn) ?? 0) + dt);
  const seenFns = new Set();
  const seenPkgs = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const frame = nodes.get(cur).callFrame;
    const name = label(frame);
    if (!seenFns.has(name)) {
      seenFns.add(name);
      inclusiveByFunction.set(name, (inclusiveByFunction.get(name) ?? 0) + dt);
    }
    const p = packageOf(frame);
    if (!seenPkgs.has(p)) {
      seenPkgs.add(p);
      inclusiveByPackage.set(p, (inclusiveByPackage.get(p) ?? 0) + dt);
    }
  }
}
// Each sample charged to one owner, the first rule that matches its stack (leaf first):
const RULES = [
  [
    'process warnings (MaxListenersExceededWarning: stack trace + write to stderr)',
    (stack) => stack.some((f) => f.url.includes('internal/process/warning')),
  ],
  [
    "'abort' listeners on the transport's long-lived signal (undici Request: getEventListeners, addEventListener)",
    (stack) =>
      stack.some((f) => f.functionName === 'getEventListeners' || f.functionName === 'addAbortListener'),
  ],
  ['garbage collection', (stack) => stack[0].functionName === '(garbage collector)'],
  [
    'socket writes (writev / write syscalls)',
    (stack) => stack[0].url === '' && /^write/.test(stack[0].functionName),
  ],
  ['zod (message / result schemas)', (stack) => packageOf(stack[0]) === 'zod'],
  [
    'undici fetch (Request, Response, Headers, web streams, body parsing)',
    (stack) => stack.some((f) => f.url.startsWith('node:internal/deps/undici')),
  ],
  [
    'MCP SDK client (Protocol, transport, era codec)',
    (stack) => stack.some((f) => f.url.includes('@modelcontextprotocol/client')),
  ],
  [
    'Gatehouse + fastify (endpoint, auth, dispatch, gateway surface, reply)',
    (stack) =>
      stack.some(
        (f) =>
          f.url.includes('/dist/src/') ||
          f.url.includes('node_modules/fastify') ||
          f.url.includes('node_modules/find-my-way') ||
          f.url.includes('node_modules/jose'),
      ),
  ],
  ['node:http server (parsing, incoming)', (stack) => stack.some((f) => f.url.startsWith('node:_http'))],
  ['idle / program', (stack) => stack[0].functionName === '(idle)' || stack[0].functionName === '(program)'],
  ['other (event loop, microtasks, timers, …)', () => true],
];
const owners = new Map();
for (const [id, dt] of counted) {
  const stack = [];
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) stack.push(nodes.get(cur).callFrame);
  const owner = RULES.find(([, match]) => match(stack))[0];
  owners.set(owner, (owners.get(owner) ?? 0) + dt);
}
const perRequest = (micros) => round(micros / requestsInWindow, 1);
const share = (micros) => `${round((micros / totalMicros) * 100, 1)} %`;
const print = (title, map, limit) => {
  console.log(`\n## ${title}\n\n| where | share of samples | µs per request |\n| --- | ---: | ---: |`);
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, limit))
    console.log(`| ${key} | ${share(micros)} | ${perRequest(micros)} |`);
};
console.log(
  `# Gatehouse profile: ${which === 'builtin' ? 'built-in calculate_sum' : `forward to the ${upstreamKind} upstream`}, c=${connections}\n\n` +
    `${round(totalMicros / 1000)} ms of samples over ≈${round(requestsInWindow)} requests (${round(result.requests.average)} req/s); ` +
    `/proc says ${round(cpu / result.requests.total)} µs CPU per request (all threads).`,
);
print('Attribution (each sample to the first matching owner)', owners, RULES.length);
print('Self time by package', selfByPackage, 30);
print('Self time by function', selfByFunction, top);
print('Inclusive time by package (a stack counts once per package)', inclusiveByPackage, 30);
print('Inclusive time by function', inclusiveByFunction, top * 2);
