import { createHash, randomBytes, randomUUID } from 'node:crypto';

export function base64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Codes and refresh tokens are kept only as hashes, so a dump of the store cannot replay them. */
export function storageKey(secret: string): string {
  return sha256(secret).toString('base64url');
}

export function randomString(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function guid(): string {
  return randomUUID();
}

/** Entra's timestamp format in error bodies: `2016-01-09 02:02:12Z`. */
export function entraTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
