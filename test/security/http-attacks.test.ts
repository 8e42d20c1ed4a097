import { createHmac, createPublicKey, type JsonWebKey, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, loadSeed, type SeedInput } from '../../dev-entra/index.js';
import { decodePart, userTokenForApi } from '../dev-entra/helpers.js';
import { type AuthFixture, IDS, mcpPost, startAuthFixture, vscodeToken } from '../helpers/auth-fixture.js';

// HTTP-level attacks on /mcp with tokens the Entra emulator issued (forged only where the attack
// needs it). Each test names the section it checks: RFC 6750 §3 / §3.1 (challenges, invalid_token),
// RFC 8725 §2.1 / §3.1 (algorithm confusion), RFC 7515 §4.1.4 (kid), RFC 7519 §4.1.3-4.1.5 (aud,
// exp, nbf), MCP authorization "Token Audience Binding and Validation", entra.md §6 and §7.

const call = (name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name, arguments: args },
});
const whoami = call('whoami');
const SCOPES = `scope="api://${IDS.api}/discover api://${IDS.api}/tools.execute"`;

/** The exact 401 challenge Gatehouse must send for a rejected token. */
function invalidTokenChallenge(f: AuthFixture, description: string): string {
  return `Bearer error="invalid_token", error_description="${description}", resource_metadata="${f.gatehouse.url}/.well-known/oauth-protected-resource/mcp", ${SCOPES}`;
}

/** Sends `token` to /mcp and asserts a 401 with exactly this description, in the header and the body. */
async function expectRejected(f: AuthFixture, token: string, description: string): Promise<void> {
  const response = await mcpPost(f.mcpUrl, whoami, token);
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe(invalidTokenChallenge(f, description));
  expect(response.body.error).toMatchObject({
    code: -32001,
    message: description,
    data: { code: 'GH_AUTH_INVALID_TOKEN' },
  });
}

async function expectAccepted(f: AuthFixture, token: string) {
  const response = await mcpPost(f.mcpUrl, whoami, token);
  expect(response.status).toBe(200);
  expect(response.headers.get('www-authenticate')).toBeNull();
  expect(response.body.error).toBeUndefined();
  return response.body.result.structuredContent as Record<string, unknown>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = (token: string) => decodePart(token, 0);
const payload = (token: string) => decodePart(token, 1);
const iso = (seconds: unknown) => new Date(Number(seconds) * 1000).toISOString();

/** A valid Gatehouse access token (RFC 9068) for alice, bound to the MCP resource, as the OAuth proxy will issue. */
async function gatehouseToken(f: AuthFixture): Promise<string> {
  const key = f.gatehouse.keyring.current();
  const token = await new SignJWT({
    tid: IDS.tenant,
    oid: IDS.alice,
    scope: 'discover tools.execute',
    roles: ['admin'],
  })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(f.gatehouse.url)
    .setAudience(f.mcpUrl)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key.privateKey);
  // The unforged token is accepted, so a rejection below is the forgery's doing.
  await expectAccepted(f, token);
  return token;
}

/** The emulator's published JWK for `kid`. */
async function publishedJwk(entra: DevEntra, kid: string): Promise<JWK> {
  const { keys } = (await (await fetch(entra.jwksUri('v2'))).json()) as { keys: JWK[] };
  const jwk = keys.find((key) => key.kid === kid);
  if (jwk === undefined) throw new Error(`kid ${kid} is not published`);
  return jwk;
}

/** Runs `mint` with the emulator's clock shifted, and puts the clock back. */
async function withEmulatorClock<T>(
  entra: DevEntra,
  offsetSeconds: number,
  mint: () => Promise<T>,
): Promise<T> {
  entra.setClockOffsetSeconds(offsetSeconds);
  try {
    return await mint();
  } finally {
    entra.setClockOffsetSeconds(0);
  }
}

/**
 * Stands between Gatehouse and the emulator, so the network to Entra can fail while the emulator
 * keeps issuing tokens: `jwksDown` breaks only the JWKS paths, `down` everything. Counts JWKS hits.
 */
class AuthorityLink {
  target = '';
  down = false;
  jwksDown = false;
  jwksRequests = 0;
  url = '';
  #server: Server | undefined;

  async start(): Promise<this> {
    this.#server = createServer((request, response) => void this.#forward(request, response));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async #forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const isJwks = /\/discovery\/(v2\.0\/)?keys/.test(request.url ?? '');
    if (isJwks) this.jwksRequests++;
    if (this.down || (isJwks && this.jwksDown)) {
      // A dropped connection, as when the authority is unreachable.
      request.socket.destroy();
      return;
    }
    const upstream = await fetch(`${this.target}${request.url}`, { method: request.method });
    response.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
    });
    response.end(Buffer.from(await upstream.arrayBuffer()));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#server === undefined) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

/** A loopback port nothing listens on. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('emulator-issued tokens against a running Gatehouse (default seed: v2 tokens)', () => {
  let f: AuthFixture;
  beforeAll(async () => {
    f = await startAuthFixture();
  });
  afterAll(() => f.close());

  it('accepts a v2 user token (entra.md §7; MCP authorization "Token Handling")', async () => {
    const token = await f.userToken('bob');
    expect(payload(token)).toMatchObject({ ver: '2.0', aud: IDS.api, iss: f.entra.issuer('v2') });
    expect(await expectAccepted(f, token)).toMatchObject({
      authKind: 'entra-user',
      objectId: IDS.bob,
      tenantId: IDS.tenant,
    });
  });

  it('accepts a v2 app-only token from client credentials (entra.md §7; RFC 6749 §4.4)', async () => {
    const token = await f.appToken();
    expect(payload(token)).toMatchObject({ ver: '2.0', aud: IDS.api, azp: IDS.daemon });
    expect(await expectAccepted(f, token)).toMatchObject({
      authKind: 'entra-app',
      objectId: IDS.daemonSp,
      roles: ['user'],
    });
  });

  it('rejects a Microsoft Graph token (entra.md §2 and §7.9; MCP authorization "Token Audience Binding and Validation")', async () => {
    const token = await vscodeToken(f.entra, 'bob', 'User.Read openid profile');
    expect(header(token).nonce).toBeDefined();
    expect(payload(token).aud).toBe('https://graph.microsoft.com');
    await expectRejected(f, token, 'token is a Microsoft Graph token, not one issued for this server');
  });

  it('rejects a token for another resource server in the same tenant (RFC 7519 §4.1.3; MCP "Token Audience Binding")', async () => {
    const body = await userTokenForApi(
      f.entra,
      'bob',
      `api://${IDS.downstream}/access_as_user openid profile`,
    );
    const token = String(body.access_token);
    expect(payload(token)).toMatchObject({
      aud: `api://${IDS.downstream}`,
      tid: IDS.tenant,
      iss: f.entra.issuer('v1'),
    });
    await expectRejected(
      f,
      token,
      `token audience 'api://${IDS.downstream}' is not this server (expected ${IDS.api} or api://${IDS.api} or api://${IDS.api}/)`,
    );
  });

  it('rejects an expired token, past the clock skew (RFC 7519 §4.1.4)', async () => {
    // Minted two hours ago: lifetimes are 60-90 minutes, so exp is at least 30 minutes past, beyond the 300 s skew.
    const token = await withEmulatorClock(f.entra, -2 * 3600, () => f.appToken());
    expect(Number(payload(token).exp) * 1000).toBeLessThan(Date.now() - 300_000);
    await expectRejected(f, token, `token expired at ${iso(payload(token).exp)}`);
  });

  it('rejects a token that is not yet valid, past the clock skew (RFC 7519 §4.1.5)', async () => {
    const token = await withEmulatorClock(f.entra, 2 * 3600, () => f.appToken());
    await expectRejected(f, token, `token is not valid before ${iso(payload(token).nbf)}`);
  });

  it('rejects alg "none" on a real token (RFC 8725 §2.1, §3.1)', async () => {
    const token = await f.userToken('bob');
    const [, body] = token.split('.');
    const forged = `${b64({ ...header(token), alg: 'none' })}.${body}.`;
    await expectRejected(f, forged, "token algorithm 'none' is not accepted (Entra tokens are RS256)");
  });

  it('rejects a real token re-signed with HS256 using the RSA public key as the secret (RFC 8725 §2.1, §3.1)', async () => {
    const token = await f.userToken('bob');
    const jwk = await publishedJwk(f.entra, String(header(token).kid));
    const publicPem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const signingInput = `${b64({ ...header(token), alg: 'HS256' })}.${token.split('.')[1]}`;
    const forged = `${signingInput}.${createHmac('sha256', publicPem).update(signingInput).digest('base64url')}`;
    await expectRejected(f, forged, "token algorithm 'HS256' is not accepted (Entra tokens are RS256)");
  });

  it('rejects alg "none" on a Gatehouse-signed token (RFC 8725 §2.1, §3.1; RFC 9068 §4)', async () => {
    const token = await gatehouseToken(f);
    const forged = `${b64({ ...header(token), alg: 'none' })}.${token.split('.')[1]}.`;
    await expectRejected(f, forged, 'token algorithm is not accepted');
  });

  it("rejects a Gatehouse token re-signed with HS256 using Gatehouse's public key as the secret (RFC 8725 §2.1, §3.1; RFC 9068 §4)", async () => {
    const token = await gatehouseToken(f);
    const publicPem = createPublicKey({
      key: f.gatehouse.keyring.current().publicJwk as JsonWebKey,
      format: 'jwk',
    })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const signingInput = `${b64({ ...header(token), alg: 'HS256' })}.${token.split('.')[1]}`;
    const forged = `${signingInput}.${createHmac('sha256', publicPem).update(signingInput).digest('base64url')}`;
    await expectRejected(f, forged, 'token algorithm is not accepted');
  });

  it("rejects a token signed with a fresh key under one of the tenant's published kids (RFC 7515 §4.1.4, §5.2)", async () => {
    const token = await f.userToken('alice');
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(payload(token))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: String(header(token).kid) })
      .sign(privateKey);
    await expectRejected(f, forged, 'token signature is invalid');
  });

  it("rejects a kid that is not one of the tenant's published keys (RFC 7515 §4.1.4; entra.md §7)", async () => {
    const token = await f.userToken('alice');
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(payload(token))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'attacker-key-1' })
      .sign(privateKey);
    await expectRejected(
      f,
      forged,
      "token signing key 'attacker-key-1' is not one of the tenant's published keys",
    );
  });

  it('rejects a kid carrying a path or URL, and fetches nothing it names (RFC 7515 §4.1.4; RFC 8725 §3.10)', async () => {
    const bait = createServer((_request, response) => response.writeHead(404).end());
    let baitHits = 0;
    bait.on('request', () => baitHits++);
    await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve));
    try {
      const baitUrl = `http://127.0.0.1:${(bait.address() as AddressInfo).port}/keys.json`;
      const token = await f.userToken('bob');
      const [, body, signature] = token.split('.');
      for (const kid of [
        '../../../../etc/passwd',
        baitUrl,
        `${String(header(token).kid)}/../../keys`,
        'kid?x=1#frag',
      ]) {
        const forged = `${b64({ ...header(token), kid })}.${body}.${signature}`;
        await expectRejected(f, forged, 'token key id (kid) is missing or malformed');
      }
      expect(baitHits).toBe(0);
    } finally {
      await new Promise<void>((resolve) => bait.close(() => resolve()));
    }
  });

  it('rejects a truncated token (RFC 6750 §3.1 invalid_token; RFC 7515 §7.1)', async () => {
    const token = await f.userToken('bob');
    // Cut inside the payload: fewer than three parts.
    await expectRejected(
      f,
      token.slice(0, token.indexOf('.') + 40),
      'the bearer token is not a JWT (expected three base64url parts)',
    );
    // Cut inside the signature: the parts are there, the signature no longer matches.
    await expectRejected(f, token.slice(0, -4), 'token signature is invalid');
  });

  it('rejects a garbage token (RFC 6750 §2.1, §3.1)', async () => {
    await expectRejected(
      f,
      randomBytes(96).toString('base64url'),
      'the bearer token is not a JWT (expected three base64url parts)',
    );
    const response = await mcpPost(f.mcpUrl, whoami, undefined, { authorization: 'Bearer <script>' });
    const description = "the Authorization header must be 'Bearer <access token>'";
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(invalidTokenChallenge(f, description));
    expect(response.body.error).toMatchObject({
      message: description,
      data: { code: 'GH_AUTH_INVALID_TOKEN' },
    });
  });

  it("keeps one user's notes from another user holding a real token (OWASP API1:2023 object-level authorization)", async () => {
    const alice = await f.userToken('alice');
    const bob = await f.userToken('bob');
    const saved = await mcpPost(f.mcpUrl, call('save_user_note', { note: 'alice only' }), alice);
    expect(saved.status).toBe(200);
    const noteId = String(saved.body.result.structuredContent.id);

    const bobList = await mcpPost(f.mcpUrl, call('get_user_notes'), bob);
    expect(bobList.status).toBe(200);
    expect(bobList.body.result.structuredContent.notes.map((note: { id: string }) => note.id)).not.toContain(
      noteId,
    );

    const bobDelete = await mcpPost(f.mcpUrl, call('delete_user_note', { id: noteId }), bob);
    expect(bobDelete.status).toBe(200);
    expect(bobDelete.headers.get('www-authenticate')).toBeNull();
    expect(bobDelete.body.result.isError).toBe(true);
    expect(bobDelete.body.result._meta['io.gatehouse/error-code']).toBe('GH_NOTE_NOT_FOUND');
    expect(bobDelete.body.result.content[0].text).toBe(
      `No note with id ${noteId} belongs to you. Call get_user_notes to see your notes.`,
    );

    const aliceList = await mcpPost(f.mcpUrl, call('get_user_notes'), alice);
    expect(aliceList.body.result.structuredContent.notes).toEqual([
      expect.objectContaining({ id: noteId, note: 'alice only' }),
    ]);
  });
});

describe('v1 access tokens (API app with accessTokenAcceptedVersion 1)', () => {
  let f: AuthFixture;
  beforeAll(async () => {
    const seed = structuredClone(loadSeed()) as SeedInput;
    seed.applications = seed.applications.map((app) =>
      app.appId === IDS.api ? { ...app, accessTokenAcceptedVersion: 1 } : app,
    );
    f = await startAuthFixture({}, seed);
  });
  afterAll(() => f.close());

  it('accepts a v1 user token (entra.md §7: v1 issuer and aud forms)', async () => {
    const token = await f.userToken('bob');
    expect(payload(token)).toMatchObject({ ver: '1.0', iss: f.entra.issuer('v1'), appid: IDS.vscode });
    expect(await expectAccepted(f, token)).toMatchObject({
      authKind: 'entra-user',
      objectId: IDS.bob,
      tenantId: IDS.tenant,
    });
  });

  it('accepts a v1 app-only token from client credentials (entra.md §7; RFC 6749 §4.4)', async () => {
    const token = await f.appToken();
    expect(payload(token)).toMatchObject({ ver: '1.0', iss: f.entra.issuer('v1'), appid: IDS.daemon });
    expect(await expectAccepted(f, token)).toMatchObject({
      authKind: 'entra-app',
      objectId: IDS.daemonSp,
      roles: ['user'],
    });
  });
});

describe('signing key rotation', () => {
  let f: AuthFixture;
  beforeAll(async () => {
    f = await startAuthFixture();
  });
  afterAll(() => f.close());

  it('accepts a token signed with a newly rotated key on the first request (entra.md §6 on an unknown kid refetch at once; RFC 7517 §4.5)', async () => {
    const before = await f.userToken('bob');
    await expectAccepted(f, before);
    const newKid = await f.entra.rotateSigningKey();
    const after = await f.userToken('bob');
    expect(header(after).kid).toBe(newKid);
    expect(newKid).not.toBe(header(before).kid);
    await expectAccepted(f, after);
  });
});

describe('JWKS endpoint down with keys cached', () => {
  let link: AuthorityLink;
  let f: AuthFixture;
  beforeAll(async () => {
    link = await new AuthorityLink().start();
    // No verified-token cache: every request below goes through signature verification.
    f = await startAuthFixture({ MCP_AZURE_AUTHORITY_HOST: link.url, MCP_AZURE_TOKEN_CACHE_TTL: '0' });
    link.target = f.entra.url;
  });
  afterAll(async () => {
    await f.close();
    await link.close();
  });

  it('keeps accepting tokens signed with a cached key (entra.md §6 keys cached per tenant, last-known-good kept)', async () => {
    const first = await f.userToken('bob');
    const second = await f.userToken('alice');
    await expectAccepted(f, first);
    expect(link.jwksRequests).toBe(1);
    link.down = true;
    // A token never seen before, and one seen before: both verified again against the cached keys.
    expect(await expectAccepted(f, second)).toMatchObject({ objectId: IDS.alice });
    expect(await expectAccepted(f, first)).toMatchObject({ objectId: IDS.bob });
  });
});

describe('key rotation while the JWKS endpoint is down', () => {
  it('answers 503 (not 401) for a rotated-in kid it cannot fetch, and accepts it as soon as the keys are back (entra.md §6)', async () => {
    const link = await new AuthorityLink().start();
    const f = await startAuthFixture({ MCP_AZURE_AUTHORITY_HOST: link.url });
    link.target = f.entra.url;
    try {
      await expectAccepted(f, await f.userToken('bob'));
      await f.entra.rotateSigningKey();
      const rotated = await f.userToken('alice');
      link.jwksDown = true;
      const during = await mcpPost(f.mcpUrl, whoami, rotated);
      expect(during.status).toBe(503);
      expect(during.headers.get('retry-after')).toBe('30');
      expect(during.body.error.data.code).toBe('GH_AUTH_KEYS_UNAVAILABLE');
      // The failed fetch must not start the five-minute wait: the first request after recovery fetches.
      link.jwksDown = false;
      expect(await expectAccepted(f, rotated)).toMatchObject({ objectId: IDS.alice });
    } finally {
      await f.close();
      await link.close();
    }
  });
});

describe('JWKS endpoint down with no keys cached', () => {
  it('answers 503 with Retry-After, never 401, while the JWKS cannot be fetched (RFC 9110 §15.6.4, §10.2.3; RFC 6750 §3.1)', async () => {
    const link = await new AuthorityLink().start();
    const f = await startAuthFixture({ MCP_AZURE_AUTHORITY_HOST: link.url });
    link.target = f.entra.url;
    link.jwksDown = true;
    try {
      const token = await f.userToken('bob');
      const jwksUrl = `${link.url}/${IDS.tenant}/discovery/v2.0/keys`;
      for (let attempt = 0; attempt < 2; attempt++) {
        const response = await mcpPost(f.mcpUrl, whoami, token);
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('30');
        expect(response.headers.get('www-authenticate')).toBeNull();
        expect(response.body.error.data.code).toBe('GH_AUTH_KEYS_UNAVAILABLE');
        expect(response.body.error.message).toBe(
          `the signing keys at ${jwksUrl} could not be fetched (fetch failed); retry shortly`,
        );
      }
      // Once the keys can be fetched, the same token works: retrying was the right move.
      link.jwksDown = false;
      await expectAccepted(f, token);
    } finally {
      await f.close();
      await link.close();
    }
  });

  it('answers 503 with Retry-After, never 401, when the authority cannot be reached at all (RFC 9110 §15.6.4; RFC 6750 §3.1)', async () => {
    const down = `http://127.0.0.1:${await unusedPort()}`;
    const f = await startAuthFixture({ MCP_AZURE_AUTHORITY_HOST: down });
    try {
      const token = await f.userToken('bob');
      const response = await mcpPost(f.mcpUrl, whoami, token);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('30');
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(response.body.error.data.code).toBe('GH_AUTH_KEYS_UNAVAILABLE');
      // Gatehouse reads the v2 and v1 discovery documents together; whichever fails first is named.
      const unreadable = (path: string) =>
        `the authority's discovery document ${down}/${IDS.tenant}${path}/.well-known/openid-configuration could not be read (fetch failed); retry shortly (operators: check MCP_AZURE_AUTHORITY_HOST)`;
      expect([unreadable('/v2.0'), unreadable('')]).toContain(response.body.error.message);
    } finally {
      await f.close();
    }
  });
});
