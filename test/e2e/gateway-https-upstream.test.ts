import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpPost } from '../helpers/auth-fixture.js';
import { testCertificates } from '../helpers/client-metadata-host.js';
import { TEST_UPSTREAM } from '../helpers/gateway-fixture.js';
import { GATEHOUSE_BIN } from '../helpers/load-balanced-cluster.js';
import { freePort } from '../helpers/ports.js';

/**
 * A remote upstream over HTTPS, with a certificate from the organisation's own CA: Gatehouse (the
 * built CLI, as operators run it) trusts it through NODE_EXTRA_CA_CERTS, on both of its client
 * paths (the MCP SDK client's connection and tools/list, the direct path of tools/call), and
 * refuses it without that CA.
 */

const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-https-upstream-'));
const children: ChildProcess[] = [];
let caPem: string;
let upstreamBase: string;

function spawnLogged(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

/** A GET to the upstream's own HTTPS server, trusting the test CA (this process has no NODE_EXTRA_CA_CERTS). */
function getUpstream(route: string): Promise<any> {
  return new Promise((resolve, reject) => {
    https
      .get(`${upstreamBase}${route}`, { ca: caPem }, (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve(JSON.parse(text)));
      })
      .on('error', reject);
  });
}

/** `gatehouse serve` with the upstream in its config file; resolves once /ready answers. */
async function serve(
  trustCa: boolean,
): Promise<{ mcpUrl: string; output: () => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(work, 'data-'));
  const configFile = path.join(dataDir, 'gatehouse.json');
  writeFileSync(configFile, JSON.stringify({ mcpServers: { secure: { url: `${upstreamBase}/mcp` } } }));
  const { child, output } = spawnLogged([GATEHOUSE_BIN, 'serve'], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_CONFIG_FILE: configFile,
    MCP_ENABLE_AUTH: 'false',
    LOG_LEVEL: 'warn',
    ...(trustCa ? { NODE_EXTRA_CA_CERTS: path.join(work, 'ca.pem') } : {}),
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gatehouse exited:\n${output()}`);
    const ready = await fetch(`${base}/health`).catch(() => undefined);
    if (ready?.ok) break;
    if (Date.now() > deadline) throw new Error(`gatehouse did not start:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { mcpUrl: `${base}/mcp`, output, stop };
}

let nextId = 1;
async function rpc(mcpUrl: string, method: string, params: Record<string, unknown> = {}) {
  const { body } = await mcpPost(mcpUrl, { jsonrpc: '2.0', id: nextId++, method, params }, undefined, {
    'mcp-protocol-version': '2025-11-25',
  });
  return body as { result?: any; error?: any };
}

describe('a remote upstream over HTTPS', () => {
  beforeAll(async () => {
    const certificates = await testCertificates(['127.0.0.1']);
    caPem = certificates.caPem;
    writeFileSync(path.join(work, 'ca.pem'), certificates.caPem);
    writeFileSync(path.join(work, 'cert.pem'), certificates.certPem);
    writeFileSync(path.join(work, 'key.pem'), certificates.keyPem);
    const port = await freePort();
    const upstream = spawnLogged(
      [TEST_UPSTREAM, '--https', String(port), path.join(work, 'cert.pem'), path.join(work, 'key.pem')],
      { PATH: process.env.PATH },
    );
    const deadline = Date.now() + 15_000;
    while (!upstream.output().includes('listening')) {
      if (upstream.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the HTTPS upstream did not start:\n${upstream.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    upstreamBase = `https://127.0.0.1:${port}`;
  });
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  it('is served when Gatehouse trusts its CA: tools listed, calls answered over TLS', async () => {
    const { mcpUrl, output, stop } = await serve(true);
    const listed = await rpc(mcpUrl, 'tools/list');
    expect(
      listed.result?.tools.map((tool: { name: string }) => tool.name),
      output(),
    ).toContain('secure__echo');
    for (const message of ['first', 'second']) {
      const called = await rpc(mcpUrl, 'tools/call', { name: 'secure__echo', arguments: { message } });
      expect(called.result?.content[0].text, output()).toBe(`echo: ${message}`);
    }
    const calls = ((await getUpstream('/recorded')) as { rpc: string | null; params: any }[]).filter(
      (request) => request.rpc === 'tools/call',
    );
    expect(calls.map((request) => request.params.arguments.message)).toEqual(['first', 'second']);
    // Stopped, so that what the upstream receives next can only come from the next instance.
    await stop();
  });

  it("is refused with the gateway's error when Gatehouse does not trust its CA", async () => {
    const before = ((await getUpstream('/recorded')) as unknown[]).length;
    const { mcpUrl, stop } = await serve(false);
    const called = await rpc(mcpUrl, 'tools/call', { name: 'secure__echo', arguments: { message: 'x' } });
    expect(called.error).toMatchObject({ data: { code: 'GH_GATEWAY_UPSTREAM_UNAVAILABLE' } });
    // What went wrong, not only "fetch failed".
    expect(called.error.message).toMatch(/certificate/i);
    // The TLS handshake failed: no request reached the upstream.
    expect(((await getUpstream('/recorded')) as unknown[]).length).toBe(before);
    await stop();
  });
});
