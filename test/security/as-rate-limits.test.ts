import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows } from '../helpers/audit-rows.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

// DESIGN §2 Operations: per-IP limits on /token and /authorize (and the sign-in pages under
// /interaction that belong to an authorization); /register has its own test
// (registration-limit.test.ts). RFC 6749 §5.2 error form on the OAuth endpoints; RFC 6585 §4 429.
describe('the authorization server endpoints are rate-limited per IP address', () => {
  let f: OAuthFixture;
  let base: string;
  beforeAll(async () => {
    f = await startOAuthFixture({ RATE_LIMIT_TOKEN_PER_MINUTE: '2', RATE_LIMIT_AUTHORIZE_PER_MINUTE: '3' });
    base = f.config.server.baseUrl;
  });
  afterAll(() => f.close());

  /** The refusals the audit log recorded for one limit. */
  const refusals = async (scope: string) =>
    (await auditRows(f.gatehouse, { type: 'rate.limited' })).filter((row) => row.details.scope === scope);

  const token = () =>
    fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'not-a-code',
        client_id: 'nobody',
        redirect_uri: 'http://127.0.0.1:7777/callback',
        code_verifier: 'x'.repeat(43),
      }),
    });

  it('answers /token past the budget with 429, Retry-After, RateLimit headers and an OAuth error body', async () => {
    // An unknown client: oidc-provider's own answer (invalid_client) until the budget is used up.
    const first = await token();
    expect(first.status).toBe(401);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect((await token()).status).toBe(401);
    const refused = await token();
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('ratelimit-limit')).toBe('2');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(await refused.json()).toEqual({
      error: 'too_many_requests',
      error_description: `Too many requests to /token from this address (2 within 1 minute); try again in ${retryAfter} s.`,
      code: 'GH_RATE_LIMITED',
    });
    expect(await refusals('token')).toEqual([
      expect.objectContaining({
        userId: null,
        ip: '127.0.0.1',
        details: expect.objectContaining({ limit: { max: 2, windowMs: 60_000 } }),
      }),
    ]);
  });

  it('answers /authorize past the budget in the OAuth form, and the sign-in pages of the same budget as HTML', async () => {
    const authorize = () =>
      fetch(`${base}/authorize?client_id=nobody&response_type=code`, { redirect: 'manual' });
    const first = await authorize();
    expect(first.status).not.toBe(429);
    const interaction = await fetch(`${base}/interaction/unknown-uid`, { redirect: 'manual' });
    expect(interaction.status).not.toBe(429);
    expect((await authorize()).status).not.toBe(429);

    const refused = await authorize();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: string }).error).toBe('too_many_requests');

    const page = await fetch(`${base}/interaction/unknown-uid`, { redirect: 'manual' });
    expect(page.status).toBe(429);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await page.text()).toContain('Too many requests to /interaction/:uid from this address');
    expect(await refusals('authorize')).toHaveLength(2);
  });

  it('keeps the budgets apart: /token being used up does not refuse metadata or registration', async () => {
    expect((await token()).status).toBe(429);
    expect((await fetch(`${base}/.well-known/oauth-authorization-server`)).status).toBe(200);
    const registration = await fetch(`${base}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'apart', redirect_uris: ['http://127.0.0.1:7777/callback'] }),
    });
    expect(registration.status).toBe(201);
  });
});
