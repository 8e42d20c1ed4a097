/**
 * oidc-provider's own model classes persisting through Gatehouse's adapter: what a restart,
 * rotation, reuse detection and grant revocation rely on (DESIGN §4: credentials stored as hashes).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { adapterFactory, CLIENT_IDLE_SECONDS } from '../../src/auth-server/storage-adapter.js';
import type { DurableStore } from '../../src/storage/contract.js';
import { postgresBackend } from '../../src/storage/postgres/index.js';
import type { SqlBackend } from '../../src/storage/sql/backend.js';
import { createSqlDurableStore } from '../../src/storage/sql/durable-store.js';
import { sqliteBackend } from '../../src/storage/sqlite/index.js';
import { createTestDatabase } from '../helpers/services.js';

/** The parts of oidc-provider this test drives; the package ships no types. */
interface Token {
  jti: string;
  grantId?: string;
  accountId?: string;
  consumed?: number;
  readonly isValid: boolean;
  save(): Promise<string>;
  consume(): Promise<void>;
}
interface TokenModel {
  new (init: Record<string, unknown>): Token;
  find(value: string, options?: { ignoreExpiration?: boolean }): Promise<Token | undefined>;
  revokeByGrantId(grantId: string): Promise<void>;
}
interface TestProvider {
  Client: { find(id: string): Promise<{ clientId: string } | undefined> };
  Grant: new (
    init: Record<string, unknown>,
  ) => { addOIDCScope(scope: string): void; save(): Promise<string> };
  AuthorizationCode: TokenModel;
  AccessToken: TokenModel;
  RefreshToken: TokenModel;
  DeviceCode: TokenModel & { findByUserCode(userCode: string): Promise<Token | undefined> };
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => TestProvider;

// Imported by name at run time: without type declarations a static import does not type-check.
const OIDC_PROVIDER: string = 'oidc-provider';
const { default: Provider } = (await import(OIDC_PROVIDER)) as { default: ProviderConstructor };

const CLIENT = {
  client_id: 'static-client',
  client_secret: 'static-client-secret',
  redirect_uris: ['http://127.0.0.1:5555/callback'],
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
  response_types: ['code'],
};

/** A minimal in-process Provider whose storage is `store`; a second one on the same store is a restart. */
function provider(store: DurableStore): TestProvider {
  return new Provider('http://127.0.0.1:43123', {
    adapter: adapterFactory(store.oauthModels),
    clients: [CLIENT],
    cookies: { keys: ['storage-adapter-test'] },
    features: { devInteractions: { enabled: false }, deviceFlow: { enabled: true } },
    ttl: { AccessToken: 600, AuthorizationCode: 60, DeviceCode: 600, Grant: 3600, RefreshToken: 3600 },
  });
}

/** Everything stored for one model, straight from the table. */
function rows(backend: SqlBackend, model: string) {
  return backend.db.selectFrom('oauth_models').selectAll().where('model', '=', model).execute();
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

async function grantFor(p: TestProvider): Promise<string> {
  const grant = new p.Grant({ accountId: 'account-1', clientId: CLIENT.client_id });
  grant.addOIDCScope('openid offline_access');
  return grant.save();
}

async function refreshToken(p: TestProvider, grantId: string): Promise<string> {
  const client = await p.Client.find(CLIENT.client_id);
  const token = new p.RefreshToken({
    client,
    accountId: 'account-1',
    grantId,
    gty: 'authorization_code',
    scope: 'openid offline_access',
  });
  return token.save();
}

const root = mkdtempSync(join(tmpdir(), 'gatehouse-adapter-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

/** A SQLite database the test can reopen (a restart) and read directly. */
function sqliteDatabase(name: string) {
  const file = join(root, `${name}.db`);
  const opened: DurableStore[] = [];
  return {
    backend: () => sqliteBackend({ file }),
    open: async (backend = sqliteBackend({ file })) => {
      const store = createSqlDurableStore(backend);
      opened.push(store);
      await store.migrate();
      return store;
    },
    close: () => Promise.all(opened.map((store) => store.close())),
  };
}

describe('oidc-provider storage adapter (sqlite)', () => {
  it('keeps a refresh token across a restart, stored only as a hash', async () => {
    const database = sqliteDatabase('restart');
    try {
      const before = await database.open();
      const first = provider(before);
      const grantId = await grantFor(first);
      const value = await refreshToken(first, grantId);
      await before.close();

      const backend = database.backend();
      const restarted = provider(await database.open(backend));
      const found = await restarted.RefreshToken.find(value);
      expect(found).toMatchObject({ jti: value, grantId, accountId: 'account-1', isValid: true });

      const stored = await rows(backend, 'RefreshToken');
      expect(stored).toHaveLength(1);
      expect(stored[0]?.id).toBe(sha256(value));
      expect(JSON.stringify(stored)).not.toContain(value);
      expect(JSON.parse(stored[0]!.payload)).not.toHaveProperty('jti');
    } finally {
      await database.close();
    }
  });

  it('marks a consumed code and token, and a second consume keeps them consumed', async () => {
    const database = sqliteDatabase('consume');
    try {
      const p = provider(await database.open());
      const grantId = await grantFor(p);
      const value = await refreshToken(p, grantId);
      const token = await p.RefreshToken.find(value);
      await token!.consume();
      const consumed = await p.RefreshToken.find(value);
      expect(consumed?.consumed).toEqual(expect.any(Number));
      expect(consumed?.isValid).toBe(false);

      await consumed!.consume();
      const again = await p.RefreshToken.find(value);
      expect(again?.consumed).toBe(consumed?.consumed);
      expect(again?.isValid).toBe(false);

      const client = await p.Client.find(CLIENT.client_id);
      const code = new p.AuthorizationCode({
        client,
        accountId: 'account-1',
        grantId,
        redirectUri: CLIENT.redirect_uris[0],
        scope: 'openid',
        codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        codeChallengeMethod: 'S256',
      });
      const codeValue = await code.save();
      await (await p.AuthorizationCode.find(codeValue))!.consume();
      expect(await p.AuthorizationCode.find(codeValue)).toMatchObject({ isValid: false });
    } finally {
      await database.close();
    }
  });

  it('revokeByGrantId deletes the grant’s tokens, and no other grant’s', async () => {
    const database = sqliteDatabase('revoke');
    try {
      const p = provider(await database.open());
      const grantId = await grantFor(p);
      const otherGrantId = await grantFor(p);
      const client = await p.Client.find(CLIENT.client_id);
      const accessToken = await new p.AccessToken({
        client,
        accountId: 'account-1',
        grantId,
        gty: 'authorization_code',
        scope: 'openid',
      }).save();
      const revoked = await refreshToken(p, grantId);
      const kept = await refreshToken(p, otherGrantId);

      expect(await p.AccessToken.find(accessToken)).toMatchObject({ grantId });

      await p.RefreshToken.revokeByGrantId(grantId);
      expect(await p.AccessToken.find(accessToken)).toBeUndefined();
      expect(await p.RefreshToken.find(revoked)).toBeUndefined();
      expect(await p.RefreshToken.find(kept)).toMatchObject({ grantId: otherGrantId });
    } finally {
      await database.close();
    }
  });

  it('returns no expired row, even when oidc-provider would ignore the expiry', async () => {
    const database = sqliteDatabase('expiry');
    try {
      const p = provider(await database.open());
      const value = await refreshToken(p, await grantFor(p));
      // Only Date is faked: the database driver's own timers keep running.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 3601 * 1000);
      expect(await p.RefreshToken.find(value, { ignoreExpiration: true })).toBeUndefined();
    } finally {
      await database.close();
    }
  });

  it('writes back a device code found by its user code without ever storing the device code', async () => {
    const database = sqliteDatabase('device');
    try {
      const backend = database.backend();
      const p = provider(await database.open(backend));
      const client = await p.Client.find(CLIENT.client_id);
      const userCode = 'BCDFGHJK';
      const deviceCode = await new p.DeviceCode({
        client,
        userCode,
        params: { client_id: CLIENT.client_id, scope: 'openid' },
        deviceInfo: { ip: '127.0.0.1', ua: 'test' },
      }).save();

      const byUserCode = await p.DeviceCode.findByUserCode(userCode);
      expect(byUserCode?.jti).not.toBe(deviceCode);
      byUserCode!.accountId = 'account-1';
      await byUserCode!.save();

      expect(await p.DeviceCode.find(deviceCode)).toMatchObject({ jti: deviceCode, accountId: 'account-1' });
      const stored = await rows(backend, 'DeviceCode');
      expect(stored).toHaveLength(1);
      expect(JSON.stringify(stored)).not.toContain(deviceCode);
    } finally {
      await database.close();
    }
  });

  it('lets a registered client expire when unused, and extends its life with every grant', async () => {
    const database = sqliteDatabase('client-idle');
    try {
      const store = await database.open();
      const factory = adapterFactory(store.oauthModels);
      const clients = factory('Client');
      const grants = factory('Grant');
      const before = Date.now();
      await clients.upsert('idle-client', {
        client_id: 'idle-client',
        redirect_uris: ['http://127.0.0.1:5555/cb'],
      });
      const registered = await store.oauthModels.find('Client', 'idle-client');
      const idleMs = CLIENT_IDLE_SECONDS * 1000;
      expect(registered?.expiresAt?.getTime()).toBeGreaterThanOrEqual(before + idleMs - 1000);
      expect(registered?.expiresAt?.getTime()).toBeLessThanOrEqual(Date.now() + idleMs);

      // Re-registering it as expiring in 1 s, then a grant: the grant brings back the full idle lifetime.
      await store.oauthModels.upsert('Client', 'idle-client', registered!.payload, 1);
      await grants.upsert(
        'grant-1',
        { jti: 'grant-1', clientId: 'idle-client', accountId: 'someone', kind: 'Grant' },
        3600,
      );
      const extended = await store.oauthModels.find('Client', 'idle-client');
      expect(extended?.expiresAt?.getTime()).toBeGreaterThan(Date.now() + idleMs - 60_000);

      await store.oauthModels.upsert('Client', 'idle-client', registered!.payload, 1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await clients.find('idle-client')).toBeUndefined();
    } finally {
      await database.close();
    }
  });

  it('finds a client registered through the adapter after a restart', async () => {
    const database = sqliteDatabase('client');
    try {
      const store = await database.open();
      await store.oauthModels.upsert('Client', 'registered-client', {
        client_id: 'registered-client',
        redirect_uris: ['http://127.0.0.1:5555/callback'],
        token_endpoint_auth_method: 'none',
      });
      await store.close();
      const restarted = provider(await database.open());
      expect(await restarted.Client.find('registered-client')).toMatchObject({
        clientId: 'registered-client',
      });
    } finally {
      await database.close();
    }
  });
});

describe('oidc-provider storage adapter (postgres)', () => {
  it('keeps a refresh token across a restart, stored only as a hash, and revokes its grant', async () => {
    const database = await createTestDatabase();
    const opened: DurableStore[] = [];
    const open = async (backend = postgresBackend({ url: database.url, poolSize: 2 })) => {
      const store = createSqlDurableStore(backend);
      opened.push(store);
      await store.migrate();
      return store;
    };
    try {
      const first = provider(await open());
      const grantId = await grantFor(first);
      const value = await refreshToken(first, grantId);

      const backend = postgresBackend({ url: database.url, poolSize: 2 });
      const restarted = provider(await open(backend));
      const found = await restarted.RefreshToken.find(value);
      expect(found).toMatchObject({ jti: value, grantId, isValid: true });
      await found!.consume();
      expect(await restarted.RefreshToken.find(value)).toMatchObject({ isValid: false });

      const stored = await rows(backend, 'RefreshToken');
      expect(stored.map((row) => row.id)).toEqual([sha256(value)]);
      expect(JSON.stringify(stored)).not.toContain(value);

      await restarted.RefreshToken.revokeByGrantId(grantId);
      expect(await first.RefreshToken.find(value)).toBeUndefined();
    } finally {
      await Promise.all(opened.map((store) => store.close()));
      await database.drop();
    }
  });
});
