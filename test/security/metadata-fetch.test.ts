import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNonPublicAddress, publicFetch, publicOnlyLookup } from '../../src/auth-server/public-fetch.js';
import { pkce } from '../dev-entra/helpers.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import { HttpBrowser } from '../helpers/oauth-http-flow.js';

/** A TCP listener that only counts the connections made to it (a TLS handshake would start with one). */
async function connectionCounter(
  host: string,
): Promise<{ port: number; count(): number; close(): Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    count: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// Client ID metadata documents are fetched from URLs chosen by whoever starts an authorization:
// a URL on a loopback, private or link-local address must be refused before any connection (no TCP
// or TLS handshake that a local service could observe), and a host name must be resolved, checked
// and used as checked (no second resolution for a rebinding name).
describe('fetching client ID metadata documents', () => {
  let f: OAuthFixture;
  let v4: Awaited<ReturnType<typeof connectionCounter>>;
  let v6: Awaited<ReturnType<typeof connectionCounter>>;
  beforeAll(async () => {
    f = await startOAuthFixture();
    v4 = await connectionCounter('127.0.0.1');
    v6 = await connectionCounter('::1');
  });
  afterAll(async () => {
    await v4?.close();
    await v6?.close();
    await f?.close();
  });

  async function authorizeWith(clientId: string) {
    const { challenge } = pkce();
    const query = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:45111/callback',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'state',
      scope: 'tools.execute',
    });
    return new HttpBrowser(f.gatehouse.url).get(`/authorize?${query}`);
  }

  for (const [label, url] of [
    ['a loopback IPv4 address', () => `https://127.0.0.1:${v4.port}/client.json`],
    ['a loopback IPv6 address', () => `https://[::1]:${v6.port}/client.json`],
    ['a name that resolves to loopback (localhost)', () => `https://localhost:${v4.port}/client.json`],
  ] as const) {
    it(`refuses a metadata document on ${label} without opening a connection`, async () => {
      const before = v4.count() + v6.count();
      const answer = await authorizeWith(url());
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.text).toContain('invalid_client');
      expect(v4.count() + v6.count()).toBe(before);
    });
  }

  it('classifies addresses: loopback, private, link-local, shared, mapped and reserved are not public', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '224.0.0.1',
    ])
      expect(isNonPublicAddress(address), address).toBe(true);
    for (const address of ['20.190.160.1', '13.107.42.14', '2603:1030::1', '::ffff:20.190.160.1'])
      expect(isNonPublicAddress(address), address).toBe(false);
  });

  it('refuses in the lookup the connection itself uses, and a URL with a private IP before any lookup', async () => {
    const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      publicOnlyLookup('localhost', {}, (error) => resolve(error)),
    );
    expect(refused?.code).toBe('ENONPUBLIC');
    const before = v4.count();
    await expect(publicFetch(`https://127.0.0.1:${v4.port}/x`)).rejects.toThrow(/fetch failed/);
    await expect(publicFetch(`https://localhost:${v4.port}/x`)).rejects.toThrow(/fetch failed/);
    expect(v4.count()).toBe(before);
  });
});
