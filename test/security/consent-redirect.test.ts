import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import {
  type Answer,
  authorizeUrl,
  csrfTokenOf,
  HttpBrowser,
  type RegisteredClient,
  registerClient,
  registerPublicClient,
  signInToCode,
} from '../helpers/oauth-http-flow.js';

// A remembered approval never hands a code to a redirect URI the user did not see on the consent
// page (RFC 8252 §8.6; MCP security best practices, confused deputy): another loopback port of the
// same client is asked about again, while a client that keeps its port is not.
describe('remembered consent and redirect URIs', () => {
  let f: OAuthFixture;
  let base: string;
  beforeAll(async () => {
    f = await startOAuthFixture({ GATEHOUSE_REGISTRATIONS_PER_HOUR: '100000' });
    base = f.gatehouse.url;
  });
  afterAll(() => f?.close());

  /** An authorization request in `browser`, followed while it stays on Gatehouse. */
  async function authorize(browser: HttpBrowser, client: RegisteredClient): Promise<Answer> {
    const { url } = authorizeUrl(base, client);
    return browser.followLocal(await browser.get(url));
  }

  /** Whether the answer sent the browser to the client with a code (no page shown). */
  function codeAt(answer: Answer, redirectUri: string): string | null {
    if (answer.location === undefined || !answer.location.startsWith(redirectUri)) return null;
    return new URL(answer.location).searchParams.get('code');
  }

  it('asks again for another loopback port of an approved client, naming that port, and issues no code until allowed', async () => {
    const client = await registerPublicClient(base, 'http://127.0.0.1:41001/callback', 'Loopback client');
    const browser = new HttpBrowser(base);
    const first = await signInToCode(browser, { client });
    expect(first.code).toBeTruthy();

    const otherPort = { ...client, redirectUri: 'http://127.0.0.1:41002/callback' };
    const second = await authorize(browser, otherPort);
    expect(codeAt(second, otherPort.redirectUri)).toBeNull();
    expect(second.status).toBe(200);
    expect(second.text).toContain('127.0.0.1:41002');
    const csrf = csrfTokenOf(second.text);

    // Allowing it on the page the user saw sends the code there.
    const uid = /\/interaction\/([^/"?#]+)\/decision/.exec(second.text)?.[1];
    expect(uid).toBeTruthy();
    const allowed = await browser.followLocal(
      await browser.post(`/interaction/${uid}/decision`, { decision: 'allow', csrf }),
    );
    expect(codeAt(allowed, otherPort.redirectUri)).toBeTruthy();

    // Both approved URIs now go through silently.
    expect(codeAt(await authorize(browser, client), client.redirectUri)).toBeTruthy();
    expect(codeAt(await authorize(browser, otherPort), otherPort.redirectUri)).toBeTruthy();
  });

  it('keeps a client that reuses its port (VS Code: 127.0.0.1:33418) free of extra prompts', async () => {
    const client = await registerPublicClient(base, 'http://127.0.0.1:33418/', 'Visual Studio Code');
    const browser = new HttpBrowser(base);
    await signInToCode(browser, { client });
    for (let round = 0; round < 3; round++) {
      const again = await authorize(browser, client);
      expect(
        codeAt(again, client.redirectUri),
        `round ${round}: ${again.status} ${again.text.slice(0, 200)}`,
      ).toBeTruthy();
    }
  });

  it('asks again when a web client with several redirect URIs uses one the user did not approve', async () => {
    const registered = await registerClient(base, {
      client_name: 'Web client',
      application_type: 'web',
      redirect_uris: ['https://app.example/one', 'https://app.example/two'],
      token_endpoint_auth_method: 'none',
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const one = { clientId: String(registered.body.client_id), redirectUri: 'https://app.example/one' };
    const two = { ...one, redirectUri: 'https://app.example/two' };
    const browser = new HttpBrowser(base);
    await signInToCode(browser, { client: one });

    // The grant covers the scopes, so without the redirect check no page would be shown at all.
    const other = await authorize(browser, two);
    expect(codeAt(other, two.redirectUri)).toBeNull();
    expect(other.status).toBe(200);
    expect(other.text).toContain('app.example');
    expect(csrfTokenOf(other.text)).toBeTruthy();
    // The approved one stays silent.
    expect(codeAt(await authorize(browser, one), one.redirectUri)).toBeTruthy();
  });
});
