import {
  Client,
  type OAuthClientProvider,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, type SeededUser, signIn } from '../dev-entra/helpers.js';
import { freePort, type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import { csrfTokenOf, HttpBrowser } from '../helpers/oauth-http-flow.js';

/**
 * An MCP client's OAuth state in memory, whose redirectToAuthorization is a user signing in: the
 * consent page (Allow), then the emulator's sign-in form, followed over HTTP as a browser would,
 * up to the client's redirect URI. `landed` is that URI with its code, state and iss.
 */
class SigningInProvider implements OAuthClientProvider {
  client: Awaited<ReturnType<OAuthClientProvider['clientInformation']>>;
  saved: Awaited<ReturnType<OAuthClientProvider['tokens']>>;
  verifier = '';
  landed: URL | undefined;
  /** The pages on the way: the consent interaction, then Entra's authorize endpoint. */
  visited: string[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly user: SeededUser,
    readonly redirectUrl: string,
  ) {}

  get clientMetadata() {
    return {
      client_name: 'Gatehouse e2e client (2026-07-28)',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: NonNullable<SigningInProvider['client']>) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: NonNullable<SigningInProvider['saved']>) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  // Kept with the verifier so the callback is checked against the authorization server it began with.
  discovery: Parameters<NonNullable<OAuthClientProvider['saveDiscoveryState']>>[0] | undefined;
  saveDiscoveryState(state: NonNullable<SigningInProvider['discovery']>) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    const browser = new HttpBrowser(this.baseUrl);
    const authorize = await browser.get(url.toString());
    const uid = /\/interaction\/([^/?#]+)/.exec(authorize.location ?? '')?.[1];
    if (uid === undefined) throw new Error(`authorize did not start an interaction (${authorize.status})`);
    this.visited.push(new URL(`/interaction/${uid}`, this.baseUrl).toString());
    const consent = await browser.get(`/interaction/${uid}`);
    const decision = await browser.post(`/interaction/${uid}/decision`, {
      decision: 'allow',
      csrf: csrfTokenOf(consent.text),
    });
    this.visited.push(decision.location!);
    const { location } = await signIn(decision.location!, this.user);
    const done = await browser.followLocal(await browser.get(location.toString()));
    this.landed = new URL(done.location!);
  }
}

// MCP 2026-07-28 end to end: the MCP SDK v2 client pinned to the stateless revision signs in
// through Gatehouse (401 → RFC 9728 → RFC 8414 → registration → consent → Entra → code + PKCE,
// `iss` checked per RFC 9207), then discovers the server and calls tools without any session.
describe('the MCP SDK v2 client on 2026-07-28 signs in through Gatehouse', () => {
  let f: OAuthFixture;
  beforeAll(async () => {
    f = await startOAuthFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  /** What the client sent and what came back, per POST: proof of the wire the client spoke. */
  const exchanges: {
    method: string | null;
    version: string | null;
    session: string | null;
    status: number;
  }[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if ((init?.method ?? 'GET') === 'POST' && String(input).startsWith(f.mcpUrl)) {
      const headers = new Headers(init?.headers);
      exchanges.push({
        method: headers.get('mcp-method'),
        version: headers.get('mcp-protocol-version'),
        session: response.headers.get('mcp-session-id'),
        status: response.status,
      });
    }
    return response;
  };

  function pinnedClient(): Client {
    return new Client(
      { name: 'gatehouse-e2e-2026', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
  }

  function transportFor(provider: OAuthClientProvider): StreamableHTTPClientTransport {
    return new StreamableHTTPClientTransport(new URL(f.mcpUrl), {
      authProvider: provider,
      fetch: recordingFetch,
    });
  }

  it('signs alice in, discovers Gatehouse, lists and calls tools, reads a note resource and gets a prompt statelessly', async () => {
    const provider = new SigningInProvider(
      f.config.server.baseUrl,
      'alice',
      `http://127.0.0.1:${await freePort()}/callback`,
    );
    const first = transportFor(provider);
    await expect(pinnedClient().connect(first)).rejects.toThrow(UnauthorizedError);
    expect(provider.visited[0]).toMatch(new RegExp(`^${f.config.server.baseUrl}/interaction/`));
    expect(provider.visited[1]).toContain(`${f.entra.url}/${f.entra.tenantId}/oauth2/v2.0/authorize`);
    // The callback as the browser landed on it: the code and the issuer (RFC 9207), both checked.
    const callback = provider.landed!;
    expect(callback.searchParams.get('iss')).toBe(f.config.server.baseUrl);
    await first.finishAuth(callback.searchParams);

    const client = pinnedClient();
    await client.connect(transportFor(provider));
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(client.getServerVersion()?.name).toBe('gatehouse');
      expect(client.getServerCapabilities()?.tools).toBeDefined();

      const tools = (await client.listTools()).tools.map((tool) => tool.name);
      expect(tools).toContain('get_server_info');
      const who = await client.callTool({ name: 'whoami', arguments: {} });
      expect(who.structuredContent).toMatchObject({
        objectId: IDS.alice,
        tenantId: IDS.tenant,
        authKind: 'gatehouse',
        name: 'Alice Admin',
      });
      const sum = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [1, 2, 3] } });
      expect(sum.structuredContent).toEqual({ sum: 6 });
      const saved = await client.callTool({ name: 'save_user_note', arguments: { note: 'stateless' } });
      const noteId = (saved.structuredContent as { id: string }).id;
      const notes = await client.callTool({ name: 'get_user_notes', arguments: {} });
      expect((notes.structuredContent as { notes: { id: string }[] }).notes.map((note) => note.id)).toContain(
        noteId,
      );

      // The note as a resource, and a prompt built from the notes, in the same era.
      const resources = (await client.listResources()).resources.map((resource) => resource.uri);
      expect(resources).toContain(`note://${noteId}`);
      const read = await client.readResource({ uri: `note://${noteId}` });
      expect(read.contents[0]).toMatchObject({ uri: `note://${noteId}`, text: 'stateless' });
      const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
      expect(prompts).toContain('summarize_notes');
      const prompt = await client.getPrompt({ name: 'summarize_notes', arguments: {} });
      expect(JSON.stringify(prompt.messages)).toContain('stateless');
    } finally {
      await client.close();
    }

    // Every request after sign-in spoke 2026-07-28 with its method in the header, none opened a
    // session, and none was the 2025 handshake.
    const signedIn = exchanges.filter((exchange) => exchange.status === 200);
    expect(signedIn.map((exchange) => exchange.method)).toEqual(
      expect.arrayContaining([
        'server/discover',
        'tools/list',
        'tools/call',
        'resources/list',
        'resources/read',
        'prompts/list',
        'prompts/get',
      ]),
    );
    for (const exchange of exchanges) {
      expect(exchange.version).toBe('2026-07-28');
      expect(exchange.method).not.toBe('initialize');
      expect(exchange.session).toBeNull();
    }
  }, 120_000);
});
