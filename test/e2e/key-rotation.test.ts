import path from 'node:path';
import { decodeProtectedHeader } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/storage/sqlite/index.js';
import { type PersistedKeyring, rotateSigningKeys } from '../../src/tokens/key-store.js';
import { createSecretBox } from '../../src/tokens/secret-box.js';
import { IDS } from '../dev-entra/helpers.js';
import { mcpPost } from '../helpers/auth-fixture.js';
import {
  browserSignIn,
  launchBrowser,
  type OAuthFixture,
  startOAuthFixture,
  TEST_MASTER_SECRET,
} from '../helpers/oauth-fixture.js';
import { refresh, type Tokens } from '../helpers/oauth-http-flow.js';

const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

// `gatehouse keys rotate` while Gatehouse runs: the authorization server signs with the new key
// and publishes the live set without a restart, and keeps working once the old key is retired.
describe('a signing-key rotation reaches the running authorization server', () => {
  let f: OAuthFixture;
  let browser: Browser;
  beforeAll(async () => {
    // No cache of verified tokens, so a retired key's token is refused on its next use.
    f = await startOAuthFixture({ MCP_AZURE_TOKEN_CACHE_TTL: '0' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  const publishedKids = async () => {
    const response = await fetch(`${f.config.server.baseUrl}/jwks`);
    expect(response.headers.get('content-type')).toContain('application/jwk-set+json');
    const { keys } = (await response.json()) as { keys: { kid: string; d?: string }[] };
    expect(keys.every((key) => key.d === undefined)).toBe(true); // never a private part
    return keys.map((key) => key.kid);
  };
  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  const callWith = async (token: string) => (await mcpPost(f.mcpUrl, whoami, token)).status;

  it('signs with the rotated-in key and publishes both, then drops the retired one', async () => {
    const { provider, transport } = await browserSignIn(f, browser, 'alice');
    await transport.finishAuth(provider.code!);
    const client = provider.client as { client_id: string };
    const first = provider.saved!;
    const oldKid = kidOf(first.access_token);
    expect(await publishedKids()).toEqual([oldKid]);

    // What `gatehouse keys rotate` does, on a connection of its own.
    const other = createSqliteStore({ file: path.join(f.dataDir, 'gatehouse.db') });
    try {
      const box = createSecretBox(
        { value: TEST_MASTER_SECRET, source: 'MCP_AZURE_JWT_SIGNING_KEY' },
        'gatehouse/signing-keys',
      );
      const rotation = await rotateSigningKeys({ keys: other.signingKeys, box });
      const newKid = rotation.current.kid;
      // What the running server's periodic re-read (every five minutes) does.
      const running = f.gatehouse.keyring as PersistedKeyring;
      await running.refresh();

      const refreshed = async (refreshToken: string) => {
        const answer = await refresh(f.config.server.baseUrl, client.client_id, refreshToken);
        expect(answer.status).toBe(200);
        return answer.json as unknown as Tokens & { refresh_token: string };
      };
      const second = await refreshed(first.refresh_token!);
      expect(kidOf(second.access_token)).toBe(newKid);
      expect((await publishedKids()).sort()).toEqual([oldKid, newKid].sort());
      expect(await callWith(second.access_token)).toBe(200);
      expect(await callWith(first.access_token)).toBe(200);

      // The old key's tokens have all expired: it is retired and no longer published.
      await other.signingKeys.retire(String(oldKid), new Date(Date.now() - 1000));
      await running.refresh();
      expect(await publishedKids()).toEqual([newKid]);
      expect(await callWith(first.access_token)).toBe(401);
      const third = await refreshed(second.refresh_token);
      expect(kidOf(third.access_token)).toBe(newKid);
      const who = await mcpPost(f.mcpUrl, whoami, third.access_token);
      expect(who.status).toBe(200);
      expect(who.body.result.structuredContent).toMatchObject({ objectId: IDS.alice });
    } finally {
      await other.close();
    }
  });
});
