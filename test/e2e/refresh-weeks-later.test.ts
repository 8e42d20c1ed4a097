import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import { mcpPost } from '../helpers/auth-fixture.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import {
  HttpBrowser,
  refresh,
  registerClient,
  signInForTokens,
  type Tokens,
} from '../helpers/oauth-http-flow.js';

// claude.ai refreshes without `scope` and sometimes only weeks later (anchors "Clients in
// practice"). A grant lives GATEHOUSE_REFRESH_TOKEN_TTL (30 days) from its last refresh, not from
// the sign-in. oidc-provider's clock is moved with a fake Date, the emulator's with its clock
// offset, so both agree.

const DAY = 24 * 3600;
const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

let f: OAuthFixture;
let base: string;
let start: number;
beforeAll(async () => {
  f = await startOAuthFixture();
  base = f.config.server.baseUrl;
});
afterAll(async () => {
  vi.useRealTimers();
  await f?.close();
});
afterEach(() => {
  vi.useRealTimers();
  f.entra.setClockOffsetSeconds(0);
});

/** Moves both clocks to `days` after the test started. */
function daysLater(days: number): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(start + days * DAY * 1000);
  f.entra.setClockOffsetSeconds(days * DAY);
}

async function claudeAiSignIn(): Promise<{ clientId: string; tokens: Tokens }> {
  const redirectUri = 'https://claude.ai/api/mcp/auth_callback';
  const { body } = await registerClient(base, {
    client_name: 'Claude',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  const clientId = String(body.client_id);
  const { tokens } = await signInForTokens(new HttpBrowser(base), {
    client: { clientId, redirectUri },
    params: { scope: 'claudeai' },
  });
  return { clientId, tokens };
}

describe('a refresh weeks later', () => {
  it('works while the client keeps refreshing within 30 days, past 30 days since the sign-in', async () => {
    start = Date.now();
    const { clientId, tokens } = await claudeAiSignIn();
    let current = tokens;
    for (const day of [20, 40, 65]) {
      daysLater(day);
      const refreshed = await refresh(base, clientId, current.refresh_token!);
      expect(refreshed.status, `day ${day}: ${refreshed.text}`).toBe(200);
      current = refreshed.json as unknown as Tokens;
      const call = await mcpPost(f.mcpUrl, whoami, current.access_token);
      expect(call.status).toBe(200);
      expect(call.body.result.structuredContent.objectId).toBe(IDS.alice);
    }
  });

  it('ends after 30 days without a refresh, with the registration: the client registers and signs in again', async () => {
    start = Date.now();
    const { clientId, tokens } = await claudeAiSignIn();
    daysLater(31);
    const refused = await refresh(base, clientId, tokens.refresh_token!);
    // The registration itself, unused for as long, is gone too: the client registers again
    // (RFC 7591) and signs in, as claude.ai does.
    expect(refused.status).toBe(401);
    expect(refused.json?.error).toBe('invalid_client');
  });
});
