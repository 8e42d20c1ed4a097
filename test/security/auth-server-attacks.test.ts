import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mcpPost } from '../helpers/auth-fixture.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import {
  type Answer,
  authorizeUrl,
  csrfTokenOf,
  HttpBrowser,
  type RegisteredClient,
  redeemCode,
  refresh,
  registerClient,
  registerPublicClient,
  signInForTokens,
  signInToCode,
  signInToEntraCallback,
} from '../helpers/oauth-http-flow.js';

// Attacks on Gatehouse as the authorization server MCP clients sign in through, driven over plain
// HTTP (one cookie jar per "browser"). Each test asserts the rejection and names the section it
// checks: RFC 6749 (OAuth 2.0), OAuth 2.1 draft, RFC 7636 (PKCE), RFC 8707 (resource indicators),
// RFC 7009 (revocation), RFC 7591 (registration), RFC 8252 (native apps), RFC 9700 (security BCP),
// MCP authorization 2025-11-25 (confused deputy, CIMD).

const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };
const WEB_REDIRECT = 'https://app.example.com/oauth/callback';

let f: OAuthFixture;
let base: string;
beforeAll(async () => {
  // Dozens of registrations from one address: lift the per-IP budget (tested in registration-limit.test.ts).
  f = await startOAuthFixture({ GATEHOUSE_REGISTRATIONS_PER_HOUR: '100000' });
  base = f.config.server.baseUrl;
});
afterAll(async () => {
  await f?.close();
});

/** The local error page: HTML, the given status, no redirect anywhere. */
function expectErrorPage(answer: Answer, text: RegExp | string, status = 400): void {
  expect(answer.status).toBe(status);
  expect(answer.location).toBeUndefined();
  expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
  expect(answer.text).toMatch(typeof text === 'string' ? new RegExp(escapeRegex(text)) : text);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An error sent back to the client's registered redirect URI (RFC 6749 §4.1.2.1, RFC 9207 iss). */
function expectErrorRedirect(answer: Answer, redirectUri: string, error: string, description: RegExp): URL {
  expect(answer.status).toBe(303);
  const location = new URL(answer.location!);
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
  expect(location.searchParams.get('error')).toBe(error);
  expect(location.searchParams.get('error_description')).toMatch(description);
  expect(location.searchParams.get('iss')).toBe(base);
  expect(location.searchParams.get('code')).toBeNull();
  return location;
}

async function expectAccepted(accessToken: string): Promise<void> {
  const response = await mcpPost(f.mcpUrl, whoami, accessToken);
  expect(response.status).toBe(200);
  expect(response.body.result.structuredContent.authKind).toBe('gatehouse');
}

async function expectGrantRevoked(accessToken: string): Promise<void> {
  const response = await mcpPost(f.mcpUrl, whoami, accessToken);
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  expect(response.body.error.message).toBe(
    'token was revoked: its authorization grant has ended; sign in again',
  );
}

async function revoke(clientId: string, token: string): Promise<number> {
  const response = await fetch(`${base}/revoke`, {
    method: 'POST',
    body: new URLSearchParams({ token, client_id: clientId }),
  });
  return response.status;
}

describe('authorization codes', () => {
  it('refuses a replayed code and revokes the grant the first redemption created', async () => {
    // RFC 6749 §4.1.2 / OAuth 2.1 §4.1.3: a code is single use; on reuse the AS SHOULD revoke the
    // tokens issued from it. Gatehouse's /mcp refuses tokens whose grant is gone.
    const browser = new HttpBrowser(base);
    const steps = await signInToCode(browser);
    const first = await redeemCode(base, steps);
    expect(first.status).toBe(200);
    const tokens = first.json as { access_token: string; refresh_token: string };
    await expectAccepted(tokens.access_token);

    const replay = await redeemCode(base, steps);
    expect(replay.status).toBe(400);
    expect(replay.json).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    await expectGrantRevoked(tokens.access_token);
    const refreshed = await refresh(base, steps.client.clientId, tokens.refresh_token);
    expect(refreshed.status).toBe(400);
    expect(refreshed.json?.error).toBe('invalid_grant');
  });
});

describe('PKCE', () => {
  let client: RegisteredClient;
  beforeAll(async () => {
    client = await registerPublicClient(base, 'http://127.0.0.1:47200/callback');
  });

  it('refuses an authorization request without a code challenge', async () => {
    // OAuth 2.1 §4.1.1 / MCP authorization "PKCE": code_challenge is required.
    const { url } = authorizeUrl(base, client, {
      params: { code_challenge: undefined, code_challenge_method: undefined },
    });
    expectErrorRedirect(
      await new HttpBrowser(base).get(url),
      client.redirectUri,
      'invalid_request',
      /^Authorization Server policy requires PKCE to be used for this request$/,
    );
  });

  it('refuses the plain challenge method', async () => {
    // RFC 9700 §2.1.1 / MCP authorization: S256 only; plain exposes the verifier.
    const { url } = authorizeUrl(base, client, {
      params: { code_challenge_method: 'plain', code_challenge: 'p'.repeat(43) },
    });
    expectErrorRedirect(
      await new HttpBrowser(base).get(url),
      client.redirectUri,
      'invalid_request',
      /^not supported value of code_challenge_method$/,
    );
  });

  it('refuses a wrong or missing code verifier at the token endpoint', async () => {
    // RFC 7636 §4.6: the verifier must hash to the challenge.
    const steps = await signInToCode(new HttpBrowser(base), { client });
    const wrong = await redeemCode(base, steps, { code_verifier: 'w'.repeat(43) });
    expect(wrong.status).toBe(400);
    expect(wrong.json).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    const missing = await redeemCode(base, steps, { code_verifier: undefined });
    expect(missing.status).toBe(400);
    expect(missing.json?.error).toMatch(/^invalid_(grant|request)$/);
  });
});

describe('redirect URIs at /authorize', () => {
  let web: RegisteredClient;
  beforeAll(async () => {
    web = await registerPublicClient(base, WEB_REDIRECT, 'Web client');
  });

  const attempt = (redirectUri: string, params: Record<string, string | undefined> = {}) =>
    new HttpBrowser(base).get(authorizeUrl(base, { ...web, redirectUri }, { params }).url);
  const MISMATCH =
    'invalid_redirect_uri: redirect_uri did not match any of the client&#39;s registered redirect_uris';

  it('refuses a redirect URI the client did not register, with a local page', async () => {
    // RFC 6749 §3.1.2.4 / §4.1.2.1: never redirect to an unverified URI; OAuth 2.1 §2.3.1 exact match.
    expectErrorPage(await attempt('https://other.example.com/oauth/callback'), MISMATCH);
    // A loopback client: another loopback host name is another URI (RFC 8252 §8.3).
    const native = await registerPublicClient(base, 'http://127.0.0.1:47201/callback');
    expectErrorPage(
      await new HttpBrowser(base).get(
        authorizeUrl(base, { ...native, redirectUri: 'http://localhost:47201/callback' }).url,
      ),
      MISMATCH,
    );
  });

  it('refuses look-alike hosts', async () => {
    // RFC 9700 §4.1.1: no pattern or prefix matching of hosts.
    for (const uri of [
      'https://app.example.com.evil.test/oauth/callback',
      'https://app-example.com/oauth/callback',
      'https://APP.EXAMPLE.COM/oauth/callback',
      'https://app.example.com@evil.test/oauth/callback',
      'https://evil.test/?https://app.example.com/oauth/callback',
    ])
      expectErrorPage(await attempt(uri), MISMATCH);
  });

  it('refuses an extra path, query or traversal', async () => {
    // RFC 9700 §4.1.3: no path prefix matching (open redirectors on the client's own site).
    for (const uri of [
      `${WEB_REDIRECT}/extra`,
      `${WEB_REDIRECT}/../../redirect?to=https://evil.test`,
      `${WEB_REDIRECT}?next=https://evil.test`,
      `${WEB_REDIRECT}%2f..`,
      'https://app.example.com/oauth/callbac',
    ])
      expectErrorPage(await attempt(uri), MISMATCH);
  });

  it('refuses a fragment', async () => {
    // RFC 6749 §3.1.2: the redirection endpoint URI must not include a fragment.
    expectErrorPage(await attempt(`${WEB_REDIRECT}#evil`), MISMATCH);
  });

  it('also refuses the mismatch at the token endpoint', async () => {
    // RFC 6749 §4.1.3: redirect_uri must be identical to the one of the authorization request.
    const steps = await signInToCode(new HttpBrowser(base));
    const answer = await redeemCode(base, steps, { redirect_uri: 'http://127.0.0.1:47123/callback/x' });
    expect(answer.status).toBe(400);
    expect(answer.json?.error).toBe('invalid_grant');
  });

  it('lets a native loopback client change its port, and nothing else (RFC 8252 §7.3)', async () => {
    // RFC 8252 §7.3: the port of a loopback redirect may vary; a client that names no
    // application_type is native for its loopback redirect (application-type.ts), and oidc-provider
    // then ignores the port, not the host or path.
    const native = await registerPublicClient(base, 'http://127.0.0.1/callback');
    const other = (redirectUri: string) =>
      new HttpBrowser(base).get(authorizeUrl(base, { ...native, redirectUri }).url);
    const moved = await other('http://127.0.0.1:51234/callback');
    expect(moved.status).toBe(303);
    expect(moved.location).toMatch(/^\/interaction\//);
    expectErrorPage(await other('http://127.0.0.1:51234/callback2'), MISMATCH);
    expectErrorPage(await other('http://localhost:51234/callback'), MISMATCH);
    // A web client's loopback-looking https URI keeps its exact match.
    expectErrorPage(await attempt('https://app.example.com:8443/oauth/callback'), MISMATCH);
  });
});

describe('open redirects', () => {
  it('never sends an error response to an unverified redirect URI', async () => {
    // RFC 6749 §4.1.2.1 / RFC 9700 §4.11: errors go to the registered URI only; an invalid client
    // or redirect URI gets a local page.
    const web = await registerPublicClient(base, WEB_REDIRECT, 'Web client');
    const browser = new HttpBrowser(base);
    const evil = 'https://evil.test/steal';
    // An error-provoking request (bad response_type) with an attacker's redirect URI.
    expectErrorPage(
      await browser.get(
        authorizeUrl(base, { ...web, redirectUri: evil }, { params: { response_type: 'token' } }).url,
      ),
      /invalid_redirect_uri|unsupported_response_type|invalid_request/,
    );
    // An unknown client.
    expectErrorPage(
      await browser.get(authorizeUrl(base, { clientId: 'no-such-client', redirectUri: evil }).url),
      'invalid_client: client is invalid',
    );
    // No client at all, and a missing redirect_uri with prompt=none.
    expectErrorPage(
      await browser.get(`${base}/authorize?redirect_uri=${encodeURIComponent(evil)}`),
      /invalid_/,
    );
    expectErrorPage(
      await browser.get(
        authorizeUrl(base, { ...web, redirectUri: evil }, { params: { prompt: 'none' } }).url,
      ),
      /invalid_redirect_uri/,
    );
    // A denial reaches the registered redirect URI, not one named in the request.
    const native = await registerPublicClient(base, 'http://127.0.0.1:47202/callback');
    const start = await browser.get(authorizeUrl(base, native).url);
    const uid = /\/interaction\/([^/?#]+)/.exec(start.location!)![1]!;
    const page = await browser.get(`/interaction/${uid}`);
    const denied = await browser.followLocal(
      await browser.post(`/interaction/${uid}/decision`, { decision: 'deny', csrf: csrfTokenOf(page.text) }),
    );
    expectErrorRedirect(denied, native.redirectUri, 'access_denied', /^You denied the application access\.$/);
  });
});

describe('consent', () => {
  it('refuses a consent POST without the CSRF token', async () => {
    // MCP authorization "Confused Deputy Problem": consent pages MUST be CSRF-protected.
    const browser = new HttpBrowser(base);
    const client = await registerPublicClient(base, 'http://127.0.0.1:47210/callback');
    const start = await browser.get(authorizeUrl(base, client).url);
    const uid = /\/interaction\/([^/?#]+)/.exec(start.location!)![1]!;
    await browser.get(`/interaction/${uid}`);
    const forged = await browser.post(`/interaction/${uid}/decision`, { decision: 'allow' });
    expectErrorPage(forged, 'This consent form is not valid here (its security token does not match).');
    const empty = await browser.post(`/interaction/${uid}/decision`, { decision: 'allow', csrf: '' });
    expectErrorPage(empty, 'its security token does not match');
  });

  it("refuses a CSRF token of one interaction (another client's) used for another", async () => {
    // MCP authorization: consent is per client; RFC 9700 §4.7 (CSRF).
    const browser = new HttpBrowser(base);
    const mine = await registerPublicClient(base, 'http://127.0.0.1:47211/callback', 'Approved client');
    const theirs = await registerPublicClient(base, 'http://127.0.0.1:47212/callback', 'Other client');
    const a = await browser.get(authorizeUrl(base, mine).url);
    const uidA = /\/interaction\/([^/?#]+)/.exec(a.location!)![1]!;
    const csrfA = csrfTokenOf((await browser.get(`/interaction/${uidA}`)).text);
    const b = await browser.get(authorizeUrl(base, theirs).url);
    const uidB = /\/interaction\/([^/?#]+)/.exec(b.location!)![1]!;
    await browser.get(`/interaction/${uidB}`);
    const replayed = await browser.post(`/interaction/${uidB}/decision`, { decision: 'allow', csrf: csrfA });
    expectErrorPage(replayed, 'its security token does not match');
    // An attacker's own valid token, replayed into the victim's browser, fails the same way.
    const attacker = new HttpBrowser(base);
    const c = await attacker.get(authorizeUrl(base, theirs).url);
    const uidC = /\/interaction\/([^/?#]+)/.exec(c.location!)![1]!;
    const csrfC = csrfTokenOf((await attacker.get(`/interaction/${uidC}`)).text);
    expectErrorPage(
      await browser.post(`/interaction/${uidB}/decision`, { decision: 'allow', csrf: csrfC }),
      'its security token does not match',
    );
  });
});

describe('the upstream (Entra) leg', () => {
  it('refuses the callback in another browser (binding cookie missing or wrong)', async () => {
    // MCP authorization "Confused Deputy Problem": the upstream state is bound to the browser that
    // consented (FastMCP GHSA-rww4-4w9c-7733).
    const victim = new HttpBrowser(base);
    const steps = await signInToEntraCallback(victim);
    const elsewhere = new HttpBrowser(base);
    expectErrorPage(
      await elsewhere.get(steps.entraCallback.toString()),
      'This sign-in was started in another browser. Finish it in the browser where you started it.',
    );

    const second = await signInToEntraCallback(victim);
    const forged = victim.jar.copy();
    expect(forged.get('gh_signin')).toBeTruthy();
    forged.set('gh_signin', 'forged-binding-value');
    expectErrorPage(await victim.get(second.entraCallback.toString(), forged), 'started in another browser');
  });

  it('refuses an upstream state used twice', async () => {
    // RFC 6749 §10.12 / MCP authorization: the upstream state is single use.
    const browser = new HttpBrowser(base);
    const steps = await signInToEntraCallback(browser);
    const binding = browser.jar.get('gh_signin')!;
    const first = await browser.get(steps.entraCallback.toString());
    expect(first.status).toBe(303);
    expect(first.location).toBe(`/interaction/${steps.uid}/complete`);
    browser.jar.set('gh_signin', binding);
    expectErrorPage(
      await browser.get(steps.entraCallback.toString()),
      'This sign-in response is unknown, was already used, or expired. Start again from your application.',
    );
  });
});

describe('refresh tokens', () => {
  it('revokes the whole grant when a rotated refresh token is reused', async () => {
    // OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2: public-client refresh tokens rotate; reuse of an old one
    // ends the grant (both tokens and the access tokens).
    const { steps, tokens } = await signInForTokens(new HttpBrowser(base));
    const rotated = await refresh(base, steps.client.clientId, tokens.refresh_token!);
    expect(rotated.status).toBe(200);
    const next = rotated.json as { access_token: string; refresh_token: string };
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    await expectAccepted(next.access_token);

    const reused = await refresh(base, steps.client.clientId, tokens.refresh_token!);
    expect(reused.status).toBe(400);
    expect(reused.json).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    const successor = await refresh(base, steps.client.clientId, next.refresh_token);
    expect(successor.status).toBe(400);
    expect(successor.json?.error).toBe('invalid_grant');
    await expectGrantRevoked(next.access_token);
  });

  it('refuses a revoked refresh token', async () => {
    // RFC 7009 §2.1: a revoked refresh token cannot be used again.
    const { steps, tokens } = await signInForTokens(new HttpBrowser(base));
    expect(await revoke(steps.client.clientId, tokens.refresh_token!)).toBe(200);
    const answer = await refresh(base, steps.client.clientId, tokens.refresh_token!);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
  });

  it('refuses scope escalation on refresh', async () => {
    // RFC 6749 §6: the requested scope must not include any scope not originally granted.
    const { steps, tokens } = await signInForTokens(new HttpBrowser(base), {
      scope: 'openid offline_access tools.read',
    });
    expect(tokens.scope).toBe('tools.read');
    const escalated = await refresh(base, steps.client.clientId, tokens.refresh_token!, {
      scope: 'openid tools.read tools.execute',
    });
    expect(escalated.status).toBe(400);
    expect(escalated.json).toEqual({
      error: 'invalid_scope',
      error_description: 'refresh token missing requested scope',
      scope: 'tools.execute',
    });
    // Without a scope parameter it gets the original scope, never more.
    const plain = await refresh(base, steps.client.clientId, tokens.refresh_token!);
    expect(plain.status).toBe(200);
    expect(plain.json?.scope).toBe('tools.read');
  });
});

describe('resource indicators', () => {
  it('refuses a resource of another server at /authorize and at the token endpoint', async () => {
    // RFC 8707 §2 invalid_target; MCP authorization "Token Audience Binding and Validation".
    const client = await registerPublicClient(base, 'http://127.0.0.1:47220/callback');
    for (const resource of ['https://evil.test/mcp', `${base}/mcp/`, `${base}/other`]) {
      const answer = await new HttpBrowser(base).get(authorizeUrl(base, client, { resource }).url);
      expectErrorRedirect(answer, client.redirectUri, 'invalid_target', /is not served here; use http:/);
    }
    const steps = await signInToCode(new HttpBrowser(base), { client });
    const redeemed = await redeemCode(base, steps, { resource: 'https://evil.test/mcp' });
    expect(redeemed.status).toBe(400);
    expect(redeemed.json?.error).toBe('invalid_target');
    const { tokens } = await signInForTokens(new HttpBrowser(base), { client });
    const refreshed = await refresh(base, client.clientId, tokens.refresh_token!, {
      resource: 'https://evil.test/mcp',
    });
    expect(refreshed.status).toBe(400);
    expect(refreshed.json?.error).toBe('invalid_target');
  });
});

describe('revocation', () => {
  it('refuses an access token at /mcp once its grant is revoked', async () => {
    // RFC 7009 §2.1 (revoking a refresh token invalidates the grant's access tokens, as oidc-provider
    // does); MCP authorization §Token Handling.
    const { steps, tokens } = await signInForTokens(new HttpBrowser(base));
    await expectAccepted(tokens.access_token);
    expect(await revoke(steps.client.clientId, tokens.refresh_token!)).toBe(200);
    await expectGrantRevoked(tokens.access_token);
  });
});

describe('dynamic client registration', () => {
  it('refuses a javascript: redirect URI (and the other forbidden forms) with invalid_redirect_uri', async () => {
    // RFC 7591 §3.2.2 invalid_redirect_uri; RFC 9700 §4.1; RFC 8252 §8.4.
    for (const [uri, why] of [
      ['javascript:alert(document.domain)', 'the javascript: scheme is never allowed'],
      ['data:text/html;base64,PHNjcmlwdD4=', 'the data: scheme is never allowed'],
      ['file:///etc/passwd', 'the file: scheme is never allowed'],
      ['https://user:pass@app.example.com/cb', 'it carries user information'],
      ['https://app.example.com/a/%2e%2e/cb', 'its path has dot-segments'],
      ['https://app.example.com/cb#x', 'it has a fragment'],
      ['http://app.example.com/cb', 'plain http is only allowed to a loopback address'],
    ]) {
      for (const application_type of [undefined, 'web', 'native']) {
        const { status, body } = await registerClient(base, {
          client_name: 'Evil client',
          redirect_uris: ['http://127.0.0.1:47230/callback', uri],
          ...(application_type ? { application_type } : {}),
        });
        expect(status).toBe(400);
        expect(body.error).toBe('invalid_redirect_uri');
        expect(String(body.error_description)).toMatch(
          new RegExp(`^${escapeRegex(`redirect_uri ${JSON.stringify(uri)} is not allowed: ${why}`)}`),
        );
      }
    }
    // App schemes and loopback stay open (RFC 8252 §7.1, §7.3).
    const cursor = await registerClient(base, {
      client_name: 'Cursor',
      redirect_uris: ['cursor://anysphere.cursor-retrieval/oauth/callback'],
    });
    expect(cursor.status).toBe(201);
    expect(cursor.body.application_type).toBe('native');
  });
});

describe('client ID metadata documents', () => {
  const realFetch = globalThis.fetch;
  const documents = new Map<string, unknown>();
  const documentFetches = new Map<string, number>();
  let fetchFailure: unknown;
  let privateServer: ReturnType<typeof createServer>;
  let privatePort = 0;
  let privateRequests = 0;

  beforeAll(async () => {
    privateServer = createServer((_request, response) => {
      privateRequests++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => privateServer.listen(0, '127.0.0.1', resolve));
    privatePort = (privateServer.address() as AddressInfo).port;
    // oidc-provider fetches documents with globalThis.fetch (and its own SSRF-guarded dispatcher).
    // Documents under https://client.example/ are served from `documents`; there is no TLS here, so a
    // private-address URL goes to the same loopback address over http, keeping oidc-provider's dispatcher.
    vi.stubGlobal('fetch', async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.startsWith('https://client.example/')) {
        documentFetches.set(url, (documentFetches.get(url) ?? 0) + 1);
        if (!documents.has(url)) return new Response('not found', { status: 404 });
        return new Response(JSON.stringify(documents.get(url)), {
          headers: { 'content-type': 'application/json' },
        });
      }
      const loopback = /^https:\/\/(127\.0\.0\.1|localhost):/.exec(url);
      if (loopback && url.includes(`:${privatePort}/`)) {
        try {
          return await realFetch(url.replace(/^https:/, 'http:'), init);
        } catch (error) {
          fetchFailure = error;
          throw error;
        }
      }
      return realFetch(input, init);
    });
  });
  afterEach(() => {
    fetchFailure = undefined;
  });
  afterAll(async () => {
    vi.unstubAllGlobals();
    await new Promise((resolve) => privateServer?.close(resolve));
  });

  const cimdAuthorize = (clientId: string, redirectUri = 'https://app.example.com/oauth/callback') =>
    new HttpBrowser(base).get(authorizeUrl(base, { clientId, redirectUri }).url);

  it('accepts a well-formed document (the control for the attacks below)', async () => {
    const id = 'https://client.example/good.json';
    documents.set(id, {
      client_id: id,
      client_name: 'Metadata client',
      redirect_uris: ['https://app.example.com/oauth/callback'],
      token_endpoint_auth_method: 'none',
    });
    const answer = await cimdAuthorize(id);
    expect(answer.status).toBe(303);
    expect(answer.location).toMatch(/^\/interaction\//);
  });

  it('fetches a document once, then answers from its cache', async () => {
    const id = 'https://client.example/cached.json';
    documents.set(id, {
      client_id: id,
      client_name: 'Cached client',
      redirect_uris: ['https://app.example.com/oauth/callback'],
      token_endpoint_auth_method: 'none',
    });
    for (let round = 0; round < 3; round++) expect((await cimdAuthorize(id)).status).toBe(303);
    expect(documentFetches.get(id)).toBe(1);
  });

  it('refuses a document whose client_id differs from its URL', async () => {
    // MCP authorization (CIMD): the AS MUST check the document's client_id equals its URL.
    const id = 'https://client.example/impostor.json';
    documents.set(id, {
      client_id: 'https://client.example/good.json',
      client_name: 'Impostor',
      redirect_uris: ['https://evil.test/callback'],
      token_endpoint_auth_method: 'none',
    });
    expectErrorPage(
      await cimdAuthorize(id, 'https://evil.test/callback'),
      'invalid_client_metadata: client_id metadata document client_id does not match the expected value',
    );
  });

  it('applies the redirect-URI policy to documents', async () => {
    // RFC 9700 §4.1 / MCP authorization (CIMD): the AS MUST validate the document's redirect URIs.
    const id = 'https://client.example/javascript.json';
    documents.set(id, {
      client_id: id,
      client_name: 'Script',
      redirect_uris: ['javascript:alert(1)'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    });
    expectErrorPage(
      await cimdAuthorize(id, 'javascript:alert(1)'),
      /invalid_redirect_uri: redirect_uri &#34;javascript:alert\(1\)&#34; is not allowed: the javascript: scheme is never allowed/,
    );
  });

  it('refuses to fetch a document from a private or loopback address', async () => {
    // MCP authorization (CIMD) "SHOULD guard against SSRF": the address is refused before any
    // connection is made (public-fetch.ts; test/security/metadata-fetch.test.ts counts connections).
    for (const host of ['127.0.0.1', 'localhost']) {
      const id = `https://${host}:${privatePort}/client.json`;
      expectErrorPage(
        await cimdAuthorize(id, 'https://app.example.com/oauth/callback'),
        'invalid_client: client_id metadata document fetch failed',
      );
      if (host === 'localhost')
        // The name is resolved and refused by the connection's own lookup.
        expect(String((fetchFailure as Error & { cause?: Error })?.cause?.message)).toMatch(
          /is not a public address: refused before connecting$/,
        );
      // An IP literal is refused before fetch is even called.
      else expect(fetchFailure).toBeUndefined();
    }
    expect(privateRequests).toBe(0);
  });
});

describe('MCP_AZURE_REDIRECT_URIS', () => {
  let g: OAuthFixture;
  beforeAll(async () => {
    g = await startOAuthFixture({
      GATEHOUSE_REGISTRATIONS_PER_HOUR: '100000',
      MCP_AZURE_REDIRECT_URIS: 'http://127.0.0.1:*/callback,https://*.example.com/oauth/callback',
    });
  });
  afterAll(async () => {
    await g?.close();
  });

  it('registers only redirect URIs matching a pattern', async () => {
    // RFC 7591 §3.2.2 invalid_redirect_uri; an operator's allow-list narrows RFC 8252's defaults.
    const url = g.config.server.baseUrl;
    for (const uri of [
      'http://127.0.0.1:40000/callback',
      'http://127.0.0.1/callback',
      'https://app.example.com/oauth/callback',
    ]) {
      const { status } = await registerClient(url, { client_name: 'Allowed', redirect_uris: [uri] });
      expect(status).toBe(201);
    }
    for (const uri of [
      'http://localhost:40000/callback',
      'http://127.0.0.1:40000/other',
      'https://example.com/oauth/callback',
      'https://a.b.example.com/oauth/callback',
      'https://app.example.com.evil.test/oauth/callback',
      'cursor://anysphere.cursor-retrieval/oauth/callback',
    ]) {
      const { status, body } = await registerClient(url, { client_name: 'Refused', redirect_uris: [uri] });
      expect(status).toBe(400);
      expect(body).toEqual({
        error: 'invalid_redirect_uri',
        error_description: `redirect_uri ${JSON.stringify(uri)} is not allowed: it matches none of the allowed patterns (MCP_AZURE_REDIRECT_URIS: http://127.0.0.1:*/callback, https://*.example.com/oauth/callback)`,
      });
    }
    // A full sign-in still works for an allowed loopback client.
    const { tokens } = await signInForTokens(new HttpBrowser(url));
    expect(tokens.access_token).toBeTruthy();
  });
});
