import { randomInt } from 'node:crypto';

/** Entra picks access-token lifetimes at random between 60 and 90 minutes. */
export function accessTokenLifetimeSeconds(): number {
  return randomInt(3600, 5401);
}

export const ID_TOKEN_LIFETIME_SECONDS = 3600;
export const AUTHORIZATION_CODE_LIFETIME_MS = 10 * 60_000;
export const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 3600_000;
/** Refresh tokens issued to `spa` redirect URIs live 24 hours and later ones inherit that deadline. */
export const SPA_REFRESH_TOKEN_LIFETIME_MS = 24 * 3600_000;
export const SIGN_IN_PAGE_LIFETIME_MS = 30 * 60_000;
