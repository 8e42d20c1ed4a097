import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ageEntraTokens as ageKeptEntraTokens, openEntraTokens } from '../helpers/entra-sessions.js';
import {
  type BrowserOAuthProvider,
  browserSignIn,
  launchBrowser,
  type OAuthFixture,
  startOAuthFixture,
} from '../helpers/oauth-fixture.js';

// The Entra tokens behind a Gatehouse grant are refreshed when Gatehouse issues an access token and
// they are about to expire; Entra's invalid_grant ends the Gatehouse grant (the OAuth proxy must
// check the upstream's status before honouring its own tokens).
describe('the Entra sign-in behind a grant', () => {
  let f: OAuthFixture;
  let browser: Browser;
  beforeAll(async () => {
    f = await startOAuthFixture({ GATEHOUSE_ACCESS_TOKEN_TTL: '600', MCP_AZURE_CLOCK_SKEW: '0' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  const ageEntraTokens = (userId: string) => ageKeptEntraTokens(f.gatehouse.stores.durable, userId);

  const refresh = (provider: BrowserOAuthProvider) =>
    fetch(`${f.config.server.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: provider.saved!.refresh_token!,
        client_id: (provider.client as { client_id: string }).client_id,
      }),
    });

  it('is refreshed when about to expire, and its end at Entra ends the Gatehouse grant', async () => {
    const { provider, transport } = await browserSignIn(f, browser, 'bob');
    await transport.finishAuth(provider.code!);
    const userId = (await f.gatehouse.stores.durable.users.findByIdentity(
      f.entra.tenantId,
      '9e2a7a8a-7ffc-4ea7-96e0-d0793fb06ec1',
    ))!.id;
    // The Entra access token is about to expire (aged in storage, as an hour would do).
    await ageEntraTokens(userId);
    const aged = await f.gatehouse.stores.durable.entraSessions.find(userId);

    // A Gatehouse refresh refreshes the Entra tokens first.
    const refreshed = await refresh(provider);
    expect(refreshed.status).toBe(200);
    provider.saveTokens((await refreshed.json()) as never);
    const after = await f.gatehouse.stores.durable.entraSessions.find(userId);
    expect(after!.sealedTokens).not.toBe(aged!.sealedTokens);
    expect(openEntraTokens(after!.sealedTokens, userId).accessTokenExpiresAt).toBeGreaterThan(
      Date.now() / 1000 + 50 * 60,
    );
    await ageEntraTokens(userId);

    // 100 days later Entra's refresh token has expired (AADSTS700082): the grant ends.
    f.entra.setClockOffsetSeconds(100 * 24 * 3600);
    const accessToken = provider.saved!.access_token;
    const refused = await refresh(provider);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toContain('the Entra ID sign-in behind this grant has ended');
    const call = await fetch(f.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${accessToken}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'whoami', arguments: {} },
      }),
    });
    expect(call.status).toBe(401);
  });
});
