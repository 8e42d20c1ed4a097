import { createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import { ExternalSigningKey } from 'oidc-provider';
import type { Keyring } from '../tokens/keyring.js';

/**
 * oidc-provider's one signing key, standing for whichever key Gatehouse's keyring says signs now.
 * oidc-provider reads its keys once, at construction; through this key a rotation (`gatehouse keys
 * rotate`, here or on another instance) takes effect without a restart, so a running authorization
 * server never signs with a key that has been retired and is no longer published.
 *
 * oidc-provider writes the header (with `kid`, read from this key) before it asks for the
 * signature, so the signature is made with the key the header names, even if a rotation lands in
 * between.
 */
export class KeyringSigningKey extends ExternalSigningKey {
  constructor(private readonly keyring: Keyring) {
    super();
  }

  override get kid(): string {
    return this.keyring.current().kid;
  }

  // oidc-provider assigns a kid to keys without one; this key always has one.
  override set kid(_value: string | undefined) {}

  override get alg(): string {
    return 'RS256';
  }

  override set alg(_value: string | undefined) {}

  override keyObject(): KeyObject {
    return createPublicKey({ key: { ...this.keyring.current().publicJwk }, format: 'jwk' });
  }

  override async sign(data: Uint8Array): Promise<Uint8Array> {
    const signingInput = Buffer.from(data).toString('ascii');
    const header = JSON.parse(
      Buffer.from(signingInput.split('.')[0] ?? '', 'base64url').toString('utf8'),
    ) as {
      kid?: string;
    };
    const key = this.keyring.published().find((candidate) => candidate.kid === header.kid);
    if (key === undefined) throw new Error(`signing key ${String(header.kid)} is no longer published`);
    const signature = await webcrypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, data);
    return new Uint8Array(signature);
  }
}
