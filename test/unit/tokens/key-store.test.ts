import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../src/errors/index.js';
import type { DurableStore } from '../../../src/storage/contract.js';
import { createSqliteStore } from '../../../src/storage/sqlite/index.js';
import {
  LONGEST_ACCESS_TOKEN_LIFETIME_MS,
  openKeyring,
  type PersistedKeyring,
  rotateSigningKeys,
} from '../../../src/tokens/key-store.js';
import type { Keyring } from '../../../src/tokens/keyring.js';
import { createSecretBox } from '../../../src/tokens/secret-box.js';

const root = mkdtempSync(path.join(tmpdir(), 'gatehouse-keys-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SECRET = 'the-master-secret-for-key-store-tests-0123456789';
const boxOf = (value = SECRET) =>
  createSecretBox({ value, source: 'MCP_AZURE_JWT_SIGNING_KEY' }, 'gatehouse/signing-keys');

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A database file and a way to open it again, as a restarted or second instance would. */
function database() {
  const file = path.join(root, `${Math.random().toString(36).slice(2)}.db`);
  return {
    async open(): Promise<DurableStore> {
      const store = createSqliteStore({ file });
      cleanup.push(() => store.close());
      await store.migrate();
      return store;
    },
  };
}

async function keyringOn(store: DurableStore, options: { secret?: string; now?: () => number } = {}) {
  const keyring: PersistedKeyring = await openKeyring({
    keys: store.signingKeys,
    box: boxOf(options.secret),
    ...(options.now ? { now: options.now } : {}),
  });
  cleanup.push(() => keyring.close());
  return keyring;
}

const ISSUER = 'http://127.0.0.1:8000';

function sign(keyring: Keyring, at: number) {
  const key = keyring.current();
  return new SignJWT({ tid: 't', oid: 'o' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setIssuedAt(Math.floor(at / 1000))
    .setExpirationTime(Math.floor((at + LONGEST_ACCESS_TOKEN_LIFETIME_MS) / 1000))
    .sign(key.privateKey);
}

async function verifies(keyring: Keyring, token: string, at: number): Promise<boolean> {
  try {
    await jwtVerify(token, keyring.verificationKey, { issuer: ISSUER, currentDate: new Date(at) });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY') return false;
    throw error;
  }
}

async function expectUnreadable(operation: Promise<unknown>): Promise<GatehouseError> {
  const error = await operation.then(
    () => expect.fail('expected GH_SECRET_UNREADABLE'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  expect((error as GatehouseError).code).toBe('GH_SECRET_UNREADABLE');
  return error as GatehouseError;
}

describe('key store', () => {
  it('creates an RS256 key on first start, stores its private part only encrypted, and publishes it', async () => {
    const store = await database().open();
    const keyring = await keyringOn(store);
    const [stored, ...others] = await store.signingKeys.list();
    expect(others).toEqual([]);
    expect(stored).toMatchObject({ kid: keyring.current().kid, alg: 'RS256', retireAfter: null });
    expect(stored!.encryptedPrivateJwk).toMatch(/^v1\./);
    expect(stored!.encryptedPrivateJwk).not.toContain('"d"');
    expect(stored!.publicJwk).not.toHaveProperty('d');
    expect(keyring.jwks()).toEqual({ keys: [stored!.publicJwk] });
    expect(keyring.published().map((key) => key.kid)).toEqual([stored!.kid]);
  });

  it('reuses the stored key on the next start', async () => {
    const db = database();
    const first = await keyringOn(await db.open());
    const second = await keyringOn(await db.open());
    expect(second.current().kid).toBe(first.current().kid);
    expect(await (await db.open()).signingKeys.list()).toHaveLength(1);
  });

  it('gives instances starting at once the same current key, and stores one', async () => {
    const db = database();
    const stores = await Promise.all([db.open(), db.open(), db.open()]);
    const keyrings = await Promise.all(stores.map((store) => keyringOn(store)));
    expect(new Set(keyrings.map((keyring) => keyring.current().kid)).size).toBe(1);
    expect(await stores[0]!.signingKeys.list()).toHaveLength(1);
  });

  it('verifies, after a restart with the same secret, a token signed before it', async () => {
    const db = database();
    const before = await keyringOn(await db.open());
    const token = await sign(before, Date.now());
    before.close();
    const after = await keyringOn(await db.open());
    expect(await verifies(after, token, Date.now())).toBe(true);
    // The restarted keyring signs with the same key, which the first one also accepts.
    expect(await verifies(before, await sign(after, Date.now()), Date.now())).toBe(true);
  });

  it('refuses to start with another MCP_AZURE_JWT_SIGNING_KEY, naming it', async () => {
    const db = database();
    await keyringOn(await db.open());
    const error = await expectUnreadable(
      keyringOn(await db.open(), { secret: 'another-secret-that-is-long-enough-0123456789' }),
    );
    expect(error.message).toContain('gatehouse/signing-keys');
    expect(error.message).toContain('MCP_AZURE_JWT_SIGNING_KEY');
    expect(error.message).toContain('different key');
  });

  it('rotation: the new key signs; the old one keeps verifying until retireAfter, then is dropped', async () => {
    let now = Date.now();
    const clock = () => now;
    const db = database();
    const store = await db.open();
    const keyring = await keyringOn(store, { now: clock });
    const oldKid = keyring.current().kid;
    const oldToken = await sign(keyring, now);

    const rotation = await rotateSigningKeys({ keys: store.signingKeys, box: boxOf(), now: clock });
    expect(rotation.current.kid).not.toBe(oldKid);
    expect(rotation.stillPublished.map((key) => [key.kid, key.retireAfter?.getTime()])).toEqual([
      [oldKid, now + LONGEST_ACCESS_TOKEN_LIFETIME_MS],
    ]);

    // A restarted instance signs with the new key and still accepts the old key's tokens.
    const restarted = await keyringOn(await db.open(), { now: clock });
    expect(restarted.current().kid).toBe(rotation.current.kid);
    expect(restarted.jwks().keys.map((key) => key.kid)).toEqual([rotation.current.kid, oldKid]);
    expect(await verifies(restarted, oldToken, now)).toBe(true);
    const newToken = await sign(restarted, now);

    // One that was running learns the new key from the first token that names it.
    now += 60_000;
    expect(await verifies(keyring, newToken, now)).toBe(true);
    expect(keyring.current().kid).toBe(rotation.current.kid);

    now += LONGEST_ACCESS_TOKEN_LIFETIME_MS - 60_000 - 1;
    expect(await verifies(restarted, oldToken, now - 1000)).toBe(true);
    now += 1;
    expect(restarted.jwks().keys.map((key) => key.kid)).toEqual([rotation.current.kid]);
    expect(await verifies(restarted, oldToken, now - 1000)).toBe(false);
    expect(await verifies(restarted, newToken, now - 1000)).toBe(true);
  });

  it('a second rotation never extends the first one’s retirement', async () => {
    let now = Date.now();
    const clock = () => now;
    const store = await database().open();
    const first = (await keyringOn(store, { now: clock })).current().kid;
    await rotateSigningKeys({ keys: store.signingKeys, box: boxOf(), now: clock });
    now += 10 * 60_000;
    const second = await rotateSigningKeys({ keys: store.signingKeys, box: boxOf(), now: clock });
    const ends = new Map(second.stillPublished.map((key) => [key.kid, key.retireAfter?.getTime()]));
    expect(ends.get(first)).toBe(now - 10 * 60_000 + LONGEST_ACCESS_TOKEN_LIFETIME_MS);
    expect(second.stillPublished).toHaveLength(2);
  });

  it('refuses to rotate with another secret, storing nothing', async () => {
    const store = await database().open();
    await keyringOn(store);
    await expectUnreadable(
      rotateSigningKeys({
        keys: store.signingKeys,
        box: boxOf('another-secret-that-is-long-enough-0123456789'),
      }),
    );
    expect(await store.signingKeys.list()).toHaveLength(1);
  });

  it('rotates on an empty store by storing the first key', async () => {
    const store = await database().open();
    const rotation = await rotateSigningKeys({ keys: store.signingKeys, box: boxOf() });
    expect(rotation.stillPublished).toEqual([]);
    expect((await keyringOn(store)).current().kid).toBe(rotation.current.kid);
  });
});
