import type { ColumnType } from 'kysely';

/**
 * Epoch milliseconds. Written as a number; read back as a number from SQLite and as a string
 * from PostgreSQL (bigint), so every read goes through `epochMs()` instead of changing pg's
 * process-wide type parsers.
 */
export type EpochMsColumn = ColumnType<number | string, number, number>;

export interface UsersTable {
  id: string;
  tenant_id: string;
  object_id: string;
  display_name: string | null;
  preferred_username: string | null;
  created_at: EpochMsColumn;
  last_seen_at: EpochMsColumn;
}

export interface NotesTable {
  id: string;
  user_id: string;
  text: string;
  created_at: EpochMsColumn;
}

export interface MembershipsTable {
  user_id: string;
  org: string;
  /** NO_TEAM ('') for an organization-wide membership; never NULL. */
  team: string;
  role: string;
  created_at: EpochMsColumn;
}

/**
 * The stored team of an organization-wide membership. Both databases treat NULLs as distinct in a
 * unique constraint, so a NULL team would let one org-wide membership be stored twice; the empty
 * string, which no team may be called, keeps the primary key whole.
 */
export const NO_TEAM = '';

export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** JSON text of the public JWK. */
  public_jwk: string;
  encrypted_private_jwk: string;
  created_at: EpochMsColumn;
  activated_at: EpochMsColumn;
  retire_after: ColumnType<number | string | null, number | null, number | null>;
}

/** A column of epoch milliseconds that may be NULL (read back like EpochMsColumn). */
type NullableEpochMsColumn = ColumnType<number | string | null, number | null, number | null>;

export interface OAuthModelsTable {
  model: string;
  /** The id as given, or for a credential model its SHA-256 (src/storage/oauth-credential-models.ts). */
  id: string;
  /** JSON text of the payload; a credential model's without its `jti`. */
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  consumed_at: NullableEpochMsColumn;
  /** NULL: never expires. */
  expires_at: NullableEpochMsColumn;
}

export interface EntraSessionsTable {
  user_id: string;
  sealed_tokens: string;
  /** JSON arrays of strings. */
  roles: string;
  groups: string;
  updated_at: EpochMsColumn;
}

export interface UpstreamServersTable {
  name: string;
  /** JSON text of the server definition (without secret values). */
  definition: string;
  /** The secret values sealed by the caller; NULL when the server has none. */
  sealed_secrets: string | null;
  updated_by: string | null;
  created_at: EpochMsColumn;
  updated_at: EpochMsColumn;
  /** A bigint, so read back like EpochMsColumn: a number from SQLite, a string from PostgreSQL. */
  revision: ColumnType<number | string, number, number>;
}

/** One audit event (src/ops/audit-log.ts); never updated, deleted only by retention. */
export interface AuditLogTable {
  /** Assigned by the database, increasing with insertion; a bigint, read back like EpochMsColumn. */
  id: ColumnType<number | string, never, never>;
  at: EpochMsColumn;
  type: string;
  user_id: string | null;
  tenant_id: string | null;
  client_id: string | null;
  tool: string | null;
  server: string | null;
  action: string | null;
  outcome: string;
  error_code: string | null;
  /** Milliseconds, fractional; NULL when the event has no duration. */
  duration_ms: number | null;
  request_id: string | null;
  ip: string | null;
  /** JSON text of an object. */
  details: string;
}

export interface ChatsTable {
  id: string;
  user_id: string;
  /** JSON array of { role, content }. */
  messages: string;
  created_at: EpochMsColumn;
  updated_at: EpochMsColumn;
  finished_at: NullableEpochMsColumn;
  revision: ColumnType<number | string, number, number>;
}

export interface KvTable {
  key: string;
  value: string;
  expires_at: EpochMsColumn;
}

export interface Tables {
  users: UsersTable;
  notes: NotesTable;
  memberships: MembershipsTable;
  signing_keys: SigningKeysTable;
  oauth_models: OAuthModelsTable;
  entra_sessions: EntraSessionsTable;
  upstream_servers: UpstreamServersTable;
  chats: ChatsTable;
  kv: KvTable;
  audit_log: AuditLogTable;
}

export function epochMs(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}
