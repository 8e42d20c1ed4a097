import { webcrypto } from 'node:crypto';
import { type CertifiedKey, createSelfSignedRsa } from './certificates.js';

export interface SigningKey extends CertifiedKey {
  kid: string;
  jwk: { kty: 'RSA'; n: string; e: string };
}

/** Entra's signing certificates carry this subject; clients never rely on it, but it looks familiar. */
const SIGNING_SUBJECT = 'accounts.accesscontrol.windows.net';
/** Old keys stay published after a rotation; beyond this many, the oldest is dropped. */
const MAX_PUBLISHED = 3;

async function createSigningKey(): Promise<SigningKey> {
  const certified = await createSelfSignedRsa(SIGNING_SUBJECT);
  const jwk = await webcrypto.subtle.exportKey('jwk', certified.keys.publicKey);
  // Entra uses the SHA-1 certificate thumbprint both as `kid` and `x5t`.
  return { ...certified, kid: certified.x5t, jwk: { kty: 'RSA', n: jwk.n!, e: jwk.e! } };
}

/**
 * The tenant's signing keys. More than one is always published and order carries no meaning;
 * `rotate` makes a fresh key active and keeps the previous ones published for a while.
 */
export class SigningKeyRing {
  private published: SigningKey[];
  private activeKid: string;

  private constructor(keys: SigningKey[]) {
    this.published = keys;
    this.activeKid = keys[0]!.kid;
  }

  static async create(): Promise<SigningKeyRing> {
    const keys = await Promise.all([createSigningKey(), createSigningKey()]);
    return new SigningKeyRing(keys);
  }

  get active(): SigningKey {
    return this.published.find((k) => k.kid === this.activeKid)!;
  }

  get keys(): readonly SigningKey[] {
    return this.published;
  }

  find(kid: string): SigningKey | undefined {
    return this.published.find((k) => k.kid === kid);
  }

  /**
   * `emergency` drops the previously active key at once, as Entra does when a key is compromised;
   * tokens it signed stop verifying immediately.
   */
  async rotate(options: { emergency?: boolean } = {}): Promise<string> {
    const next = await createSigningKey();
    const previous = this.activeKid;
    this.published = [
      next,
      ...this.published.filter((k) => !(options.emergency && k.kid === previous)),
    ].slice(0, MAX_PUBLISHED);
    this.activeKid = next.kid;
    return next.kid;
  }

  /** JWKS document; `issuer` is the non-standard field Entra adds to each key. */
  jwks(issuer: string): { keys: Record<string, unknown>[] } {
    return {
      keys: this.published.map((k) => ({
        kty: 'RSA',
        use: 'sig',
        kid: k.kid,
        x5t: k.x5t,
        n: k.jwk.n,
        e: k.jwk.e,
        x5c: [k.derBase64],
        issuer,
      })),
    };
  }
}
