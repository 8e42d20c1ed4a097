import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { type SeededUser, signIn } from '../dev-entra/helpers.js';
import { csrfTokenOf, HttpBrowser } from './oauth-http-flow.js';

/**
 * An MCP SDK client's OAuth state kept in memory, whose "browser" is plain HTTP: it follows the
 * authorize URL to Gatehouse's consent page, clicks Allow (the form with its CSRF token and the
 * consent cookie), signs in on the emulator's page, and follows the redirects back until they
 * leave Gatehouse for the client's redirect URI; the code it carries is then available. For
 * machines without a browser; everything the client and Gatehouse do is real.
 */
export class HttpOAuthProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  /** The authorization code from the last sign-in. */
  code: string | undefined;
  /** Pages seen on the way, for assertions. */
  visited: string[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly user: SeededUser,
    readonly redirectUrl: string,
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Gatehouse e2e client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    const browser = new HttpBrowser(this.baseUrl);
    const authorize = await browser.get(url.toString());
    const uid = /\/interaction\/([^/?#]+)/.exec(authorize.location ?? '')?.[1];
    if (uid === undefined) throw new Error(`authorize did not start an interaction: ${authorize.status}`);
    this.visited.push(new URL(`/interaction/${uid}`, this.baseUrl).toString());
    const consent = await browser.get(`/interaction/${uid}`);
    const decision = await browser.post(`/interaction/${uid}/decision`, {
      decision: 'allow',
      csrf: csrfTokenOf(consent.text),
    });
    if (decision.location === undefined) throw new Error(`consent did not lead on: ${decision.status}`);
    this.visited.push(decision.location);
    const { location: entraCallback } = await signIn(decision.location, this.user);
    const done = await browser.followLocal(await browser.get(entraCallback.toString()));
    if (done.location === undefined) throw new Error(`no redirect to the client: ${done.status}`);
    const landed = new URL(done.location);
    this.visited.push(landed.toString());
    this.code = landed.searchParams.get('code') ?? undefined;
  }
}
