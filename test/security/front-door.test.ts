import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger, redactUrl } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { emulatorBackedConfig, IDS, mcpPost, vscodeToken } from '../helpers/auth-fixture.js';
import { TEST_MASTER_SECRET } from '../helpers/oauth-fixture.js';
import {
  HttpBrowser,
  refresh,
  registerClient,
  signInForTokens,
  tokenRequest,
} from '../helpers/oauth-http-flow.js';

const PATH_TOKEN = 'path-token-0123456789-abcdefghijklmnop';
const rpc = (method: string, params?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id: 1,
  method,
  ...(params ? { params } : {}),
});

/** A POST written on the socket exactly as given, repeated header names included (fetch would merge them). */
function rawPost(
  url: string,
  headers: [string, string][],
  body: string,
  method = 'POST',
): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  const target = new URL(url);
  const head = [
    `${method} ${target.pathname}${target.search} HTTP/1.1`,
    ...(headers.some(([name]) => name.toLowerCase() === 'host') ? [] : [`Host: ${target.host}`]),
    ...headers.map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(target.port), target.hostname, () =>
      socket.end(`${head}\r\n\r\n${body}`),
    );
    let raw = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      raw += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const [top = '', ...rest] = raw.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = top.split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let text = rest.join('\r\n\r\n');
      // A chunked answer: keep the chunks' data only.
      if (parsed['transfer-encoding'] === 'chunked') {
        let out = '';
        let cursor = text;
        for (;;) {
          const end = cursor.indexOf('\r\n');
          const size = Number.parseInt(cursor.slice(0, end), 16);
          if (!(size > 0)) break;
          out += cursor.slice(end + 2, end + 2 + size);
          cursor = cursor.slice(end + 2 + size + 2);
        }
        text = out;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, text });
    });
  });
}

describe('the front door', () => {
  let entra: DevEntra;
  let gatehouse: RunningGatehouse;
  let work: string;
  const lines: string[] = [];

  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
    work = mkdtempSync(path.join(tmpdir(), 'gatehouse-front-door-'));
    const configFile = path.join(work, 'gatehouse.json');
    // calculate_sum needs the chat scope here, which the path-token identity does not hold by default.
    writeFileSync(configFile, JSON.stringify({ tools: { calculate_sum: { scopes: ['chat'] } } }));
    const config = await emulatorBackedConfig(entra, path.join(work, 'data'), {
      MCP_SERVER_TOKEN: PATH_TOKEN,
      MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
      MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
      GATEHOUSE_CONFIG_FILE: configFile,
      LOG_LEVEL: 'debug',
    });
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    gatehouse = await startGatehouse(config, { logger: createLogger(config, sink) });
  });
  afterAll(async () => {
    await gatehouse?.close();
    await entra?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('discovery cannot be poisoned through Host or forwarded headers', () => {
    const forged: [string, [string, string][]][] = [
      ['Host', [['Host', 'evil.example']]],
      ['X-Forwarded-Host', [['X-Forwarded-Host', 'evil.example']]],
      ['Forwarded', [['Forwarded', 'host=evil.example;proto=https']]],
      [
        'Host and X-Forwarded-Host/Proto',
        [
          ['Host', 'evil.example:8443'],
          ['X-Forwarded-Host', 'evil.example'],
          ['X-Forwarded-Proto', 'https'],
        ],
      ],
    ];
    for (const [label, headers] of forged) {
      it(`lists every endpoint on the configured public URL with a forged ${label}, with explicit caching, or refuses the foreign host`, async () => {
        for (const document of [
          '/.well-known/oauth-authorization-server',
          '/.well-known/openid-configuration',
        ]) {
          const response = await rawPost(`${gatehouse.url}${document}`, headers, '', 'GET');
          if (headers.some(([name]) => name === 'Host')) {
            // Another host is refused before any metadata is built (trusted-proxies.test.ts).
            expect(response.status, response.text).toBe(421);
            expect(JSON.parse(response.text).error).toBe('GH_HTTP_MISDIRECTED');
            expect(response.text).not.toContain('"issuer"');
            continue;
          }
          expect(response.status, response.text).toBe(200);
          expect(response.text).not.toContain('evil.example');
          const metadata = JSON.parse(response.text) as Record<string, unknown>;
          expect(metadata.issuer).toBe(gatehouse.url);
          for (const key of [
            'authorization_endpoint',
            'token_endpoint',
            'registration_endpoint',
            'jwks_uri',
            'revocation_endpoint',
            'userinfo_endpoint',
          ]) {
            expect(String(metadata[key]), key).toMatch(new RegExp(`^${gatehouse.url}/`));
          }
          expect(response.headers['cache-control']).toBe('public, max-age=300');
        }
      });
    }
  });

  describe('one credential per request (RFC 6750)', () => {
    it('refuses two Authorization headers on the MCP endpoint with 400 invalid_request, whatever their order', async () => {
      const good = await vscodeToken(
        entra,
        'bob',
        `api://${IDS.api}/discover api://${IDS.api}/tools.execute`,
      );
      const body = JSON.stringify(rpc('tools/list'));
      for (const pair of [
        [`Bearer ${good}`, 'Bearer forged'],
        ['Bearer forged', `Bearer ${good}`],
        [`Bearer ${good}`, `Bearer ${good}`],
      ]) {
        const response = await rawPost(
          `${gatehouse.url}/mcp`,
          [
            ['content-type', 'application/json'],
            ['accept', 'application/json, text/event-stream'],
            ['authorization', pair[0] as string],
            ['authorization', pair[1] as string],
          ],
          body,
        );
        expect(response.status, `${JSON.stringify(response.headers)} ${response.text}`).toBe(400);
        expect(response.headers['www-authenticate'], response.text).toMatch(
          /^Bearer error="invalid_request"/,
        );
        const answer = JSON.parse(response.text);
        expect(answer.error.data.code).toBe('GH_AUTH_DUPLICATE_CREDENTIALS');
        expect(answer.error.message).toContain('more than one Authorization header');
      }
      // One header with that token is fine.
      const single = await mcpPost(`${gatehouse.url}/mcp`, rpc('tools/list'), good);
      expect(single.status).toBe(200);
    });

    it('refuses them on the other routes too (/me), in that route’s error form', async () => {
      const response = await rawPost(
        `${gatehouse.url}/me`,
        [
          ['authorization', 'Bearer one'],
          ['authorization', 'Bearer two'],
        ],
        '',
      );
      expect(response.status).toBe(400);
      expect(JSON.parse(response.text).error).toBe('GH_AUTH_DUPLICATE_CREDENTIALS');
    });
  });

  describe('the path-token identity under the one policy', () => {
    const pathUrl = () => `${gatehouse.url}/mcp/t-${PATH_TOKEN}/http`;

    it('cannot call a tool that needs a scope it was not given', async () => {
      const called = await mcpPost(
        pathUrl(),
        rpc('tools/call', { name: 'calculate_sum', arguments: { numbers: [1, 2] } }),
      );
      expect(called.status).toBe(403);
      expect(called.body.error.data.code).toBe('GH_AUTH_INSUFFICIENT_SCOPE');

      const who = await mcpPost(pathUrl(), rpc('tools/call', { name: 'whoami', arguments: {} }));
      expect(who.body.result.structuredContent).toMatchObject({
        authKind: 'service-token',
        scopes: ['discover', 'tools.read', 'tools.execute'],
      });
    });

    it('calls it once MCP_SERVER_TOKEN_SCOPES grants that scope', async () => {
      const config = await emulatorBackedConfig(entra, path.join(work, 'data-chat'), {
        MCP_SERVER_TOKEN: PATH_TOKEN,
        MCP_SERVER_TOKEN_SCOPES: 'discover,tools.execute,chat',
        GATEHOUSE_CONFIG_FILE: path.join(work, 'gatehouse.json'),
      });
      const other = await startGatehouse(config, { logger: createLogger(config) });
      try {
        const called = await mcpPost(
          `${other.url}/mcp/t-${PATH_TOKEN}/http`,
          rpc('tools/call', { name: 'calculate_sum', arguments: { numbers: [1, 2] } }),
        );
        expect(called.status).toBe(200);
        expect(called.body.result.structuredContent).toEqual({ sum: 3 });
      } finally {
        await other.close();
      }
    });

    it('refuses an unknown scope name in MCP_SERVER_TOKEN_SCOPES at start, naming the variable', async () => {
      await expect(async () =>
        loadConfig({ env: { MCP_SERVER_TOKEN: PATH_TOKEN, MCP_SERVER_TOKEN_SCOPES: 'tools.execute,admin' } }),
      ).rejects.toThrow(/MCP_SERVER_TOKEN_SCOPES: 'admin' is not allowed/);
    });
  });

  describe('no secret in any log line', () => {
    it('keeps the path token, bearer tokens, codes, verifiers, refresh tokens and client secrets out of debug logs', async () => {
      // The path token in the URL.
      await mcpPost(`${gatehouse.url}/mcp/t-${PATH_TOKEN}/http`, rpc('tools/list'));
      // A bearer token.
      const bearer = await vscodeToken(entra, 'bob', `api://${IDS.api}/discover`);
      await mcpPost(`${gatehouse.url}/mcp`, rpc('tools/list'), bearer);
      // A whole sign-in (Entra's code on /auth/callback, Gatehouse's code and the PKCE verifier at
      // /token), then a refresh.
      const { steps, tokens } = await signInForTokens(new HttpBrowser(gatehouse.url));
      const refreshed = await refresh(gatehouse.url, steps.client.clientId, tokens.refresh_token as string);
      expect(refreshed.status).toBe(200);
      // A confidential client's secret at /token (the grant itself is refused: the code is made up).
      const registered = await registerClient(gatehouse.url, {
        client_name: 'Log test client',
        redirect_uris: ['https://app.example/callback'],
        token_endpoint_auth_method: 'client_secret_post',
      });
      expect(registered.status).toBe(201);
      const clientSecret = String(registered.body.client_secret);
      await tokenRequest(gatehouse.url, {
        grant_type: 'authorization_code',
        code: 'made-up-code-0123456789',
        redirect_uri: 'https://app.example/callback',
        client_id: String(registered.body.client_id),
        client_secret: clientSecret,
      });

      const secrets = [
        PATH_TOKEN,
        bearer,
        steps.entraCallback.searchParams.get('code'),
        steps.code,
        steps.verifier,
        tokens.access_token,
        tokens.refresh_token,
        (refreshed.json as { refresh_token?: string }).refresh_token,
        clientSecret,
      ].filter((value): value is string => typeof value === 'string' && value.length >= 8);
      expect(secrets.length).toBe(9);
      expect(lines.length).toBeGreaterThan(5);
      expect(lines.some((line) => line.includes('/mcp/t-[redacted]/http'))).toBe(true);
      for (const secret of secrets) {
        const leaking = lines.filter((line) => line.includes(secret));
        expect(leaking, `a log line holds a secret: ${leaking[0]}`).toEqual([]);
      }
    });

    it('redacts credentials in query strings and keeps the rest of the URL', () => {
      expect(redactUrl('/auth/callback?code=abc&state=xyz')).toBe('/auth/callback?code=[redacted]&state=xyz');
      expect(redactUrl('/mcp/t-secret/http?x=1')).toBe('/mcp/t-[redacted]/http?x=1');
      expect(redactUrl('/messages?sessionId=s1&Refresh_Token=r&%63ode=c')).toBe(
        '/messages?sessionId=[redacted]&Refresh_Token=[redacted]&%63ode=[redacted]',
      );
      expect(redactUrl('/mcp')).toBe('/mcp');
    });
  });
});
