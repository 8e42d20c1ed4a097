import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DevEntra } from '../../dev-entra/index.js';
import { IDS } from './auth-fixture.js';
import { TEST_MASTER_SECRET } from './oauth-fixture.js';
import { freePort } from './ports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The compiled CLI (npm run build): the instances are real processes, killed for real. */
export const GATEHOUSE_BIN = path.join(root, 'dist/src/cli/main.js');
/** The HAProxy configuration docs/deployment.md shows; the tests fill in {{BIND}} and {{SERVERS}}. */
export const HAPROXY_TEMPLATE = path.join(root, 'deploy/haproxy.cfg');
const HAPROXY = '/usr/sbin/haproxy';

export interface Instance {
  readonly name: string;
  readonly port: number;
  /** The instance's own address, bypassing the load balancer. */
  readonly url: string;
  readonly env: Record<string, string>;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  running(): boolean;
  /** The process id while it runs (for resident-memory samples). */
  pid(): number | undefined;
  /** SIGKILL: the process dies at once, requests in flight on it included. */
  kill(): Promise<void>;
  /** Starts the process again on the same port and settings; resolves once /ready answers 200. */
  start(): Promise<void>;
}

export interface Cluster {
  /** The load balancer's address: MCP_SERVER_BASE_URL of every instance. */
  readonly url: string;
  readonly instances: readonly Instance[];
  /** The environment every instance runs with (for the CLI: `gatehouse keys rotate`). */
  readonly env: Record<string, string>;
  /** Resolves once the load balancer has sent requests to every running instance. */
  balanced(): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  entra: DevEntra;
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  size?: number;
  env?: Record<string, string>;
}

/** A clean environment: nothing of the test process's MCP_* or DATABASE_* settings leaks in. */
function baseEnvironment(): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) keep[name] = value;
  }
  return keep;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `gatehouse exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`,
      );
    try {
      const response = await fetch(`${url}/ready`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gatehouse did not get ready at ${url} within 60 s:\n${output()}`);
}

/**
 * Gatehouse instances (child processes of the built CLI) sharing one PostgreSQL database and one
 * Redis prefix, behind HAProxy running deploy/haproxy.cfg in the foreground: round-robin, no
 * stickiness, every instance the authorization server for the same public URL.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-cluster-'));
  const lbPort = await freePort();
  const url = `http://127.0.0.1:${lbPort}`;
  const env: Record<string, string> = {
    ...baseEnvironment(),
    HOST: '127.0.0.1',
    MCP_SERVER_BASE_URL: url,
    TRUSTED_PROXIES: 'loopback',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: options.redisKeyPrefix,
    MCP_AZURE_AUTHORITY_HOST: options.entra.url,
    MCP_AZURE_TENANT_ID: options.entra.tenantId,
    MCP_AZURE_CLIENT_ID: IDS.api,
    MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
    MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
    GATEHOUSE_DATA_DIR: path.join(work, 'data'),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    // The tests drive one user from one address far faster than a person would; the limits are on,
    // with budgets these runs never use up (the limits themselves are tested in rate-limits.test.ts).
    RATE_LIMIT_MCP_PER_MINUTE: '1000000',
    RATE_LIMIT_TOKEN_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTHORIZE_PER_MINUTE: '1000000',
    ...options.env,
  };
  const instances: Instance[] = [];
  for (let index = 1; index <= (options.size ?? 3); index++) {
    const port = await freePort();
    const name = `gatehouse${index}`;
    const instanceEnv = { ...env, PORT: String(port) };
    let child: ChildProcess | undefined;
    let output = '';
    const instance: Instance = {
      name,
      port,
      url: `http://127.0.0.1:${port}`,
      env: instanceEnv,
      output: () => output,
      running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
      pid: () => (instance.running() ? child?.pid : undefined),
      async kill() {
        const running = child;
        if (running === undefined || !instance.running()) return;
        await new Promise<void>((resolve) => {
          running.once('exit', () => resolve());
          running.kill('SIGKILL');
        });
      },
      async start() {
        const started = spawn(process.execPath, [GATEHOUSE_BIN, 'serve'], {
          env: instanceEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child = started;
        const collect = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.length > 200_000) output = output.slice(-100_000);
        };
        started.stdout?.on('data', collect);
        started.stderr?.on('data', collect);
        await waitReady(instance.url, started, () => output);
      },
    };
    instances.push(instance);
  }
  const stopAll = async () => {
    for (const instance of instances) await instance.kill();
  };
  // One at a time: the first runs the migrations the others then find done.
  try {
    for (const instance of instances) await instance.start();
  } catch (error) {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
    throw error;
  }

  const servers = instances
    .map((instance) => `  server ${instance.name} 127.0.0.1:${instance.port}`)
    .join('\n');
  const configFile = path.join(work, 'haproxy.cfg');
  writeFileSync(
    configFile,
    readFileSync(HAPROXY_TEMPLATE, 'utf8')
      .replace('{{BIND}}', `127.0.0.1:${lbPort}`)
      .replace('{{SERVERS}}', servers),
  );
  const haproxy = spawn(HAPROXY, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let haproxyOutput = '';
  haproxy.stdout?.on('data', (chunk: Buffer) => {
    haproxyOutput += chunk.toString();
  });
  haproxy.stderr?.on('data', (chunk: Buffer) => {
    haproxyOutput += chunk.toString();
  });

  const cluster: Cluster = {
    url,
    instances,
    env,
    async balanced() {
      const want = new Set(
        instances.filter((instance) => instance.running()).map((instance) => instance.name),
      );
      const seen = new Set<string>();
      for (let attempt = 0; attempt < 600; attempt++) {
        if (haproxy.exitCode !== null)
          throw new Error(`haproxy exited (${haproxy.exitCode}):\n${haproxyOutput}`);
        try {
          const response = await fetch(`${url}/health`);
          await response.arrayBuffer();
          const served = response.headers.get('x-gatehouse-instance');
          if (response.status === 200 && served !== null) seen.add(served);
        } catch {}
        if ([...want].every((name) => seen.has(name))) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(
        `the load balancer did not reach ${[...want].join(', ')} (saw ${[...seen].join(', ')}):\n${haproxyOutput}`,
      );
    },
    async close() {
      if (haproxy.exitCode === null) {
        await new Promise<void>((resolve) => {
          haproxy.once('exit', () => resolve());
          haproxy.kill('SIGTERM');
        });
      }
      await stopAll();
      rmSync(work, { recursive: true, force: true });
    },
  };
  try {
    await cluster.balanced();
  } catch (error) {
    // Nothing may outlive a failed start: the instances and HAProxy are stopped.
    await cluster.close();
    throw error;
  }
  return cluster;
}
