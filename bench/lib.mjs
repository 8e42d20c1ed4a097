// Shared pieces of the benchmark scenarios: starting pinned servers, checking their answers,
// driving autocannon, reading a process's CPU time.
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
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

/** Starts `node script` pinned to one core (the load generator runs on the other). */
export async function startServer({ name, script, args = [], env = {}, core = '0' }) {
  const port = await freePort();
  const pinned = existsSync('/usr/bin/taskset');
  const command = pinned ? 'taskset' : process.execPath;
  const argv = pinned ? ['-c', core, process.execPath, script, ...args] : [script, ...args];
  const child = spawn(command, argv, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
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

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function load({ url, body, headers, connections, duration }) {
  return autocannon({ url, method: 'POST', headers, body, connections, duration, pipelining: 1 });
}

export function round(value, digits = 0) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
