import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors/index.js';

/** What a derived key encrypts; a key derived for one purpose never opens another's secrets. */
export type SecretPurpose =
  | 'gatehouse/signing-keys'
  | 'gatehouse/entra-tokens'
  | 'gatehouse/upstream-secrets';

/** The variable the master secret came from, named in the message when a secret cannot be read. */
export type MasterSecretSource =
  | 'MCP_AZURE_JWT_SIGNING_KEY'
  | 'GATEHOUSE_ENCRYPTION_KEY'
  | 'the development secret file';

export interface MasterSecret {
  value: string;
  source: MasterSecretSource;
}

/** Encrypts secrets at rest (AES-256-GCM) under a key derived for one purpose. */
export interface SecretBox {
  readonly purpose: SecretPurpose;
  /**
   * `v1.<key id>.<iv>.<ciphertext+tag>`, each part base64url. `associatedData` (for example the
   * row's id) is authenticated, not stored: the ciphertext opens only with the same value, so a
   * secret copied onto another row is refused.
   */
  seal(plaintext: string, associatedData?: string): string;
  /** The plaintext; GH_SECRET_UNREADABLE when the key, the associated data or the text is not the sealed one. */
  open(sealed: string, associatedData?: string): string;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// A fixed salt separates these keys from any other use of the same master secret (RFC 5869 §3.1).
const SALT = 'gatehouse secret box';

/**
 * A 256-bit key for one purpose, derived by HKDF-SHA256 from the master secret: the one derivation
 * behind every secret Gatehouse keeps or signs with (secret boxes, cookie and CSRF keys).
 */
export function deriveKey(masterValue: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterValue, SALT, purpose, 32));
}

export function createSecretBox(master: MasterSecret, purpose: SecretPurpose): SecretBox {
  const key = deriveKey(master.value, purpose);
  // Stored beside each ciphertext so that a wrong key is told apart from a tampered value.
  const keyId = createHmac('sha256', key).update('key id').digest().subarray(0, 6).toString('base64url');

  const unreadable = (reason: string) =>
    new GatehouseError(
      'GH_SECRET_UNREADABLE',
      `A stored secret (${purpose}) cannot be decrypted: ${reason}.`,
      {
        detail: { purpose, source: master.source },
      },
    );

  return {
    purpose,
    seal(plaintext, associatedData) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      if (associatedData !== undefined) cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, keyId, iv.toString('base64url'), body.toString('base64url')].join('.');
    },
    open(sealed, associatedData) {
      const parts = typeof sealed === 'string' ? sealed.split('.') : [];
      if (parts.length !== 4 || parts[0] !== VERSION) {
        throw unreadable(`it is not in the ${VERSION} format Gatehouse writes`);
      }
      const [, storedKeyId, ivText, bodyText] = parts as [string, string, string, string];
      if (storedKeyId !== keyId) {
        throw unreadable(
          `it was encrypted under a different key than the one from ${master.source}. ` +
            'Set the value that was in use when it was written (with GATEHOUSE_ENCRYPTION_KEY set, that one is used instead of MCP_AZURE_JWT_SIGNING_KEY)',
        );
      }
      const iv = Buffer.from(ivText, 'base64url');
      const body = Buffer.from(bodyText, 'base64url');
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw unreadable('it is truncated');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        if (associatedData !== undefined) decipher.setAAD(Buffer.from(associatedData, 'utf8'));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([
          decipher.update(body.subarray(0, body.length - TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw unreadable('it was altered, or it belongs to another record');
      }
    },
  };
}
