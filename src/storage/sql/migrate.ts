import { type Migration, Migrator, sql } from 'kysely';
import { GatehouseError } from '../../errors/index.js';
import type { MigrationReport } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';

export const MIGRATION_TABLE = 'gatehouse_migration';
export const MIGRATION_LOCK_TABLE = 'gatehouse_migration_lock';

/**
 * Applies every pending migration in one transaction that the backend opens under its migration
 * lock, bookkeeping tables included: either all of them are kept or none is, and a concurrent
 * caller waits, then finds nothing left to do.
 */
export async function migrateToLatest(
  backend: SqlBackend,
  migrations: Readonly<Record<string, Migration>>,
): Promise<MigrationReport> {
  const serialize = backend.serializeMigration?.bind(backend) ?? ((run) => run());
  const run = () =>
    backend.db.connection().execute(async (conn) => {
      let pending: string | undefined;
      try {
        const schema = await backend.beginMigration(conn);
        const migrator = new Migrator({
          db: conn,
          provider: { getMigrations: async () => migrations },
          migrationTableName: MIGRATION_TABLE,
          migrationLockTableName: MIGRATION_LOCK_TABLE,
          migrationTableSchema: schema,
          // The transaction is already open, so the bookkeeping tables are created inside it too.
          disableTransactions: true,
        });
        const { error, results = [] } = await migrator.migrateToLatest();
        pending = results.find((result) => result.status === 'Error')?.migrationName;
        if (error !== undefined) throw error;
        await sql`commit`.execute(conn);
        const applied = results.map((result) => result.migrationName);
        const names = Object.keys(migrations).sort();
        return { applied, current: names[names.length - 1] };
      } catch (error) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw backend.unavailable(error) ?? migrationFailed(error, pending);
      }
    });
  // Reaching the database at all can fail before the transaction starts.
  return attempt(backend, () => serialize(run));
}

function migrationFailed(error: unknown, migration: string | undefined): GatehouseError {
  const reason = error instanceof Error ? error.message : String(error);
  const which = migration === undefined ? 'Storage migration' : `Storage migration ${migration}`;
  return new GatehouseError(
    'GH_STORAGE_MIGRATION_FAILED',
    `${which} failed and was rolled back, so the database is as it was: ${reason}. ` +
      'Fix the cause, then start Gatehouse again or run `gatehouse migrate`.',
    { cause: error, detail: { migration } },
  );
}
