import type { Kysely } from 'kysely';
import type { StorageUnavailableError } from '../../errors/index.js';
import type { DurableBackend } from '../contract.js';
import type { Tables } from './tables.js';

/** What a SQL database supplies so the shared kysely implementation can run on it. */
export interface SqlBackend {
  readonly kind: DurableBackend;
  readonly db: Kysely<Tables>;
  /**
   * Opens the migration transaction on `conn` and takes the lock that keeps other migrations of
   * the same database out until it ends. Returns the schema that holds the migration bookkeeping
   * tables, or undefined for a database without schemas.
   */
  beginMigration(conn: Kysely<Tables>): Promise<string | undefined>;
  /** Serialises migrations this process runs against the same database, where the lock alone cannot. */
  serializeMigration?<T>(run: () => Promise<T>): Promise<T>;
  /**
   * Runs `statement`, one SQL statement that reads and then writes, so that it neither overlaps
   * another run with the same `key` (on any connection or instance) nor misses what such a run
   * committed: the building block for check-then-insert operations such as
   * memberships.addIfNone.
   */
  exclusively<T>(key: string, statement: (db: Kysely<Tables>) => Promise<T>): Promise<T>;
  /** The error to raise when `error` means the database could not be reached; undefined otherwise. */
  unavailable(error: unknown): StorageUnavailableError | undefined;
  isForeignKeyViolation(error: unknown): boolean;
}

/** Runs one storage operation, turning a failure to reach the database into StorageUnavailableError. */
export async function attempt<T>(backend: SqlBackend, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw backend.unavailable(error) ?? error;
  }
}
