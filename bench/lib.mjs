// Shared pieces of the benchmark scenarios: starting pinned servers, checking their answers,
// driving autocannon, reading a process's CPU time.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
export async function startServer({ name, script, args = [], env = {}, core = '0', portVariable = 'PORT' }) {
  const port = await freePort();
  const pinned = existsSync('/usr/bin/taskset');
  const command = pinned ? 'taskset' : process.execPath;
  const argv = pinned ? ['-c', core, process.execPath, script, ...args] : [script, ...args];
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

export function load({ url, body, headers, connections, duration }) {
  return autocannon({ url, method: 'POST', headers, body, connections, duration, pipelining: 1 });
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
