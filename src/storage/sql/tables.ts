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

export interface KvTable {
  key: string;
  value: string;
  expires_at: EpochMsColumn;
}

export interface Tables {
  users: UsersTable;
  notes: NotesTable;
  memberships: MembershipsTable;
  kv: KvTable;
}

export function epochMs(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}
