import type { webcrypto } from 'node:crypto';
import { createLocalJWKSet, exportJWK, importJWK, type JWK, type JWTVerifyGetKey } from 'jose';
import type { SigningKeyInput, SigningKeyRecord, SigningKeyRepository } from '../storage/contract.js';
import { generateSigningKey, type Keyring, type SigningKey } from './keyring.js';
import type { SecretBox } from './secret-box.js';

/**
 * The longest lifetime of an access token Gatehouse issues. A key rotated out stays published this
 * long, so every token it signed still verifies until that token expires.
 */
export const LONGEST_ACCESS_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

/** How often a running keyring re-reads storage, so a rotation made elsewhere takes effect. */
const REFRESH_INTERVAL_MS = 5 * 60 * 1000;
/** A token signed by a key this keyring has not seen re-reads storage at most this often. */
const REFRESH_ON_MISS_INTERVAL_MS = 30 * 1000;

export interface KeyStoreOptions {
  keys: SigningKeyRepository;
  /** A secret box for 'gatehouse/signing-keys'. */
  box: SecretBox;
  now?: () => number;
}

/** Gatehouse's keyring as stored: re-read now and then, and when a token names a key it has not seen. */
export interface PersistedKeyring extends Keyring {
  refresh(): Promise<void>;
  /** Stops the periodic refresh. */
  close(): void;
}

interface LoadedKey extends SigningKey {
  activatedAt: number;
  retireAfter: number | null;
}

/**
 * Loads the stored keys, decrypting their private parts (a wrong master secret fails here, with
 * GH_SECRET_UNREADABLE). With no live key yet, it generates one and stores it unless another
 * instance stored one first, then uses whichever was stored: instances starting at once agree.
 */
export async function openKeyring(
  options: KeyStoreOptions & { onRefreshError?: (error: unknown) => void },
): Promise<PersistedKeyring> {
  const { keys, box, now = Date.now } = options;
  const privateKeys = new Map<string, webcrypto.CryptoKey>();

  async function read(): Promise<LoadedKey[]> {
    const live = (await keys.list()).filter((record) => isLive(record, now()));
    return Promise.all(
      live.map(async (record) => {
        let privateKey = privateKeys.get(record.kid);
        if (privateKey === undefined) {
          privateKey = await openPrivateKey(box, record);
          privateKeys.set(record.kid, privateKey);
        }
        return {
          kid: record.kid,
          alg: record.alg as SigningKey['alg'],
          privateKey,
          publicJwk: record.publicJwk as JWK,
          activatedAt: record.activatedAt.getTime(),
          retireAfter: record.retireAfter?.getTime() ?? null,
        };
      }),
    );
  }

  let loaded = await read();
  if (loaded.length === 0) {
    await keys.insertIfNoneLive(await newKeyInput(box, now()));
    loaded = await read();
  }
  if (loaded.length === 0) throw new Error('no signing key is stored even after storing one');

  let lastRefreshOnMiss = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;
  const refresh = () => {
    reading ??= read()
      .then((fresh) => {
        if (fresh.length > 0) loaded = fresh;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };

  const published = (): LoadedKey[] => {
    const at = now();
    const live = loaded.filter((key) => key.retireAfter === null || key.retireAfter > at);
    const current = newestActive(live, at) ?? loaded[loaded.length - 1]!;
    return [current, ...live.filter((key) => key !== current)];
  };

  let localSet: { kids: string; get: JWTVerifyGetKey } | undefined;
  const verifyAgainstPublished: JWTVerifyGetKey = (header, token) => {
    const keysNow = published();
    const kids = keysNow.map((key) => key.kid).join(' ');
    if (localSet?.kids !== kids) {
      localSet = { kids, get: createLocalJWKSet({ keys: keysNow.map((key) => key.publicJwk) }) };
    }
    return localSet.get(header, token);
  };

  const timer = setInterval(() => {
    refresh().catch((error: unknown) => options.onRefreshError?.(error));
  }, REFRESH_INTERVAL_MS);
  timer.unref();

  return {
    current: () => published()[0]!,
    jwks: () => ({ keys: published().map((key) => key.publicJwk) }),
    published,
    verificationKey: async (header, token) => {
      try {
        return await verifyAgainstPublished(header, token);
      } catch (error) {
        // A key rotated in by another instance: re-read storage, but not on every unknown kid.
        const noMatch = (error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY';
        if (!noMatch || now() - lastRefreshOnMiss < REFRESH_ON_MISS_INTERVAL_MS) throw error;
        lastRefreshOnMiss = now();
        await refresh().catch((refreshError: unknown) => options.onRefreshError?.(refreshError));
        return verifyAgainstPublished(header, token);
      }
    },
    refresh,
    close: () => clearInterval(timer),
  };
}

export interface RotationReport {
  /** The new key, which signs from now on. */
  current: SigningKeyRecord;
  /** The keys rotated out that stay published (and keep verifying) until their retireAfter. */
  stillPublished: SigningKeyRecord[];
}

/**
 * Adds a new key that signs from now on. Every other live key stays published until now + the
 * longest access-token lifetime (an earlier end is kept), so the tokens it signed still verify.
 */
export async function rotateSigningKeys(options: KeyStoreOptions): Promise<RotationReport> {
  const { keys, box, now = Date.now } = options;
  const at = now();
  const live = (await keys.list()).filter((record) => isLive(record, at));
  // A key sealed under another master secret would be unreadable to every instance: refuse now.
  for (const record of live) box.open(record.encryptedPrivateJwk, record.kid);
  const current = await keys.insert(await newKeyInput(box, at));
  const until = new Date(at + LONGEST_ACCESS_TOKEN_LIFETIME_MS);
  const stillPublished: SigningKeyRecord[] = [];
  for (const record of live) {
    const retired = await keys.retire(record.kid, until);
    if (retired !== undefined && isLive(retired, at)) stillPublished.push(retired);
  }
  return { current, stillPublished };
}

function isLive(record: Pick<SigningKeyRecord, 'retireAfter'>, at: number): boolean {
  return record.retireAfter === null || record.retireAfter.getTime() > at;
}

/** The key activated last, not in the future; keys come oldest activation (then creation) first. */
function newestActive(keys: readonly LoadedKey[], at: number): LoadedKey | undefined {
  for (let i = keys.length - 1; i >= 0; i--) if (keys[i]!.activatedAt <= at) return keys[i];
  return undefined;
}

async function newKeyInput(box: SecretBox, at: number): Promise<SigningKeyInput> {
  const key = await generateSigningKey();
  const privateJwk = JSON.stringify(await exportJWK(key.privateKey));
  return {
    kid: key.kid,
    alg: key.alg,
    publicJwk: key.publicJwk as Record<string, unknown>,
    // The kid as associated data: a private key copied onto another key's row does not open.
    encryptedPrivateJwk: box.seal(privateJwk, key.kid),
    activatedAt: new Date(at),
  };
}

async function openPrivateKey(box: SecretBox, record: SigningKeyRecord): Promise<webcrypto.CryptoKey> {
  const jwk = JSON.parse(box.open(record.encryptedPrivateJwk, record.kid)) as JWK;
  // Extractable, so an issuer configured with JWKs (the authorization server) can export it.
  return (await importJWK(jwk, record.alg, { extractable: true })) as webcrypto.CryptoKey;
}
