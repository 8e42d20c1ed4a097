import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { loadConfig } from '../../src/config/index.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { MemoryAuditSink } from '../../src/ops/audit.js';
import { emulatorBackedConfig, IDS } from '../helpers/auth-fixture.js';
import { TEST_MASTER_SECRET } from '../helpers/oauth-fixture.js';
import { freePort } from '../helpers/ports.js';

/** A request with exactly these headers (Host included), on a real socket to 127.0.0.1. */
function send(
  port: number,
  requestPath: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: requestPath, method, headers, setHost: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {}
          resolve({ status: response.statusCode ?? 0, body });
        });
      },
    );
    request.on('error', reject);
    request.end();
  });
}

describe('trusted proxies and foreign hosts', () => {
  let entra: DevEntra;
  let work: string;
  const started: RunningGatehouse[] = [];

  async function start(env: Record<string, string>) {
    const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
    const audit = new MemoryAuditSink();
    const config = await emulatorBackedConfig(entra, path.join(work, `data-${port}`), {
      ...env,
      PORT: String(port),
    });
    const gatehouse = await startGatehouse(config, { audit });
    started.push(gatehouse);
    return { port, audit, publicHost: new URL(config.server.baseUrl).host };
  }

  /** The client address Gatehouse recorded for a request with a bad bearer token. */
  async function recordedIp(
    server: { port: number; audit: MemoryAuditSink },
    headers: Record<string, string>,
  ): Promise<string | undefined> {
    server.audit.clear();
    const answer = await send(server.port, '/me', { ...headers, authorization: 'Bearer not-a-token' });
    expect(answer.status).toBe(401);
    const failure = server.audit.events.find((event) => event.type === 'auth.failure') as
      | { ip?: string }
      | undefined;
    return failure?.ip;
  }

  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
    work = mkdtempSync(path.join(tmpdir(), 'gatehouse-proxies-'));
  });
  afterAll(async () => {
    for (const gatehouse of started) await gatehouse.close();
    await entra?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('refuses a TRUSTED_PROXIES entry that is not an address, a CIDR or a range name', () => {
    for (const bad of ['10.0.0.0/33', 'proxy.example', '10.0.0.1/8/9', '::1/129']) {
      expect(() => loadConfig({ env: { TRUSTED_PROXIES: bad, LOG_LEVEL: 'silent' } }), bad).toThrow(
        /TRUSTED_PROXIES.*not an IP address, a CIDR/s,
      );
    }
    const config = loadConfig({ env: { TRUSTED_PROXIES: '10.0.0.0/8, ::1, Loopback', LOG_LEVEL: 'silent' } });
    expect(config.server.trustedProxies).toEqual(['10.0.0.0/8', '::1', 'loopback']);
    expect(loadConfig({ env: { LOG_LEVEL: 'silent' } }).server.trustedProxies).toEqual([]);
  });

  describe('with no trusted proxy (the default)', () => {
    let server: Awaited<ReturnType<typeof start>>;
    beforeAll(async () => {
      const port = await freePort();
      server = await start({ MCP_SERVER_BASE_URL: `http://gatehouse.test:${port}`, PORT: String(port) });
    });

    it('serves the configured public host', async () => {
      const answer = await send(server.port, '/', { host: server.publicHost });
      expect(answer.status).toBe(200);
      expect(answer.body.name).toBe('Gatehouse');
    });

    it('refuses another host with 421 GH_HTTP_MISDIRECTED, on the MCP endpoint and on metadata too', async () => {
      for (const requestPath of ['/', '/.well-known/oauth-authorization-server', '/me']) {
        for (const host of ['evil.example', `127.0.0.1:${server.port}`]) {
          const answer = await send(server.port, requestPath, { host });
          expect(answer.status, `${requestPath} ${host}`).toBe(421);
          expect(answer.body.error).toBe('GH_HTTP_MISDIRECTED');
          expect(answer.body.message).toContain(`http://${server.publicHost}`);
        }
      }
      const mcp = await send(
        server.port,
        '/mcp',
        { host: 'evil.example', 'content-type': 'application/json' },
        'POST',
      );
      expect(mcp.status).toBe(421);
    });

    it('answers the load balancer probes on any host', async () => {
      for (const requestPath of ['/health', '/ready']) {
        const answer = await send(server.port, requestPath, { host: `10.1.2.3:${server.port}` });
        expect(answer.status, requestPath).toBe(200);
      }
    });

    it('ignores X-Forwarded-Host from an untrusted peer: the Host header decides', async () => {
      const forged = await send(server.port, '/', {
        host: 'evil.example',
        'x-forwarded-host': server.publicHost,
      });
      expect(forged.status).toBe(421);
      const honest = await send(server.port, '/', {
        host: server.publicHost,
        'x-forwarded-host': 'evil.example',
      });
      expect(honest.status).toBe(200);
    });

    it('ignores X-Forwarded-For from an untrusted peer: the client address is the socket’s', async () => {
      expect(await recordedIp(server, { host: server.publicHost, 'x-forwarded-for': '203.0.113.7' })).toBe(
        '127.0.0.1',
      );
    });
  });

  describe('behind a trusted proxy (TRUSTED_PROXIES=loopback)', () => {
    let server: Awaited<ReturnType<typeof start>>;
    beforeAll(async () => {
      const port = await freePort();
      server = await start({
        MCP_SERVER_BASE_URL: `https://gatehouse.test`,
        PORT: String(port),
        TRUSTED_PROXIES: '10.0.0.0/8, loopback',
        // An Entra credential makes Gatehouse the authorization server, with its metadata.
        MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
        MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
      });
    });

    it('takes the client address from X-Forwarded-For (the entry the trusted proxy added)', async () => {
      expect(
        await recordedIp(server, {
          host: `127.0.0.1:${server.port}`,
          'x-forwarded-host': 'gatehouse.test',
          'x-forwarded-for': '198.51.100.9, 203.0.113.7',
        }),
      ).toBe('203.0.113.7');
    });

    it('takes the host from X-Forwarded-Host: the public one is served, another refused', async () => {
      const served = await send(server.port, '/', {
        host: `127.0.0.1:${server.port}`,
        'x-forwarded-host': 'gatehouse.test',
        'x-forwarded-proto': 'https',
      });
      expect(served.status).toBe(200);
      const refused = await send(server.port, '/.well-known/oauth-authorization-server', {
        host: 'gatehouse.test',
        'x-forwarded-host': 'evil.example',
      });
      expect(refused.status).toBe(421);
      expect(refused.body.error).toBe('GH_HTTP_MISDIRECTED');
    });

    it('publishes metadata on MCP_SERVER_BASE_URL, whatever the forwarded scheme says', async () => {
      const answer = await send(server.port, '/.well-known/oauth-authorization-server', {
        host: `127.0.0.1:${server.port}`,
        'x-forwarded-host': 'gatehouse.test',
        'x-forwarded-proto': 'http',
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.issuer).toBe('https://gatehouse.test');
      expect(answer.body.token_endpoint).toBe('https://gatehouse.test/token');
    });
  });

  describe('with a loopback public URL (development)', () => {
    let server: Awaited<ReturnType<typeof start>>;
    beforeAll(async () => {
      server = await start({});
    });

    it('serves the loopback names but refuses a rebound DNS name', async () => {
      for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, '[::1]:9']) {
        expect((await send(server.port, '/', { host })).status, host).toBe(200);
      }
      expect((await send(server.port, '/', { host: `rebound.example:${server.port}` })).status).toBe(421);
    });
  });
});
