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
  readonly kind: CallerKind;
  /** Token scopes. Meaningful only when scopesApply is true. */
  readonly scopes: readonly string[];
  /**
   * False for callers whose authority comes from roles rather than delegated scopes: app-only
   * Entra tokens (no scp), the path token's service identity, and development mode.
   */
  readonly scopesApply: boolean;
  readonly roles: readonly string[];
  /** The client application (azp/appid, or the OAuth client of a Gatehouse token). */
  readonly clientAppId: string | null;
  /** Epoch seconds when the credential expires; null when it does not. */
  readonly expiresAt: number | null;
}

export type CallerKind = 'development' | 'entra-user' | 'entra-app' | 'gatehouse' | 'service-token';

/** The fixed user every request acts as in development mode (authentication off). */
export const DEVELOPMENT_USER = {
  tenantId: '00000000-0000-0000-0000-000000000000',
  objectId: '00000000-0000-0000-0000-00000000d3e0',
  displayName: 'Development User',
  preferredUsername: 'dev@localhost',
} as const;

/** The identity the shared path token (MCP_SERVER_TOKEN) acts as. */
export const SERVICE_TOKEN_USER = {
  tenantId: 'gatehouse',
  objectId: 'mcp-server-token',
  displayName: 'MCP server token',
  preferredUsername: null,
} as const;

/** Where a Caller keeps the Entra token it presented: not enumerable, so never logged or serialized. */
const ENTRA_TOKEN = Symbol('entra token');

/**
 * The Entra user token the caller presented (an Entra token sent straight to Gatehouse, e.g. by
 * VS Code): the assertion for on-behalf-of. Undefined for every other kind of caller.
 */
export function entraTokenOf(caller: Caller): string | undefined {
  return (caller as unknown as Record<symbol, string | undefined>)[ENTRA_TOKEN];
}

/** A frozen Caller for a stored user and what their credential says. */
export function callerFromUser(
  user: {
    id: string;
    tenantId: string;
    objectId: string;
    displayName: string | null;
    preferredUsername: string | null;
  },
  credential: Pick<Caller, 'kind' | 'scopes' | 'scopesApply' | 'roles' | 'clientAppId' | 'expiresAt'> & {
    entraToken?: string;
  },
): Caller {
  const caller = {
    userId: user.id,
    tenantId: user.tenantId,
    objectId: user.objectId,
    displayName: user.displayName,
    preferredUsername: user.preferredUsername,
    kind: credential.kind,
    scopes: Object.freeze([...credential.scopes]),
    scopesApply: credential.scopesApply,
    roles: Object.freeze([...credential.roles]),
    clientAppId: credential.clientAppId,
    expiresAt: credential.expiresAt,
  };
  if (credential.entraToken !== undefined)
    Object.defineProperty(caller, ENTRA_TOKEN, { value: credential.entraToken, enumerable: false });
  return Object.freeze(caller);
}
