// The forward path without Gatehouse around it: what one `tools/call` costs the caller's process
// when made through the MCP SDK client the way Gatehouse makes it (one Client and one Streamable
// HTTP transport, reused), against plain fetch and plain node:http. The caller runs pinned to
// core 0, the bare MCP upstream to core 1; each variant keeps 10 calls in flight for --duration
// seconds after a 2 s warm-up. Each variant runs in a fresh process (no heap or JIT state carried
// over), --rounds times in turn; the median round is kept. Reports calls/s and the caller's CPU µs
// per call (process.cpuUsage), plus the 'abort' listeners left on the transport's long-lived signal.
// Gatehouse's own hot path is imported from dist/ (npm run build first).
// Usage: node bench/gateway/client-micro.mjs [--duration 5] [--rounds 3] [--only name,name]
import { execFileSync, spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Pool } from 'undici';
import { z } from 'zod';
import { postDirect } from '../../dist/src/gateway/upstream/direct-http.js';
import { cpuMicros, machineCpuMicros, round, startServer, waitForQuiet } from '../lib.mjs';
import { nodeHttpFetch } from './node-http-fetch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const duration = Number(args.includes('--duration') ? args[args.indexOf('--duration') + 1] : 5);
const rounds = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 3);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
const child = process.env.MICRO_VARIANT;
const IN_FLIGHT = 10;

if (child !== undefined && existsSync('/usr/bin/taskset'))
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
const url = process.env.MICRO_URL;
const upstream = { pid: Number(process.env.MICRO_UPSTREAM_PID) };
const params = { name: 'echo', arguments: { message: 'micro' } };
const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params });

/** Gatehouse's ANY_RESULT: results are relayed, not validated. */
const ANY_RESULT = { '~standard': { version: 1, vendor: 'bench', validate: (value) => ({ value }) } };

async function sdkClient(fetchImpl) {
  const client = new Client(
    { name: 'gatehouse', version: 'bench' },
    { capabilities: {}, versionNegotiation: { mode: 'auto' } },
  );
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: {} },
    redirectPolicy: 'same-origin',
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  await client.connect(transport, { timeout: 10_000 });
  return { client, transport };
}

/** One call as Gatehouse's UpstreamConnection.request makes it (a per-request signal from the endpoint). */
const viaSdk =
  ({ client }) =>
  () =>
    client.request({ method: 'tools/call', params }, ANY_RESULT, {
      timeout: 30_000,
      signal: new AbortController().signal,
    });

const DIRECT_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

const variants = {
  "Gatehouse's hot path (postDirect: undici dispatcher, a timer per call)": async () => {
    const target = new URL(url);
    return {
      call: async () => {
        const answer = await postDirect({
          url: target,
          headers: DIRECT_HEADERS,
          body,
          id: 1,
          timeoutMs: 30_000,
          signal: undefined,
        });
        return answer.message.result;
      },
    };
  },
  'plain undici Pool.request + JSON.parse': async () => {
    const target = new URL(url);
    const pool = new Pool(target.origin, { connections: IN_FLIGHT });
    return {
      call: async () => {
        const response = await pool.request({
          path: target.pathname,
          method: 'POST',
          headers: DIRECT_HEADERS,
          body,
        });
        return JSON.parse(await response.body.text());
      },
      close: () => pool.close(),
    };
  },
  'SDK v1 client (@modelcontextprotocol/sdk 1.x, global fetch)': async () => {
    const client = new ClientV1({ name: 'gatehouse', version: 'bench' }, { capabilities: {} });
    const transport = new TransportV1(new URL(url));
    await client.connect(transport, { timeout: 10_000 });
    return {
      call: () =>
        // v1 takes a zod schema: the loosest one, as close to ANY_RESULT as it allows.
        client.request({ method: 'tools/call', params }, z.looseObject({}), {
          timeout: 30_000,
          signal: new AbortController().signal,
        }),
      listeners: () => 0,
      close: () => client.close(),
    };
  },
  'SDK client, as Gatehouse uses it (global fetch)': async () => {
    const c = await sdkClient();
    return {
      call: viaSdk(c),
      listeners: () => getEventListeners(c.transport._abortController.signal, 'abort').length,
      close: () => c.client.close(),
    };
  },
  'SDK client, fetch given a per-request AbortSignal.any([signal])': async () => {
    const c = await sdkClient((input, init) =>
      fetch(input, init?.signal ? { ...init, signal: AbortSignal.any([init.signal]) } : init),
    );
    return {
      call: viaSdk(c),
      listeners: () => getEventListeners(c.transport._abortController.signal, 'abort').length,
      close: () => c.client.close(),
    };
  },
  'SDK client, fetch without the signal': async () => {
    const c = await sdkClient((input, init) => fetch(input, { ...init, signal: undefined }));
    return {
      call: viaSdk(c),
      listeners: () => getEventListeners(c.transport._abortController.signal, 'abort').length,
      close: () => c.client.close(),
    };
  },
  'SDK client, fetch built on node:http (keep-alive agent)': async () => {
    const { fetchImpl, agent } = nodeHttpFetch();
    const c = await sdkClient(fetchImpl);
    return {
      call: viaSdk(c),
      listeners: () => getEventListeners(c.transport._abortController.signal, 'abort').length,
      close: async () => {
        await c.client.close();
        agent.destroy();
      },
    };
  },
  'plain fetch + response.json()': async () => ({
    call: async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
        },
        body,
      });
      return response.json();
    },
  }),
  'plain node:http (keep-alive agent) + JSON.parse': async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const target = new URL(url);
    return {
      call: () =>
        new Promise((resolve, reject) => {
          const req = http.request(
            {
              agent,
              host: target.hostname,
              port: target.port,
              path: target.pathname,
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                accept: 'application/json, text/event-stream',
                'mcp-protocol-version': '2025-11-25',
                'content-length': Buffer.byteLength(body),
              },
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk) => (text += chunk));
              res.on('end', () => resolve(JSON.parse(text)));
              res.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end(body);
        }),
      close: () => agent.destroy(),
    };
  },
};

async function drive(call, seconds) {
  let calls = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        const result = await call();
        const text = result?.content?.[0]?.text ?? result?.result?.content?.[0]?.text;
        if (text !== 'micro') throw new Error(`unexpected answer ${JSON.stringify(result)}`);
        calls++;
      }
    }),
  );
  return calls;
}

if (child === undefined) {
  // Parent: one upstream for all, each variant in a fresh child process, rounds interleaved.
  const upstream = await startServer({
    name: 'bare upstream',
    script: path.join(root, 'bench/servers/bare-mcp-upstream.mjs'),
    core: '1',
  });
  const names = Object.keys(variants).filter((name) => !only || only.some((part) => name.includes(part)));
  const byName = new Map(names.map((name) => [name, []]));
  for (let round_ = 0; round_ < rounds; round_++) {
    for (const name of names) {
      await waitForQuiet();
      const run = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), '--duration', String(duration)],
        {
          env: {
            ...process.env,
            MICRO_VARIANT: name,
            MICRO_URL: `${upstream.url}/mcp`,
            MICRO_UPSTREAM_PID: String(upstream.pid),
          },
          encoding: 'utf8',
        },
      );
      const line = run.stdout.trim().split('\n').at(-1);
      if (run.status !== 0 || !line?.startsWith('{'))
        throw new Error(`${name} failed:\n${run.stderr.slice(-2000)}`);
      const row = JSON.parse(line);
      console.error(JSON.stringify(row));
      byName.get(name).push(row);
    }
  }
  await upstream.stop();
  console.log(
    `| variant | calls/s | caller CPU µs/call (median of ${rounds}) | all rounds | abort listeners on the transport signal at the end | process warnings | other processes, % of a core (max) |`,
  );
  console.log('| --- | ---: | ---: | --- | ---: | ---: | ---: |');
  for (const [name, rows] of byName) {
    const sorted = [...rows].sort((a, b) => a.cpuMicrosPerCall - b.cpuMicrosPerCall);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(
      `| ${name} | ${median.callsPerSecond} | ${median.cpuMicrosPerCall} | ${rows.map((r) => r.cpuMicrosPerCall).join(', ')} | ${median.listenersOnTransportSignal ?? '—'} | ${median.warnings} | ${Math.max(...rows.map((r) => r.foreignLoadPercent))} |`,
    );
  }
  process.exit(0);
}

const warnings = [];
process.on('warning', (warning) => warnings.push(warning.name));
const variant = await variants[child]();
await drive(variant.call, 2);
warnings.length = 0;
const before = process.cpuUsage();
const upstreamBefore = cpuMicros(upstream.pid);
const machineBefore = machineCpuMicros();
const started = performance.now();
const calls = await drive(variant.call, duration);
const elapsed = (performance.now() - started) / 1000;
const used = process.cpuUsage(before);
const foreign =
  machineCpuMicros() - machineBefore - (used.user + used.system) - (cpuMicros(upstream.pid) - upstreamBefore);
const row = {
  variant: child,
  callsPerSecond: round(calls / elapsed),
  cpuMicrosPerCall: round((used.user + used.system) / calls),
  listenersOnTransportSignal: variant.listeners ? variant.listeners() : null,
  warnings: warnings.length,
  foreignLoadPercent: round(Math.max(0, foreign) / (elapsed * 1e4)),
};
await variant.close?.();
console.log(JSON.stringify(row));
process.exit(0);
