import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import { mcpPost } from '../helpers/auth-fixture.js';
import { ageEntraTokens as ageKeptEntraTokens } from '../helpers/entra-sessions.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import {
  HttpBrowser,
  redeemCode,
  refresh,
  registerPublicClient,
  signInForTokens,
  signInToCode,
  type Tokens,
} from '../helpers/oauth-http-flow.js';

// When Entra refuses to refresh the sign-in behind a grant because the user must sign in again
// (Conditional Access: sign-in frequency AADSTS70043, MFA required AADSTS50076, MFA registration
// required AADSTS50079), the MCP client's refresh gets invalid_grant (RFC 6749 §5.2), never a 5xx,
// and its re-authorisation goes through Entra again and works.

const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

let f: OAuthFixture;
let base: string;
beforeAll(async () => {
  f = await startOAuthFixture({ GATEHOUSE_REGISTRATIONS_PER_HOUR: '100000' });
  base = f.config.server.baseUrl;
});
afterAll(async () => {
  await f?.close();
});
afterEach(() => {
  f.entra.setRefreshRefusal([]);
});

/** Makes the Entra access token kept for the user about to expire, as an hour would. */
async function ageEntraTokens(objectId: string): Promise<void> {
  const userId = (await f.gatehouse.stores.durable.users.findByIdentity(f.entra.tenantId, objectId))!.id;
  await ageKeptEntraTokens(f.gatehouse.stores.durable, userId);
}

async function expectToolCall(accessToken: string): Promise<void> {
  const response = await mcpPost(f.mcpUrl, whoami, accessToken);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(response.body.result.structuredContent.objectId).toBe(IDS.bob);
}

describe.each([
  [70043, 'sign-in frequency'],
  [50076, 'MFA required'],
  [50079, 'MFA registration required'],
] as const)('Entra refuses the refresh with AADSTS%s (%s)', (code, _reason) => {
  it('gives the client invalid_grant, ends the grant, and lets it sign in again', async () => {
    const browser = new HttpBrowser(base);
    const client = await registerPublicClient(base, 'http://127.0.0.1:47444/callback', 'Refusal test');
    const { tokens } = await signInForTokens(browser, { client, user: 'bob' });
    await expectToolCall(tokens.access_token);
    // Another client bob uses, signed in on another machine.
    const other = await registerPublicClient(base, 'http://127.0.0.1:47445/callback', 'Other client');
    const { tokens: otherTokens } = await signInForTokens(new HttpBrowser(base), {
      client: other,
      user: 'bob',
    });

    f.entra.setRefreshRefusal(['bob'], code);
    await ageEntraTokens(IDS.bob);
    const refused = await refresh(base, client.clientId, tokens.refresh_token!);
    expect(refused.status).toBe(400);
    expect(refused.json?.error).toBe('invalid_grant');
    expect(String(refused.json?.error_description)).toMatch(
      new RegExp(`^the Entra ID sign-in behind this grant has ended \\(AADSTS${code}: .+\\); sign in again$`),
    );
    // The grant is over: its access token stops at once, and its refresh token is spent.
    expect((await mcpPost(f.mcpUrl, whoami, tokens.access_token)).status).toBe(401);
    expect((await refresh(base, client.clientId, tokens.refresh_token!)).json?.error).toBe('invalid_grant');
    // The other client's grant rests on the same Entra sign-in: its next refresh is refused too.
    const otherRefused = await refresh(base, other.clientId, otherTokens.refresh_token!);
    expect(otherRefused.json?.error).toBe('invalid_grant');
    expect(String(otherRefused.json?.error_description)).toContain(`AADSTS${code}`);

    // The client re-authorises in the same browser: Gatehouse's session and the remembered consent
    // must not stand in for the sign-in Entra asked for.
    const again = await signInToCode(browser, { client, user: 'bob' });
    expect(again.decision.location).toContain(`${f.entra.url}/`);
    const redeemed = await redeemCode(base, again);
    expect(redeemed.status, redeemed.text).toBe(200);
    const fresh = redeemed.json as unknown as Tokens;
    await expectToolCall(fresh.access_token);
    // The new Entra sign-in satisfies the policy: later refreshes work.
    await ageEntraTokens(IDS.bob);
    const refreshed = await refresh(base, client.clientId, fresh.refresh_token!);
    expect(refreshed.status, refreshed.text).toBe(200);
    await expectToolCall((refreshed.json as unknown as Tokens).access_token);
  });
});
