import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS } from '../dev-entra/helpers.js';
import { freePort, launchBrowser, type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import { SteppingOAuthProvider } from '../helpers/stepping-oauth-provider.js';

const ALICE_GRAPH_PROFILE = {
  success: true,
  id: IDS.alice,
  displayName: 'Alice Admin',
  givenName: 'Alice',
  surname: 'Admin',
  userPrincipalName: 'alice@gatehousedev.onmicrosoft.com',
  mail: 'alice@gatehousedev.onmicrosoft.com',
  jobTitle: 'Platform Lead',
};

// Entra on-behalf-of (entra.md §3: jwt-bearer + requested_token_use=on_behalf_of) from the Entra
// token Gatehouse keeps for a user who signed in through its OAuth flow, with a claims challenge
// (entra.md §4: AADSTS50076 interaction_required + claims) passed on to the next sign-in.
describe('get_graph_user_details on behalf of a user signed in through Gatehouse', () => {
  let f: OAuthFixture;
  let browser: Browser;
  beforeAll(async () => {
    f = await startOAuthFixture();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  async function signIn(provider: SteppingOAuthProvider): Promise<void> {
    const serverUrl = new URL(f.mcpUrl);
    provider.saved = undefined;
    // The scopes of the first authorization (the 401's), as a client asks again.
    expect(await auth(provider, { serverUrl, scope: 'discover tools.execute' })).toBe('REDIRECT');
    expect(provider.code, provider.stoppedOn?.text).toBeTruthy();
    expect(await auth(provider, { serverUrl, authorizationCode: provider.code! })).toBe('AUTHORIZED');
  }

  async function connect(provider: SteppingOAuthProvider): Promise<Client> {
    const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(f.mcpUrl), { authProvider: provider }));
    return client;
  }

  it('reports an MFA claims challenge, passes it to Entra at the next sign-in, then reads Graph once', async () => {
    const provider = new SteppingOAuthProvider(
      browser,
      'alice',
      `http://127.0.0.1:${await freePort()}/callback`,
    );
    // An MCP client's first contact is refused with 401 and registers (DCR) on the way.
    await expect(connect(provider).then((client) => client.close())).rejects.toThrow(UnauthorizedError);
    expect(provider.code).toBeTruthy();
    await auth(provider, { serverUrl: new URL(f.mcpUrl), authorizationCode: provider.code! });
    expect(provider.entraAuthorizeUrls).toHaveLength(1);
    expect(provider.entraAuthorizeUrls[0]!.searchParams.get('claims')).toBeNull();

    // Conditional Access now wants MFA for alice before any API gets a token on her behalf.
    f.entra.setMfaChallengeUsers(['alice']);
    let client = await connect(provider);
    const challenged = await client.callTool({ name: 'get_graph_user_details', arguments: {} });
    await client.close();
    expect(challenged.isError).toBe(true);
    expect(challenged._meta).toMatchObject({ 'io.gatehouse/error-code': 'GH_ENTRA_CLAIMS_CHALLENGE' });
    const message = (challenged.content as { text: string }[])[0]!.text;
    expect(message).toContain('AADSTS50076');
    expect(message).toContain('Sign in again');
    expect(f.entra.tokenRequestCount('on_behalf_of')).toBe(1);

    // She signs in again from the same MCP client, in a fresh browser: Gatehouse learns who she is
    // at Entra, then sends her back there once more with Entra's claims, which she satisfies.
    provider.entraAuthorizeUrls = [];
    await signIn(provider);
    expect(provider.entraAuthorizeUrls).toHaveLength(2);
    const stepUp = provider.entraAuthorizeUrls[1]!;
    expect(JSON.parse(stepUp.searchParams.get('claims')!)).toMatchObject({
      access_token: { capolids: { essential: true } },
    });
    expect(stepUp.searchParams.get('login_hint')).toBe('alice@gatehousedev.onmicrosoft.com');

    client = await connect(provider);
    try {
      const details = await client.callTool({ name: 'get_graph_user_details', arguments: {} });
      expect(details.isError).toBeFalsy();
      expect(details.structuredContent).toMatchObject(ALICE_GRAPH_PROFILE);
      expect(f.entra.tokenRequestCount('on_behalf_of')).toBe(2);

      // The on-behalf-of token is reused: Entra's token endpoint sees no further request.
      const again = await client.callTool({ name: 'get_graph_user_details', arguments: {} });
      expect(again.structuredContent).toMatchObject(ALICE_GRAPH_PROFILE);
      const profile = await client.callTool({ name: 'get_user_profile', arguments: {} });
      expect(profile.structuredContent).toMatchObject({
        objectId: IDS.alice,
        name: 'Alice Admin',
        mail: 'alice@gatehousedev.onmicrosoft.com',
        jobTitle: 'Platform Lead',
        source: 'graph',
      });
      expect(f.entra.tokenRequestCount('on_behalf_of')).toBe(2);
    } finally {
      await client.close();
    }

    // Answered: the next authorization from this client does not go through Entra again.
    provider.entraAuthorizeUrls = [];
    await signIn(provider);
    expect(provider.entraAuthorizeUrls).toHaveLength(1);
    expect(provider.entraAuthorizeUrls[0]!.searchParams.get('claims')).toBeNull();
  }, 120_000);
});
