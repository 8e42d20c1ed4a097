import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { DevEntra } from '../../dev-entra/index.js';

export const IDS = {
  tenant: 'aad59afb-4251-4c23-8403-b51da0a099c5',
  api: '829cba28-25a8-434b-aad5-d7be2331ceba',
  apiSecret: 'gh8Q~dev-api-secret-for-local-development-only',
  vscode: 'aebc6443-996d-45c2-90f0-388ff96faa56',
  daemon: '67f78ddc-3485-4992-a8f1-4417323eeec4',
  daemonSecret: 'dm8Q~dev-daemon-secret-for-local-development-only',
  daemonExpiredSecret: 'dm7Q~expired-dev-daemon-secret',
  daemonSp: '7514da1a-0695-4007-a65d-062517af4a87',
  downstream: '8a398657-d76b-4509-998c-49ab8e4ceb86',
  graph: '00000003-0000-0000-c000-000000000000',
  alice: '34f63480-cdbe-4434-b81e-12d78d85601b',
  bob: '9e2a7a8a-7ffc-4ea7-96e0-d0793fb06ec1',
  carol: '5798ba0b-7a15-47bc-92ab-740e561f9bc3',
  groups: [
    '506e5e57-70f7-406e-b7f9-ea597208e9a4',
    '28fc510d-a204-44d8-8069-738ecfa2bdfe',
    '32893348-eef0-4eb7-80b5-b409f5546c88',
  ],
} as const;

export const PASSWORDS = {
  alice: 'alice-dev-password',
  bob: 'bob-dev-password',
  carol: 'carol-dev-password',
} as const;
export type SeededUser = keyof typeof PASSWORDS;

/** A web redirect URI registered on the API app; loopback ports are ignored when matching. */
export const API_REDIRECT = 'http://127.0.0.1:5173/auth/callback';

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function form(values: Record<string, string>): URLSearchParams {
  return new URLSearchParams(values);
}

/** The emulator's v2 authorize URL with these parameters (`response_type=code` unless given). */
export function authorizeUrl(on: DevEntra, params: Record<string, string>): string {
  const url = new URL(`${on.authority('v1')}/oauth2/v2.0/authorize`);
  url.search = form({ response_type: 'code', ...params }).toString();
  return url.toString();
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Drives the sign-in page over plain HTTP: load it, post the seeded user's password, follow nothing. */
export async function signIn(
  authorizeUrl: string,
  user: SeededUser,
  init: { cookie?: string } = {},
): Promise<{ location: URL; cookie: string | undefined; response: Response }> {
  const page = await fetch(authorizeUrl, {
    redirect: 'manual',
    headers: init.cookie ? { cookie: init.cookie } : {},
  });
  if (page.status === 302) {
    return { location: new URL(page.headers.get('location')!), cookie: init.cookie, response: page };
  }
  const html = await page.text();
  const ctx = /name="ctx" value="([^"]+)"/.exec(html)?.[1];
  const action = /<form method="post" action="([^"]+)" id="sign-in">/.exec(html)?.[1];
  if (!ctx || !action) throw new Error(`no sign-in form in: ${html.slice(0, 500)}`);
  const response = await fetch(action.replace(/&amp;/g, '&'), {
    method: 'POST',
    redirect: 'manual',
    body: form({ ctx, username: user, password: PASSWORDS[user] }),
  });
  const location = response.headers.get('location');
  if (!location)
    throw new Error(
      `sign-in did not redirect (${response.status}): ${(await response.text()).slice(0, 300)}`,
    );
  const cookie = response.headers.get('set-cookie')?.split(';')[0];
  return { location: new URL(location), cookie, response };
}

export async function postToken(
  url: string,
  values: Record<string, string>,
  headers: Record<string, string> = {},
) {
  const response = await fetch(url, { method: 'POST', body: form(values), headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Gets a delegated token for the Gatehouse API as `user` through code + PKCE. */
export async function userTokenForApi(
  entra: DevEntra,
  user: SeededUser,
  // The API asks for a token for itself, which Entra allows only in the GUID form (else AADSTS90009).
  scope = `${IDS.api}/tools.read ${IDS.api}/tools.execute openid profile offline_access`,
): Promise<Record<string, unknown>> {
  const { verifier, challenge } = pkce();
  const { location } = await signIn(
    authorizeUrl(entra, {
      client_id: IDS.api,
      redirect_uri: API_REDIRECT,
      scope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 's',
      prompt: 'login',
    }),
    user,
  );
  const { status, body } = await postToken(entra.tokenEndpoint(), {
    grant_type: 'authorization_code',
    client_id: IDS.api,
    client_secret: IDS.apiSecret,
    code: location.searchParams.get('code')!,
    redirect_uri: API_REDIRECT,
    code_verifier: verifier,
    scope,
  });
  if (status !== 200) throw new Error(`token request failed: ${JSON.stringify(body)}`);
  return body;
}

export async function verifyWithJwks(
  entra: DevEntra,
  token: string,
  version: 'v1' | 'v2',
): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(entra.jwksUri(version)));
  const { payload } = await jwtVerify(token, jwks, { issuer: entra.issuer(version), algorithms: ['RS256'] });
  return payload;
}

/** Asserts Entra's error body: every field present, description prefixed by the code. */
export function expectAadstsShape(body: Record<string, unknown>, code: number, error: string): void {
  const keys = Object.keys(body);
  for (const k of [
    'error',
    'error_description',
    'error_codes',
    'timestamp',
    'trace_id',
    'correlation_id',
    'error_uri',
  ]) {
    if (!keys.includes(k)) throw new Error(`missing ${k} in ${JSON.stringify(body)}`);
  }
  if (body.error !== error)
    throw new Error(`expected error ${error}, got ${String(body.error)} (${String(body.error_description)})`);
  const description = String(body.error_description);
  if (!description.startsWith(`AADSTS${code}: `))
    throw new Error(`description does not start with AADSTS${code}: ${description}`);
  if (
    !/\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/.test(
      description,
    )
  ) {
    throw new Error(`description tail is not Entra's: ${JSON.stringify(description)}`);
  }
  if (JSON.stringify(body.error_codes) !== JSON.stringify([code]))
    throw new Error(`error_codes ${JSON.stringify(body.error_codes)}`);
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/.test(String(body.timestamp)))
    throw new Error(`timestamp ${String(body.timestamp)}`);
  if (!String(body.error_uri).endsWith(`/error?code=${code}`))
    throw new Error(`error_uri ${String(body.error_uri)}`);
}
