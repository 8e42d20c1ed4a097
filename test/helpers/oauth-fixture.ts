import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import type { GatehouseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { IDS, PASSWORDS, type SeededUser } from '../dev-entra/helpers.js';
import { emulatorBackedConfig } from './auth-fixture.js';
import { freePort } from './ports.js';

export { freePort };

export const TEST_MASTER_SECRET = 'test-signing-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];

export interface OAuthFixture {
  entra: DevEntra;
  config: GatehouseConfig;
  gatehouse: RunningGatehouse;
  mcpUrl: string;
  dataDir: string;
  /** Stops Gatehouse and starts it again on the same port, database and secrets. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** The emulator and a Gatehouse that is the authorization server MCP clients sign in through. */
export async function startOAuthFixture(env: Record<string, string> = {}): Promise<OAuthFixture> {
  const entra = await startDevEntra({ port: 0 });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-oauth-'));
  const config = await emulatorBackedConfig(entra, dataDir, {
    MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
    MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
    ...env,
  });
  const fixture: OAuthFixture = {
    entra,
    config,
    gatehouse: await startGatehouse(config, { logger: createLogger(config) }),
    mcpUrl: `${config.server.baseUrl}/mcp`,
    dataDir,
    async restart() {
      await fixture.gatehouse.close();
      fixture.gatehouse = await startGatehouse(config, { logger: createLogger(config) });
    },
    async close() {
      await fixture.gatehouse.close();
      await entra.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/**
 * An MCP client's first connection with a BrowserOAuthProvider: refused with 401, it runs the whole
 * browser sign-in. The provider then holds the code (or the error the browser landed on).
 */
export async function browserSignIn(
  f: OAuthFixture,
  browser: Browser,
  user: SeededUser,
): Promise<{ provider: BrowserOAuthProvider; transport: StreamableHTTPClientTransport }> {
  const provider = new BrowserOAuthProvider(browser, user, `http://127.0.0.1:${await freePort()}/callback`);
  const transport = new StreamableHTTPClientTransport(new URL(f.mcpUrl), { authProvider: provider });
  await expect(new Client({ name: 'gatehouse-e2e', version: '1.0.0' }).connect(transport)).rejects.toThrow(
    UnauthorizedError,
  );
  return { provider, transport };
}

/**
 * Signs `user` in through the browser, then calls whoami (or `tool`) with the tokens: what an MCP
 * client sees.
 */
export async function signInAndWhoami(
  f: OAuthFixture,
  browser: Browser,
  user: SeededUser,
  tool = 'whoami',
): Promise<Record<string, unknown> | undefined> {
  const { provider, transport } = await browserSignIn(f, browser, user);
  await transport.finishAuth(provider.code!);
  const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(f.mcpUrl), { authProvider: provider }));
  try {
    return (await client.callTool({ name: tool, arguments: {} })).structuredContent as
      | Record<string, unknown>
      | undefined;
  } finally {
    await client.close();
  }
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * An MCP client's OAuth state kept in memory, whose redirectToAuthorization drives a real browser:
 * the consent page (Allow), then the emulator's sign-in page (username and password), until the
 * browser reaches the client's redirect URI; the code it carries is then available.
 */
export class BrowserOAuthProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  /** The authorization code from the last browser run. */
  code: string | undefined;
  /** Pages seen on the way, for assertions. */
  visited: string[] = [];

  constructor(
    private readonly browser: Browser,
    private readonly user: SeededUser,
    readonly redirectUrl: string,
    private readonly onConsent: (page: Page) => Promise<void> = (page) => page.click('button[value=allow]'),
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Gatehouse e2e client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    const context = await this.browser.newContext();
    const page = await context.newPage();
    const redirect = new URL(this.redirectUrl);
    // Like a real MCP client, listen on the loopback redirect URI while the user signs in.
    const listener = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/plain' }).end('Signed in; you can close this window.'),
    );
    await new Promise<void>((resolve) => listener.listen(Number(redirect.port), redirect.hostname, resolve));
    try {
      await page.goto(url.toString());
      this.visited.push(page.url());
      await this.onConsent(page);
      await page.waitForSelector('form#sign-in');
      this.visited.push(page.url());
      await page.fill('#username', this.user);
      await page.fill('#password', PASSWORDS[this.user]);
      await Promise.all([page.waitForURL(`${redirect.origin}${redirect.pathname}**`), page.click('#submit')]);
      const landed = new URL(page.url());
      this.visited.push(landed.toString());
      this.code = landed.searchParams.get('code') ?? undefined;
    } finally {
      await context.close();
      await new Promise((resolve) => listener.close(resolve));
    }
  }
}
