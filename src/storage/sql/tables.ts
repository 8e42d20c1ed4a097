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

export interface KvTable {
  key: string;
  value: string;
  expires_at: EpochMsColumn;
}

export interface Tables {
  users: UsersTable;
  notes: NotesTable;
  kv: KvTable;
}

export function epochMs(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}
