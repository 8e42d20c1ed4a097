// Shared pieces of the benchmark scenarios: starting pinned servers, checking their answers,
// driving autocannon, reading a process's CPU time.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import autocannon from 'autocannon';

export const CLK_TCK = 100;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Starts `node script` pinned to one core (the load generator runs on the other). `nodeArgs` go to
 * node before the script (e.g. `--cpu-prof`).
 */
export async function startServer({
  name,
  script,
  args = [],
  env = {},
  core = '0',
  portVariable = 'PORT',
  nodeArgs = [],
}) {
  const port = await freePort();
  const pinned = existsSync('/usr/bin/taskset');
  const command = pinned ? 'taskset' : process.execPath;
  const argv = pinned
    ? ['-c', core, process.execPath, ...nodeArgs, script, ...args]
    : [...nodeArgs, script, ...args];
  const child = spawn(command, argv, {
    env: { ...process.env, ...env, [portVariable]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited early:\n${output}`);
    try {
      await fetch(`${url}/`, { method: 'GET' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${name} did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    name,
    url,
    pid: child.pid,
    pinned,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    },
  };
}

/** utime + stime of a process (and, for taskset, of its child), in microseconds. */
export function cpuMicros(pid) {
  const pids = [pid, ...childrenOf(pid)];
  let ticks = 0;
  for (const p of pids) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return (ticks / CLK_TCK) * 1e6;
}

/**
 * User + nice + system time of the whole machine so far (every core), in microseconds. Minus the
 * CPU of a benchmark's own processes, it shows how busy the rest of the machine was during a cell
 * (approximately: interrupt time is left out on both sides).
 */
export function machineCpuMicros() {
  const [user, nice, system] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return ((user + nice + system) / CLK_TCK) * 1e6;
}

/**
 * Waits until the machine has been quiet for one window (total CPU use below `threshold` % of one
 * core: the benchmark's own processes are idle between cells, so this is other people's work), or
 * until `maxWaitMs` has passed. Returns the busy % of the last window.
 */
export async function waitForQuiet({
  threshold = 15,
  windowMs = 1000,
  maxWaitMs = Number(process.env.BENCH_QUIET_WAIT_MS ?? 120_000),
} = {}) {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const before = machineCpuMicros();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const busy = ((machineCpuMicros() - before) / (windowMs * 1000)) * 100;
    if (busy <= threshold || Date.now() > deadline) return busy;
  }
}

/** This process's CPU time (all threads), in microseconds. */
export function ownCpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Drives `connections` keep-alive connections for `duration` seconds. With `verifyBody`, a response
 * whose body fails it counts in `result.mismatches`.
 */
export function load({ url, body, headers, connections, duration, verifyBody }) {
  return autocannon({
    url,
    method: 'POST',
    headers,
    body,
    connections,
    duration,
    pipelining: 1,
    ...(verifyBody ? { verifyBody } : {}),
  });
}

/**
 * Loads every target at the same time, each with its own autocannon (`load`'s options plus the
 * `pid` of the server behind it, and a `name` for errors): `warmup` seconds, then `duration`
 * seconds measured, and each server's CPU over the measured part. Servers sharing a core then each
 * get half of it while both have work, so their CPU per request is compared at the same instant.
 * Any non-2xx answer or error throws. Returns, per target, autocannon's result and the CPU per
 * request in microseconds.
 */
export async function loadSideBySide(targets, { duration, warmup }) {
  await Promise.all(targets.map((target) => load({ ...target, duration: warmup })));
  const before = targets.map((target) => cpuMicros(target.pid));
  const results = await Promise.all(targets.map((target) => load({ ...target, duration })));
  return targets.map((target, index) => {
    const result = results[index];
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${target.name ?? target.url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    const cpuMicrosPerRequest = round((cpuMicros(target.pid) - before[index]) / result.requests.total, 1);
    return { result, cpuMicrosPerRequest };
  });
}

/**
 * Pins this process (every thread of it) to one core, so the load generator runs where the
 * scenario says rather than wherever the scheduler puts it. Returns false without taskset.
 */
export function pinSelf(core) {
  if (!existsSync('/usr/bin/taskset')) return false;
  execFileSync('taskset', ['-a', '-p', '-c', core, String(process.pid)], { stdio: 'ignore' });
  return true;
}

/**
 * Latency of `requests` POSTs measured one by one with performance.now() (sub-millisecond, unlike
 * autocannon's whole-millisecond histogram): from just before the request is written to the end
 * of the response body. `connections` keep-alive connections each send one request at a time; with
 * `rate` (requests/s over all connections) each send waits for its slot, so the server is loaded
 * at that rate instead of saturated. Any non-2xx answer, or a body failing `verify`, throws.
 * Returns the latencies in milliseconds, sorted.
 */
export async function latencyRun({ url, body, headers, requests, connections = 1, rate, verify }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(url);
  const payload = Buffer.from(body);
  const requestHeaders = { ...headers, 'content-length': String(payload.length) };
  const one = () =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: requestHeaders,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => {
            const elapsed = performance.now() - started;
            if (res.statusCode < 200 || res.statusCode > 299)
              reject(new Error(`${url}: HTTP ${res.statusCode} ${text}`));
            else if (verify && !verify(text)) reject(new Error(`${url}: unexpected answer ${text}`));
            else resolve(elapsed);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const latencies = [];
  const start = performance.now();
  const perConnection = Math.ceil(requests / connections);
  await Promise.all(
    Array.from({ length: connections }, async (_, k) => {
      for (let n = 0; n < perConnection && latencies.length < requests; n++) {
        if (rate) {
          const slot = start + ((n * connections + k) / rate) * 1000;
          const wait = slot - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        latencies.push(await one());
      }
    }),
  );
  agent.destroy();
  return latencies.sort((a, b) => a - b);
}

/** The q-quantile (0..1) of sorted values. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function round(value, digits = 0) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * A delegated Entra token for the Gatehouse API from the development emulator, obtained the way
 * VS Code would: authorization code + PKCE through the emulator's sign-in form.
 */
export async function emulatorUserToken({ entraUrl, tenant, apiClientId, user, password }) {
  const { createHash, randomBytes } = await import('node:crypto');
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const redirect = 'http://127.0.0.1:33418/';
  const scope = `api://${apiClientId}/discover api://${apiClientId}/tools.execute openid profile`;
  const authorize = new URL(`${entraUrl}/${tenant}/oauth2/v2.0/authorize`);
  authorize.search = new URLSearchParams({
    client_id: 'aebc6443-996d-45c2-90f0-388ff96faa56',
    response_type: 'code',
    redirect_uri: redirect,
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'bench',
  }).toString();
  const html = await (await fetch(authorize)).text();
  const ctx = /name="ctx" value="([^"]+)"/.exec(html)?.[1];
  const action = /<form method="post" action="([^"]+)" id="sign-in">/.exec(html)?.[1];
  if (!ctx || !action) throw new Error('the emulator sign-in page has no form');
  const signedIn = await fetch(action.replace(/&amp;/g, '&'), {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ ctx, username: user, password }),
  });
  const code = new URL(signedIn.headers.get('location')).searchParams.get('code');
  const token = await fetch(`${entraUrl}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: 'aebc6443-996d-45c2-90f0-388ff96faa56',
      code,
      redirect_uri: redirect,
      code_verifier: verifier,
      scope,
    }),
  });
  const body = await token.json();
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Rewrites what stands between `<!-- name:start -->` and `<!-- name:end -->` in a Markdown file. */
export function replaceBetween(file, name, content) {
  const text = readFileSync(file, 'utf8');
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  writeFileSync(
    file,
    `${text.slice(0, text.indexOf(start) + start.length)}\n${content}\n${text.slice(text.indexOf(end))}`,
  );
}

/** The development emulator's seeded tenant and Gatehouse API app. */
export const EMULATOR_TENANT = 'aad59afb-4251-4c23-8403-b51da0a099c5';
export const EMULATOR_API = '829cba28-25a8-434b-aad5-d7be2331ceba';

/**
 * Starts the development emulator from dist/ on `core` and signs bob in as VS Code would: the
 * emulator, bob's Entra access token, and the MCP request headers every bench request carries.
 */
export async function emulatorWithBob({ root, core }) {
  const entra = await startServer({
    name: 'dev-entra',
    script: `${root}/dist/src/cli/main.js`,
    args: ['dev-entra'],
    portVariable: 'DEV_ENTRA_PORT',
    core,
  });
  const token = await emulatorUserToken({
    entraUrl: entra.url,
    tenant: EMULATOR_TENANT,
    apiClientId: EMULATOR_API,
    user: 'bob',
    password: 'bob-dev-password',
  });
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
    authorization: `Bearer ${token}`,
  };
  return { entra, token, headers };
}
