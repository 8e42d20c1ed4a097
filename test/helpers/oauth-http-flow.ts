import { pkce, type SeededUser, signIn } from '../dev-entra/helpers.js';

/**
 * The sign-in through Gatehouse's authorization server over plain HTTP, no browser: register →
 * authorize → consent page → consent POST → emulator sign-in → /auth/callback → back to
 * oidc-provider → code → token. Each step is a method returning the raw response, so a test can stop
 * at any step and tamper with it; signInToCode runs them all and returns every intermediate result.
 */

/** A browser's cookies for one host (Gatehouse), honouring the Path attribute; ports are ignored. */
export class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const pathAttribute = attributes
        .map((attribute) => attribute.trim())
        .find((attribute) => attribute.toLowerCase().startsWith('path='));
      const path = pathAttribute?.slice(5) || '/';
      const expired =
        value === '' ||
        attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute)) ||
        attributes.some(
          (attribute) =>
            /^\s*expires=/i.test(attribute) && Date.parse(attribute.split('=')[1] ?? '') < Date.now(),
        );
      if (expired) this.#cookies.delete(`${name}|${path}`);
      else this.#cookies.set(`${name}|${path}`, { name, value, path });
    }
  }

  /** The Cookie header a browser would send to this URL. */
  header(url: string): string {
    const { pathname } = new URL(url);
    return [...this.#cookies.values()]
      .filter(({ path }) => pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
      .map(({ name, value }) => `${name}=${value}`)
      .join('; ');
  }

  get(name: string): string | undefined {
    return [...this.#cookies.values()].find((cookie) => cookie.name === name)?.value;
  }

  set(name: string, value: string, path = '/'): void {
    this.#cookies.set(`${name}|${path}`, { name, value, path });
  }

  delete(name: string): void {
    for (const [key, cookie] of this.#cookies) if (cookie.name === name) this.#cookies.delete(key);
  }

  copy(): CookieJar {
    const jar = new CookieJar();
    for (const cookie of this.#cookies.values()) jar.set(cookie.name, cookie.value, cookie.path);
    return jar;
  }
}

export interface RegisteredClient {
  clientId: string;
  redirectUri: string;
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  scope?: string;
  token_type: string;
  expires_in: number;
}

/** A response with its body read (text and, when it is JSON, parsed). */
export interface Answer {
  status: number;
  headers: Headers;
  location: string | undefined;
  text: string;
  json: Record<string, unknown> | undefined;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    location: response.headers.get('location') ?? undefined,
    text,
    json,
  };
}

export interface SignInSteps {
  client: RegisteredClient;
  verifier: string;
  state: string;
  /** /authorize: 303 to the consent interaction. */
  authorize: Answer;
  uid: string;
  /** The consent page and the CSRF token in its form. */
  consent: Answer;
  csrf: string;
  /** The consent POST: 303 to Entra's authorize endpoint (the emulator). */
  decision: Answer;
  /** Where the emulator sent the browser back: Gatehouse's /auth/callback with code and state. */
  entraCallback: URL;
  /** /auth/callback: 303 to /interaction/<uid>/complete. */
  callback: Answer;
  /** The client's redirect URI with code, state and iss. */
  redirect: URL;
  code: string;
}

/**
 * One browser (a cookie jar) talking to one Gatehouse authorization server; `headers` go with every
 * request (e.g. the X-Forwarded-Proto of a TLS-terminating proxy in front of Gatehouse).
 */
export class HttpBrowser {
  constructor(
    readonly baseUrl: string,
    readonly jar = new CookieJar(),
    readonly headers: Record<string, string> = {},
  ) {}

  async get(url: string, jar = this.jar): Promise<Answer> {
    const response = await fetch(new URL(url, this.baseUrl), {
      redirect: 'manual',
      headers: { ...this.headers, cookie: jar.header(new URL(url, this.baseUrl).toString()) },
    });
    jar.store(response);
    return answer(response);
  }

  async post(url: string, values: Record<string, string>, jar = this.jar): Promise<Answer> {
    const response = await fetch(new URL(url, this.baseUrl), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        ...this.headers,
        cookie: jar.header(new URL(url, this.baseUrl).toString()),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(values),
    });
    jar.store(response);
    return answer(response);
  }

  /** Follows redirects while they stay on Gatehouse; returns the first answer that leaves or ends. */
  async followLocal(first: Answer, jar = this.jar): Promise<Answer> {
    let current = first;
    for (let hops = 0; hops < 10; hops++) {
      if (current.location === undefined) return current;
      const next = new URL(current.location, this.baseUrl);
      if (next.origin !== new URL(this.baseUrl).origin) return current;
      current = await this.get(next.toString(), jar);
    }
    throw new Error('too many redirects');
  }
}

export async function registerClient(
  baseUrl: string,
  metadata: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/register`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Registers a public client (DCR) with one redirect URI; throws unless it is accepted. */
export async function registerPublicClient(
  baseUrl: string,
  redirectUri: string,
  name = 'Attack test client',
  headers: Record<string, string> = {},
): Promise<RegisteredClient> {
  const { status, body } = await registerClient(
    baseUrl,
    {
      client_name: name,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    headers,
  );
  if (status !== 201) throw new Error(`registration failed (${status}): ${JSON.stringify(body)}`);
  return { clientId: String(body.client_id), redirectUri };
}

export interface AuthorizeOptions {
  scope?: string;
  resource?: string;
  state?: string;
  /** Replaces or removes (undefined) any authorization request parameter. */
  params?: Record<string, string | undefined>;
}

/** The authorization request URL for a client, with a fresh PKCE pair. */
export function authorizeUrl(
  baseUrl: string,
  client: RegisteredClient,
  options: AuthorizeOptions = {},
): { url: string; verifier: string; state: string } {
  const { verifier, challenge } = pkce();
  const state = options.state ?? `state-${Math.random().toString(36).slice(2)}`;
  const params: Record<string, string | undefined> = {
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: client.redirectUri,
    scope: options.scope ?? 'openid offline_access tools.read tools.execute',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    resource: options.resource ?? `${baseUrl}/mcp`,
    ...options.params,
  };
  const search = new URLSearchParams(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return { url: `${baseUrl}/authorize?${search}`, verifier, state };
}

export function csrfTokenOf(html: string): string {
  const token = /name="csrf" value="([^"]*)"/.exec(html)?.[1];
  if (token === undefined) throw new Error(`no consent form in: ${html.slice(0, 400)}`);
  return token;
}

export type SignInOptions = AuthorizeOptions & {
  user?: SeededUser;
  client?: RegisteredClient;
  redirectUri?: string;
};

/** Runs the steps up to the consent POST: the browser is about to leave for Entra ID. */
export async function allowConsent(
  browser: HttpBrowser,
  options: SignInOptions = {},
): Promise<Omit<SignInSteps, 'entraCallback' | 'callback' | 'redirect' | 'code'>> {
  const client =
    options.client ??
    (await registerPublicClient(
      browser.baseUrl,
      options.redirectUri ?? 'http://127.0.0.1:47123/callback',
      undefined,
      browser.headers,
    ));
  const { url, verifier, state } = authorizeUrl(browser.baseUrl, client, options);
  const authorize = await browser.get(url);
  const uid = /\/interaction\/([^/?#]+)/.exec(authorize.location ?? '')?.[1];
  if (authorize.status !== 303 || uid === undefined)
    throw new Error(`authorize did not start an interaction (${authorize.status}): ${authorize.text}`);
  const consent = await browser.get(`/interaction/${uid}`);
  const csrf = csrfTokenOf(consent.text);
  const decision = await browser.post(`/interaction/${uid}/decision`, { decision: 'allow', csrf });
  if (decision.status !== 303 || decision.location === undefined)
    throw new Error(`consent did not lead to Entra (${decision.status}): ${decision.text}`);
  return { client, verifier, state, authorize, uid, consent, csrf, decision };
}

/** Runs the steps up to Entra's answer: the browser is about to open Gatehouse's /auth/callback. */
export async function signInToEntraCallback(
  browser: HttpBrowser,
  options: SignInOptions = {},
): Promise<Omit<SignInSteps, 'callback' | 'redirect' | 'code'>> {
  const steps = await allowConsent(browser, options);
  const { location: entraCallback } = await signIn(steps.decision.location!, options.user ?? 'alice');
  return { ...steps, entraCallback };
}

/** Runs register-to-code in one browser, keeping every intermediate response. */
export async function signInToCode(browser: HttpBrowser, options: SignInOptions = {}): Promise<SignInSteps> {
  const steps = await signInToEntraCallback(browser, options);
  const callback = await browser.get(steps.entraCallback.toString());
  const done = await browser.followLocal(callback);
  if (done.location === undefined)
    throw new Error(`no redirect to the client at the end (${done.status}): ${done.text.slice(0, 400)}`);
  const redirect = new URL(done.location);
  const code = redirect.searchParams.get('code');
  if (code === null) throw new Error(`no code in ${redirect}`);
  return { ...steps, callback, redirect, code };
}

export async function tokenRequest(baseUrl: string, values: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${baseUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(values),
  });
  return answer(response);
}

/** Redeems the code of a finished sign-in (RFC 6749 §4.1.3 with the PKCE verifier, RFC 7636 §4.5). */
export function redeemCode(
  baseUrl: string,
  steps: Pick<SignInSteps, 'client' | 'code' | 'verifier'>,
  overrides: Record<string, string | undefined> = {},
): Promise<Answer> {
  const values: Record<string, string | undefined> = {
    grant_type: 'authorization_code',
    client_id: steps.client.clientId,
    code: steps.code,
    redirect_uri: steps.client.redirectUri,
    code_verifier: steps.verifier,
    resource: `${baseUrl}/mcp`,
    ...overrides,
  };
  return tokenRequest(
    baseUrl,
    Object.fromEntries(
      Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
  );
}

export function refresh(
  baseUrl: string,
  clientId: string,
  refreshToken: string,
  extra: Record<string, string> = {},
): Promise<Answer> {
  return tokenRequest(baseUrl, {
    grant_type: 'refresh_token',
    client_id: clientId,
    refresh_token: refreshToken,
    ...extra,
  });
}

/** Signs in and redeems the code: the tokens of a fresh grant. */
export async function signInForTokens(
  browser: HttpBrowser,
  options: SignInOptions = {},
): Promise<{ steps: SignInSteps; tokens: Tokens }> {
  const steps = await signInToCode(browser, options);
  const redeemed = await redeemCode(browser.baseUrl, steps);
  if (redeemed.status !== 200) throw new Error(`token request failed (${redeemed.status}): ${redeemed.text}`);
  return { steps, tokens: redeemed.json as unknown as Tokens };
}
