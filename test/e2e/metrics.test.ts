import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpPost } from '../helpers/auth-fixture.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import {
  HttpBrowser,
  redeemCode,
  registerClient,
  signInToCode,
  type Tokens,
} from '../helpers/oauth-http-flow.js';
import { createTestApp } from '../helpers/test-app.js';

// /metrics scraped from a real listener while a user signs in through the emulator, calls a tool,
// a forged token is refused and /register hits its per-IP limit: each moves its own series.

const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnopqrstuvwxyz';
const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

let f: OAuthFixture;
let base: string;

beforeAll(async () => {
  f = await startOAuthFixture({
    METRICS_TOKEN,
    METRICS_PORT: '0',
    GATEHOUSE_REGISTRATIONS_PER_HOUR: '2',
  });
  base = f.config.server.baseUrl;
});
afterAll(async () => {
  await f?.close();
});

async function scrape(url = `${base}/metrics`): Promise<string> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series (name and exact label set as exposed), 0 when absent. */
function value(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

describe('/metrics', () => {
  it('is refused without the token, and with a wrong one', async () => {
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(((await none.json()) as { error: string }).error).toBe('GH_METRICS_UNAUTHORIZED');
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    // The listener of its own asks for the same token when one is set.
    expect(f.gatehouse.metricsUrl).toBeDefined();
    expect((await fetch(f.gatehouse.metricsUrl!)).status).toBe(401);
  });

  it('is off (404 with what to set) when neither METRICS_TOKEN nor METRICS_PORT is set', async () => {
    const t = await createTestApp();
    try {
      const response = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(404);
      const body = response.json() as { error: string; message: string };
      expect(body.error).toBe('GH_METRICS_DISABLED');
      expect(body.message).toContain('METRICS_TOKEN');
    } finally {
      await t.close();
    }
  });

  it('counts a sign-in, a tool call, a refused token and a rate-limited registration', async () => {
    const before = await scrape();

    // A sign-in through the emulator: register, authorize, consent, Entra, code, token.
    const browser = new HttpBrowser(base);
    const steps = await signInToCode(browser, { user: 'alice' });
    const redeemed = await redeemCode(base, steps);
    expect(redeemed.status).toBe(200);
    const tokens = redeemed.json as unknown as Tokens;

    // Two tool calls with the token: the first verifies it, the second finds it in the cache.
    for (let call = 0; call < 2; call++) {
      const answer = await mcpPost(f.mcpUrl, whoami, tokens.access_token);
      expect(answer.status).toBe(200);
      expect(answer.body.result.isError).toBeFalsy();
    }

    // A forged token.
    const refused = await mcpPost(f.mcpUrl, whoami, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln');
    expect(refused.status).toBe(401);

    // The registration budget is 2 per hour; the sign-in used one.
    const metadata = {
      client_name: 'metrics test',
      redirect_uris: ['http://127.0.0.1:47123/callback'],
      token_endpoint_auth_method: 'none',
    };
    expect((await registerClient(base, metadata)).status).toBe(201);
    expect((await registerClient(base, metadata)).status).toBe(429);

    const after = await scrape();
    const moved = (series: string) => value(after, series) - value(before, series);
    expect(moved('gatehouse_oauth_authorizations_total')).toBe(1);
    expect(moved('gatehouse_oauth_tokens_issued_total{grant_type="authorization_code"}')).toBe(1);
    expect(moved('gatehouse_http_requests_total{route="/token",status="200"}')).toBe(1);
    expect(moved('gatehouse_mcp_requests_total{method="tools/call",outcome="ok"}')).toBe(2);
    expect(
      moved('gatehouse_tool_call_duration_seconds_count{tool="whoami",server="gatehouse",outcome="ok"}'),
    ).toBe(2);
    expect(
      moved(
        'gatehouse_tool_call_duration_seconds_bucket{tool="whoami",server="gatehouse",outcome="ok",le="+Inf"}',
      ),
    ).toBe(2);
    // An allowed call is counted as a call (above), not as a decision: decisions are refusals and grants of other uses.
    expect(moved('gatehouse_tool_decisions_total{action="call",outcome="allow"}')).toBe(0);
    expect(moved('gatehouse_token_cache_lookups_total{result="miss"}')).toBe(2);
    expect(moved('gatehouse_token_cache_lookups_total{result="hit"}')).toBe(1);
    expect(moved('gatehouse_auth_failures_total{code="GH_AUTH_INVALID_TOKEN"}')).toBe(1);
    expect(moved('gatehouse_http_requests_total{route="/mcp",status="401"}')).toBe(1);
    expect(moved('gatehouse_rate_limited_total{scope="register"}')).toBe(1);
    expect(moved('gatehouse_http_requests_total{route="/register",status="429"}')).toBe(1);
    // Process metrics are there too, in the same registry.
    expect(after).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(after).toMatch(/^gatehouse_build_info\{version="[^"]+"\} 1$/m);
  });

  it('is served on METRICS_PORT with the same series', async () => {
    const text = await scrape(f.gatehouse.metricsUrl);
    expect(value(text, 'gatehouse_oauth_authorizations_total')).toBeGreaterThanOrEqual(1);
    const other = await fetch(f.gatehouse.metricsUrl!.replace(/\/metrics$/, '/mcp'));
    expect(other.status).toBe(404);
  });
});
