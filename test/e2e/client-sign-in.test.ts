import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, type SeededUser } from '../dev-entra/helpers.js';
import { mcpPost } from '../helpers/auth-fixture.js';
import { type MetadataHost, startMetadataHost } from '../helpers/client-metadata-host.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import {
  authorizeUrl,
  HttpBrowser,
  type RegisteredClient,
  redeemCode,
  refresh,
  registerClient,
  signInToCode,
  type Tokens,
} from '../helpers/oauth-http-flow.js';
import { freePort } from '../helpers/ports.js';

// Each MCP client's sign-in as the client does it, from its published metadata and its users' bug
// reports: how it gets a client_id (a client ID metadata document served over HTTPS, or RFC 7591
// registration), the redirect URI it really uses, the scope it asks for, and how it refreshes once
// the access token has expired (RFC 6749 §6 without `scope`). Each ends with a tools/call made
// with the refreshed token. The consent and the Entra sign-in are driven over HTTP.

const ACCESS_TOKEN_TTL = 15;
const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

let f: OAuthFixture;
let base: string;
let host: MetadataHost;
let uninstall: () => void;

beforeAll(async () => {
  host = await startMetadataHost(['claude.ai', 'vscode.dev']);
  uninstall = host.install();
  f = await startOAuthFixture({
    GATEHOUSE_REGISTRATIONS_PER_HOUR: '100000',
    GATEHOUSE_ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL),
    MCP_AZURE_CLOCK_SKEW: '0',
  });
  base = f.config.server.baseUrl;
});
afterAll(async () => {
  uninstall?.();
  await f?.close();
  await host?.close();
});

/** What every client does first: call /mcp, read the 401 challenge and the metadata it points to. */
async function discover(): Promise<{
  challengeScope: string;
  resource: string;
  metadata: Record<string, unknown>;
}> {
  const refused = await mcpPost(f.mcpUrl, whoami);
  expect(refused.status).toBe(401);
  const challenge = refused.headers.get('www-authenticate') ?? '';
  const resourceMetadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
  const challengeScope = /scope="([^"]+)"/.exec(challenge)?.[1] ?? '';
  expect(resourceMetadataUrl).toBeTruthy();
  const prm = (await (await fetch(resourceMetadataUrl!)).json()) as {
    resource: string;
    authorization_servers: string[];
  };
  expect(prm.authorization_servers).toEqual([base]);
  const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    unknown
  >;
  return { challengeScope, resource: prm.resource, metadata };
}

/** Registers through RFC 7591 as the client does; throws unless accepted. */
async function register(metadata: Record<string, unknown>): Promise<string> {
  const { status, body } = await registerClient(base, metadata);
  if (status !== 201) throw new Error(`registration refused (${status}): ${JSON.stringify(body)}`);
  return String(body.client_id);
}

interface Authorization {
  client: RegisteredClient;
  /** The authorization request's scope, or undefined when the client sends none. */
  scope: string | undefined;
  resource: string | undefined;
  user?: SeededUser;
}

/**
 * Authorize (PKCE S256) → consent → Entra sign-in → the client's redirect URI with code and iss →
 * token. A fresh browser each time, as when the user signs in from another machine.
 */
async function signIn(authorization: Authorization): Promise<Tokens> {
  const browser = new HttpBrowser(base);
  const params: Record<string, string | undefined> = {
    scope: authorization.scope,
    resource: authorization.resource,
  };
  const steps = await signInToCode(browser, {
    client: authorization.client,
    user: authorization.user ?? 'alice',
    params,
  });
  const redirected = `${steps.redirect.protocol}//${steps.redirect.host}${steps.redirect.pathname}`;
  expect(redirected).toBe(authorization.client.redirectUri);
  expect(steps.redirect.searchParams.get('iss')).toBe(base);
  expect(steps.redirect.searchParams.get('state')).toBe(steps.state);
  const redeemed = await redeemCode(base, steps, { resource: authorization.resource });
  expect(redeemed.status, redeemed.text).toBe(200);
  const tokens = redeemed.json as unknown as Tokens;
  expect(tokens.refresh_token, 'a refresh token, whether or not offline_access was asked for').toBeTruthy();
  return tokens;
}

async function expectToolCall(accessToken: string, objectId = IDS.alice): Promise<void> {
  const response = await mcpPost(f.mcpUrl, whoami, accessToken);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(response.body.result.structuredContent).toMatchObject({ objectId, authKind: 'gatehouse' });
}

/** Waits until access tokens issued now have expired, then checks the server refuses `accessToken`. */
async function afterExpiry(...accessTokens: string[]): Promise<void> {
  await sleep((ACCESS_TOKEN_TTL + 1) * 1000);
  for (const accessToken of accessTokens) {
    const response = await mcpPost(f.mcpUrl, whoami, accessToken);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  }
}

/** A refresh as the client sends it: never `scope`; `resource` only if the client sends one. */
async function refreshAsClient(
  clientId: string,
  tokens: Tokens,
  resource: string | undefined,
): Promise<Tokens> {
  const refreshed = await refresh(base, clientId, tokens.refresh_token!, resource ? { resource } : {});
  expect(refreshed.status, refreshed.text).toBe(200);
  const next = refreshed.json as unknown as Tokens;
  expect(next.refresh_token).toBeTruthy();
  expect(next.refresh_token).not.toBe(tokens.refresh_token);
  return next;
}

describe.concurrent('sign-in as each MCP client does it', () => {
  it('Claude Code: its metadata document lists port-less loopback redirects, it listens on a random port', async () => {
    // anthropics/claude-code#37747: the document at https://claude.ai/oauth/claude-code-client-metadata
    // lists http://localhost/callback and http://127.0.0.1/callback, no application_type; the
    // authorization request then carries the port Claude Code listens on (RFC 8252 §7.3).
    const clientId = 'https://claude.ai/oauth/claude-code-client-metadata';
    host.serve(clientId, {
      client_id: clientId,
      client_name: 'Claude Code',
      client_uri: 'https://claude.ai',
      redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    const { challengeScope, resource, metadata } = await discover();
    // Claude uses a client ID metadata document only where the server says it may.
    expect(metadata.client_id_metadata_document_supported).toBe(true);
    expect(metadata.token_endpoint_auth_methods_supported).toContain('none');

    const signIns: Tokens[] = [];
    for (const hostname of ['localhost', '127.0.0.1']) {
      const redirectUri = `http://${hostname}:${await freePort()}/callback`;
      const tokens = await signIn({ client: { clientId, redirectUri }, scope: challengeScope, resource });
      await expectToolCall(tokens.access_token);
      signIns.push(tokens);
    }
    expect(host.requests.get(clientId)).toBe(1);

    await afterExpiry(...signIns.map((tokens) => tokens.access_token));
    for (const tokens of signIns) {
      const next = await refreshAsClient(clientId, tokens, resource);
      await expectToolCall(next.access_token);
    }
  });

  it('claude.ai: registers its web callback, asks for its own scope and never offline_access, refreshes without scope or resource', async () => {
    // anthropics/claude-ai-mcp#124 (scope=claudeai), #840 (no offline_access), anchors: refresh
    // without scope, sometimes much later.
    const { challengeScope, resource } = await discover();
    const redirectUri = 'https://claude.ai/api/mcp/auth_callback';
    const clientId = await register({
      client_name: 'Claude',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    const tokens = await signIn({ client: { clientId, redirectUri }, scope: 'claudeai', resource });
    // 'claudeai' means nothing here: the request is served like one without scope, which gets
    // what the 401 challenge names.
    expect(tokens.scope?.split(' ').sort()).toEqual(challengeScope.split(' ').sort());
    await expectToolCall(tokens.access_token);

    await afterExpiry(tokens.access_token);
    const next = await refreshAsClient(clientId, tokens, undefined);
    expect(next.scope).toBe(tokens.scope);
    await expectToolCall(next.access_token);
  });

  it('Cursor: registers its private-use scheme callback', async () => {
    // anchors "Clients in practice": cursor://anysphere.cursor-mcp/oauth/callback through DCR, exact
    // match; no application_type in the registration (RFC 8252 §7.1).
    const { challengeScope, resource } = await discover();
    const redirectUri = 'cursor://anysphere.cursor-mcp/oauth/callback';
    const registration = await registerClient(base, {
      client_name: 'Cursor',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    expect(registration.status).toBe(201);
    expect(registration.body.application_type).toBe('native');
    const clientId = String(registration.body.client_id);
    const tokens = await signIn({ client: { clientId, redirectUri }, scope: challengeScope, resource });
    await expectToolCall(tokens.access_token);

    await afterExpiry(tokens.access_token);
    const next = await refreshAsClient(clientId, tokens, resource);
    await expectToolCall(next.access_token);
  });

  it('VS Code: its metadata document lists port 33418, a port-less loopback and vscode.dev; it falls back to a random port', async () => {
    // microsoft/vscode#278512: https://vscode.dev/oauth/client-metadata.json; redirects
    // http://127.0.0.1:33418/, http://127.0.0.1/ and https://vscode.dev/redirect (vscode.dev in the
    // browser); another port when 33418 is taken.
    const clientId = 'https://vscode.dev/oauth/client-metadata.json';
    host.serve(
      clientId,
      {
        client_id: clientId,
        client_name: 'Visual Studio Code',
        client_uri: 'https://code.visualstudio.com',
        redirect_uris: ['http://127.0.0.1:33418/', 'http://127.0.0.1/', 'https://vscode.dev/redirect'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      { 'cache-control': 'max-age=3600' },
    );
    const { challengeScope, resource } = await discover();
    const signIns: Tokens[] = [];
    for (const redirectUri of [
      'http://127.0.0.1:33418/',
      `http://127.0.0.1:${await freePort()}/`,
      'https://vscode.dev/redirect',
    ]) {
      const tokens = await signIn({ client: { clientId, redirectUri }, scope: challengeScope, resource });
      await expectToolCall(tokens.access_token);
      signIns.push(tokens);
    }

    await afterExpiry(...signIns.map((tokens) => tokens.access_token));
    for (const tokens of signIns) {
      const next = await refreshAsClient(clientId, tokens, resource);
      await expectToolCall(next.access_token);
    }
  });

  it('ChatGPT: registers its per-connector https callback', async () => {
    // anchors "Clients in practice": https://chatgpt.com/connector/oauth/{id}.
    const { challengeScope, resource } = await discover();
    const redirectUri = 'https://chatgpt.com/connector/oauth/6f1c2a9e0b7d4c55';
    const registration = await registerClient(base, {
      client_name: 'ChatGPT',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    });
    expect(registration.status).toBe(201);
    expect(registration.body.application_type).toBe('web');
    expect(registration.body.token_endpoint_auth_method).toBe('none');
    const clientId = String(registration.body.client_id);
    const tokens = await signIn({ client: { clientId, redirectUri }, scope: challengeScope, resource });
    await expectToolCall(tokens.access_token);

    await afterExpiry(tokens.access_token);
    const next = await refreshAsClient(clientId, tokens, undefined);
    await expectToolCall(next.access_token);
  });

  it('MCP Inspector 2.x: the web UI on localhost:6274 and the CLI on 127.0.0.1:6276 each register', async () => {
    // anchors "Clients in practice": http://localhost:6274/oauth/callback (web UI) and
    // http://127.0.0.1:6276/oauth/callback (CLI), DCR, MCP TypeScript SDK underneath.
    const { challengeScope, resource } = await discover();
    const signIns: { clientId: string; tokens: Tokens }[] = [];
    for (const [name, redirectUri] of [
      ['MCP Inspector', 'http://localhost:6274/oauth/callback'],
      ['MCP Inspector CLI', 'http://127.0.0.1:6276/oauth/callback'],
    ] as const) {
      const clientId = await register({
        client_name: name,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      });
      const tokens = await signIn({ client: { clientId, redirectUri }, scope: challengeScope, resource });
      await expectToolCall(tokens.access_token);
      signIns.push({ clientId, tokens });
    }

    await afterExpiry(...signIns.map(({ tokens }) => tokens.access_token));
    for (const { clientId, tokens } of signIns) {
      const next = await refreshAsClient(clientId, tokens, resource);
      await expectToolCall(next.access_token);
    }
  });
});

describe('application_type against the redirect URIs (RFC 7591 §3.2.2, RFC 8252 §7)', () => {
  const loopback = 'http://127.0.0.1:47301/callback';

  async function refused(metadata: Record<string, unknown>, error: string, description: RegExp | string) {
    const { status, body } = await registerClient(base, { client_name: 'Rule test', ...metadata });
    expect(status).toBe(400);
    expect(body.error).toBe(error);
    if (typeof description === 'string') expect(body.error_description).toBe(description);
    else expect(String(body.error_description)).toMatch(description);
  }

  /** Where /authorize sends the browser: the consent interaction, or a local error page. */
  async function authorizeWith(clientId: string, redirectUri: string) {
    const { url } = authorizeUrl(base, { clientId, redirectUri });
    return new HttpBrowser(base).get(url);
  }

  it('web: a loopback redirect is refused, with what to change', async () => {
    await refused(
      { application_type: 'web', redirect_uris: ['https://app.example.com/cb', loopback] },
      'invalid_redirect_uri',
      `redirect_uri "${loopback}" does not fit application_type "web": a web client's redirect URIs must be https, and a loopback http address belongs to a native application; register it with application_type "native" (RFC 8252), or leave application_type out`,
    );
  });

  it("web: an application's own scheme is refused", async () => {
    await refused(
      { application_type: 'web', redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'] },
      'invalid_redirect_uri',
      /does not fit application_type "web": a web client's redirect URIs must be https, and an application's own URI scheme belongs to a native application/,
    );
  });

  it('web: an https redirect is matched exactly, port and path included', async () => {
    const redirectUri = 'https://app.example.com/oauth/callback';
    const clientId = await register({ application_type: 'web', redirect_uris: [redirectUri] });
    expect((await authorizeWith(clientId, redirectUri)).status).toBe(303);
    for (const other of [
      'https://app.example.com:8443/oauth/callback',
      'https://app.example.com/oauth/other',
    ]) {
      const answer = await authorizeWith(clientId, other);
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('invalid_redirect_uri');
    }
  });

  it('native: https on a loopback host is refused (loopback is plain http)', async () => {
    await refused(
      { application_type: 'native', redirect_uris: ['https://localhost:8443/callback'] },
      'invalid_redirect_uri',
      /^redirect_uri "https:\/\/localhost:8443\/callback" does not fit application_type "native": a native application receives the code on loopback over plain http/,
    );
  });

  it('native: http to a host that is not loopback is refused', async () => {
    await refused(
      { application_type: 'native', redirect_uris: ['http://app.example.com/callback'] },
      'invalid_redirect_uri',
      /plain http is only allowed to a loopback address/,
    );
  });

  it('native: a loopback redirect keeps its host and path but not its port; a claimed https URI matches exactly', async () => {
    const claimed = 'https://app.example.com/native/callback';
    const clientId = await register({ application_type: 'native', redirect_uris: [loopback, claimed] });
    expect((await authorizeWith(clientId, 'http://127.0.0.1:51999/callback')).status).toBe(303);
    expect((await authorizeWith(clientId, claimed)).status).toBe(303);
    for (const other of [
      'http://127.0.0.1:51999/other',
      'http://localhost:47301/callback',
      'https://app.example.com:8443/native/callback',
    ])
      expect((await authorizeWith(clientId, other)).status).toBe(400);
  });

  it('left out: loopback or app-scheme redirects make a native client, https-only ones a web client', async () => {
    for (const [uris, type] of [
      [[loopback], 'native'],
      [['https://app.example.com/cb', loopback], 'native'],
      [['vscode://vscode.github-authentication/did-authenticate'], 'native'],
      [['https://app.example.com/cb'], 'web'],
    ] as const) {
      const { status, body } = await registerClient(base, { client_name: 'Untyped', redirect_uris: uris });
      expect(status).toBe(201);
      expect(body.application_type).toBe(type);
    }
  });

  it('an unknown application_type is invalid client metadata', async () => {
    await refused(
      { application_type: 'desktop', redirect_uris: [loopback] },
      'invalid_client_metadata',
      /application_type/,
    );
  });

  it('a client ID metadata document is held to the same rules', async () => {
    const clientId = 'https://claude.ai/oauth/web-typed-loopback.json';
    host.serve(clientId, {
      client_id: clientId,
      client_name: 'Mistyped',
      application_type: 'web',
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
    });
    const answer = await authorizeWith(clientId, 'http://127.0.0.1:40404/callback');
    expect(answer.status).toBe(400);
    expect(answer.location).toBeUndefined();
    expect(answer.text).toMatch(
      /invalid_redirect_uri: redirect_uri &#34;http:\/\/127.0.0.1\/callback&#34; does not fit application_type &#34;web&#34;/,
    );
  });
});
