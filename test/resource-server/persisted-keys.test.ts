import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { loadConfig } from '../../src/config/index.js';
import { isGatehouseError } from '../../src/errors/index.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { createSqliteStore } from '../../src/storage/sqlite/index.js';
import { openKeyring, rotateSigningKeys } from '../../src/tokens/key-store.js';
import type { SigningKey } from '../../src/tokens/keyring.js';
import { createSecretBox } from '../../src/tokens/secret-box.js';
import { IDS, mcpPost } from '../helpers/auth-fixture.js';
import { freePort } from '../helpers/ports.js';

// RFC 9068 access tokens signed by Gatehouse's stored keys (DESIGN §4: keys persisted, encrypted
// under MCP_AZURE_JWT_SIGNING_KEY, rotatable with old keys kept until their tokens expire).
const SECRET = 'persisted-keys-test-secret-0123456789-abcdef';
const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

let entra: DevEntra;
let dataDir: string;
let port: number;
beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
  dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-keys-'));
  port = await freePort();
});
afterAll(async () => {
  await entra.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Gatehouse on the same data folder and port each time, as a restart would be. */
async function start(secret = SECRET): Promise<RunningGatehouse> {
  const config = loadConfig({
    env: {
      PORT: String(port),
      GATEHOUSE_DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      MCP_AZURE_AUTHORITY_HOST: entra.url,
      MCP_AZURE_TENANT_ID: entra.tenantId,
      MCP_AZURE_CLIENT_ID: IDS.api,
      MCP_AZURE_JWT_SIGNING_KEY: secret,
    },
  });
  return startGatehouse(config);
}

function mint(base: string, key: SigningKey): Promise<string> {
  return new SignJWT({ tid: IDS.tenant, oid: IDS.alice, scope: 'discover tools.execute', roles: ['admin'] })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(base)
    .setAudience(`${base}/mcp`)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('30m')
    .sign(key.privateKey);
}

async function expectAccepted(gatehouse: RunningGatehouse, token: string) {
  const response = await mcpPost(`${gatehouse.url}/mcp`, whoami, token);
  expect(response.status).toBe(200);
  expect(response.body.result.structuredContent).toMatchObject({
    authKind: 'gatehouse',
    objectId: IDS.alice,
  });
}

describe('Gatehouse signing keys persisted across restarts', () => {
  it('accepts on /mcp a token signed before a restart, and publishes the same key', async () => {
    const before = await start();
    const token = await mint(before.url, before.keyring.current());
    const kid = before.keyring.current().kid;
    await expectAccepted(before, token);
    await before.close();

    const after = await start();
    try {
      expect(after.keyring.current().kid).toBe(kid);
      expect(after.keyring.jwks().keys.map((key) => key.kid)).toEqual([kid]);
      await expectAccepted(after, token);
    } finally {
      await after.close();
    }
  });

  it('after a rotation made elsewhere, a running server accepts tokens of the new key and still the old one', async () => {
    const running = await start();
    const oldToken = await mint(running.url, running.keyring.current());
    // What `gatehouse keys rotate` does, on a connection of its own.
    const other = createSqliteStore({ file: path.join(dataDir, 'gatehouse.db') });
    const box = createSecretBox(
      { value: SECRET, source: 'MCP_AZURE_JWT_SIGNING_KEY' },
      'gatehouse/signing-keys',
    );
    try {
      const rotation = await rotateSigningKeys({ keys: other.signingKeys, box });
      const elsewhere = await openKeyring({ keys: other.signingKeys, box });
      elsewhere.close();
      expect(elsewhere.current().kid).toBe(rotation.current.kid);
      await expectAccepted(running, await mint(running.url, elsewhere.current()));
      await expectAccepted(running, oldToken);
      expect(running.keyring.current().kid).toBe(rotation.current.kid);
    } finally {
      await other.close();
      await running.close();
    }
  });

  it('refuses to start with another MCP_AZURE_JWT_SIGNING_KEY, saying which variable', async () => {
    const error = await start('a-different-secret-0123456789-abcdefghijkl').then(
      (gatehouse) => gatehouse.close().then(() => expect.fail('expected the start to fail')),
      (reason: unknown) => reason,
    );
    expect(isGatehouseError(error) && error.code).toBe('GH_SECRET_UNREADABLE');
    expect((error as Error).message).toContain('MCP_AZURE_JWT_SIGNING_KEY');
  });
});
