/**
 * Who is making a request, as every part of Gatehouse sees it. A user is Entra `tid` + `oid`;
 * the display fields are for people to read and never feed a decision.
 */
export interface Caller {
  /** Gatehouse's own user id (storage). */
  readonly userId: string;
  readonly tenantId: string;
  readonly objectId: string;
  readonly displayName: string | null;
  readonly preferredUsername: string | null;
  /** How the caller was authenticated. */
  readonly kind: 'development';
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
}

/** The fixed user every request acts as in development mode (authentication off). */
export const DEVELOPMENT_USER = {
  tenantId: '00000000-0000-0000-0000-000000000000',
  objectId: '00000000-0000-0000-0000-00000000d3e0',
  displayName: 'Development User',
  preferredUsername: 'dev@localhost',
} as const;
