import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../src/errors/index.js';
import { createSecretBox, type MasterSecret } from '../../../src/tokens/secret-box.js';

const master: MasterSecret = {
  value: 'a'.repeat(16) + 'correct-master-secret-0123456789',
  source: 'MCP_AZURE_JWT_SIGNING_KEY',
};
const box = createSecretBox(master, 'gatehouse/signing-keys');

function unreadable(open: () => unknown): GatehouseError {
  try {
    open();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('GH_SECRET_UNREADABLE');
    return error as GatehouseError;
  }
  throw new Error('expected the secret to be unreadable');
}

/** Flips one bit of a base64url part of the sealed text. */
function flip(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[bytes.length >> 1]! ^= 1;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('secret box (AES-256-GCM, HKDF-SHA256 key per purpose)', () => {
  it('opens what it sealed, with and without associated data', () => {
    for (const text of ['', 'short', 'ünïcødé ✓ — 🔑', 'x'.repeat(100_000)]) {
      expect(box.open(box.seal(text))).toBe(text);
      expect(box.open(box.seal(text, 'row-1'), 'row-1')).toBe(text);
    }
  });

  it('writes v1.<key id>.<iv>.<ciphertext+tag> in base64url, with a fresh 96-bit IV each time', () => {
    const one = box.seal('same');
    const two = box.seal('same');
    expect(one).toMatch(/^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(one).not.toBe(two);
    expect(one.split('.')[1]).toBe(two.split('.')[1]);
    expect(Buffer.from(one.split('.')[3]!, 'base64url')).toHaveLength('same'.length + 16);
    expect(one).not.toContain('same');
  });

  it('refuses a secret sealed under another master secret, naming the variable to check', () => {
    const other = createSecretBox(
      { ...master, value: `${master.value}-but-different` },
      'gatehouse/signing-keys',
    );
    const error = unreadable(() => other.open(box.seal('secret')));
    expect(error.message).toContain('different key');
    expect(error.message).toContain('MCP_AZURE_JWT_SIGNING_KEY');
    expect(error.detail).toEqual({ purpose: 'gatehouse/signing-keys', source: 'MCP_AZURE_JWT_SIGNING_KEY' });
  });

  it('derives a different key for each purpose', () => {
    const tokens = createSecretBox(master, 'gatehouse/entra-tokens');
    expect(unreadable(() => tokens.open(box.seal('secret'))).message).toContain('different key');
  });

  it('refuses a tampered ciphertext, tag or IV', () => {
    const sealed = box.seal('do not touch', 'row-1');
    for (const part of [2, 3]) {
      expect(unreadable(() => box.open(flip(sealed, part), 'row-1')).message).toContain('altered');
    }
    const body = sealed.split('.');
    body[3] = body[3]!.slice(0, -4);
    unreadable(() => box.open(body.join('.'), 'row-1'));
    for (const garbage of [
      '',
      'v1',
      'v2.a.b.c',
      'v1.a.b',
      'not base64 at all',
      sealed.replace(/^v1/, 'v9'),
    ]) {
      expect(unreadable(() => box.open(garbage)).message).toContain('cannot be decrypted');
    }
  });

  it('refuses a ciphertext moved to another row (associated data swapped, added or dropped)', () => {
    const sealed = box.seal('row one’s secret', 'row-1');
    expect(unreadable(() => box.open(sealed, 'row-2')).message).toContain('belongs to another record');
    unreadable(() => box.open(sealed));
    unreadable(() => box.open(box.seal('unbound'), 'row-1'));
  });
});
