import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows } from '../helpers/audit-rows.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

// RFC 7591 leaves abuse of open registration to the server: each IP address gets a budget.
describe('dynamic client registration is rate-limited per IP address', () => {
  let f: OAuthFixture;
  beforeAll(async () => {
    f = await startOAuthFixture({ GATEHOUSE_REGISTRATIONS_PER_HOUR: '2' });
  });
  afterAll(() => f.close());

  const register = (name: string) =>
    fetch(`${f.config.server.baseUrl}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: name, redirect_uris: ['http://127.0.0.1:7777/callback'] }),
    });

  it('answers 429 with Retry-After past the budget, and stores nothing for the refused request', async () => {
    const first = await register('one');
    const second = await register('two');
    expect([first.status, second.status]).toEqual([201, 201]);
    const third = await register('three');
    expect(third.status).toBe(429);
    const retryAfter = Number(third.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(third.headers.get('ratelimit-limit')).toBe('2');
    expect(third.headers.get('ratelimit-remaining')).toBe('0');
    const body = (await third.json()) as { error: string; error_description: string; code: string };
    expect(body.error).toBe('too_many_requests');
    expect(body.code).toBe('GH_RATE_LIMITED');
    expect(body.error_description).toContain('registered 2 clients within 60 minutes');

    const database = new Database(path.join(f.dataDir, 'gatehouse.db'), { readonly: true });
    try {
      const { clients } = database
        .prepare("SELECT count(*) AS clients FROM oauth_models WHERE model = 'Client'")
        .get() as { clients: number };
      expect(clients).toBe(2);
    } finally {
      database.close();
    }
    expect(await auditRows(f.gatehouse, { type: 'rate.limited' })).toEqual([
      expect.objectContaining({
        ip: '127.0.0.1',
        userId: null,
        details: expect.objectContaining({ scope: 'register' }),
      }),
    ]);
  });
});
