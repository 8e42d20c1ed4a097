import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement, sql } from 'kysely';
import { StorageUnavailableError } from '../../errors/index.js';
import type { DurableStore } from '../contract.js';
import type { SqlBackend } from '../sql/backend.js';
import { errorCode } from '../sql/connection-failure.js';
import { createSqlDurableStore } from '../sql/durable-store.js';
import type { Tables } from '../sql/tables.js';
import {
  defaultSqliteDriver,
  openSqliteDriver,
  SqliteDriverMissingError,
  type SqliteDriverName,
} from './driver.js';

export { defaultSqliteDriver, type SqliteDriverName } from './driver.js';

export interface SqliteStoreOptions {
  /** Path of the database file (its directory is created), or ':memory:'. */
  file: string;
  /** The library that opens it; by default node:sqlite where the runtime has it, else better-sqlite3. */
  driver?: SqliteDriverName;
}

/** How long a statement waits for another process's write lock before giving up. */
const BUSY_TIMEOUT_MS = 5_000;
/** Prepared statements kept per database: every query shape Gatehouse issues fits many times over. */
const STATEMENT_CACHE_SIZE = 500;

export function createSqliteStore(options: SqliteStoreOptions): DurableStore {
  return createSqlDurableStore(sqliteBackend(options));
}

/**
 * Migrations of one file by several stores in this process take turns here: both SQLite drivers
 * are synchronous, so a second connection waiting on the file lock would block the very thread that
 * has to release it.
 */
const migrationQueues = new Map<string, Promise<unknown>>();

export function sqliteBackend(options: SqliteStoreOptions): SqlBackend {
  const inMemory = options.file === ':memory:';
  const file = inMemory ? options.file : resolve(options.file);
  const driver = options.driver ?? defaultSqliteDriver();
  const db = new Kysely<Tables>({
    // Opened on first use, so creating a store never throws and a failure reaches the caller.
    dialect: new SqliteDialect({ database: () => openDatabase(driver, file, inMemory) }),
  });

  return {
    kind: 'sqlite',
    db,
    async beginMigration(conn) {
      // IMMEDIATE takes the write lock now, before anything is read, so two processes cannot
      // both decide that the same migration is pending.
      await sql`begin immediate`.execute(conn);
      return undefined;
    },
    serializeMigration(run) {
      if (inMemory) return run();
      const previous = migrationQueues.get(file) ?? Promise.resolve();
      const next = previous.catch(() => undefined).then(run);
      migrationQueues.set(file, next);
      const forget = () => {
        if (migrationQueues.get(file) === next) migrationQueues.delete(file);
      };
      next.then(forget, forget);
      return next;
    },
    // One write statement already is exclusive: SQLite takes the database's write lock before the
    // statement reads anything and keeps it until the statement commits. A transaction held across
    // awaits would instead risk blocking this thread while another connection of it holds the lock.
    exclusively: (_key, statement) => statement(db),
    unavailable: (error) => sqliteUnavailable(error, file),
    isForeignKeyViolation: (error) => errorCode(error) === 'SQLITE_CONSTRAINT_FOREIGNKEY',
  };
}

async function openDatabase(
  driver: SqliteDriverName,
  file: string,
  inMemory: boolean,
): Promise<SqliteDatabase> {
  try {
    if (!inMemory) mkdirSync(dirname(file), { recursive: true });
    const { database, exec } = await openSqliteDriver(driver, file);
    try {
      // The busy timeout first: switching to WAL may have to wait for another process's lock.
      exec(`pragma busy_timeout = ${BUSY_TIMEOUT_MS}`);
      exec('pragma journal_mode = WAL');
      exec('pragma synchronous = NORMAL');
      exec('pragma foreign_keys = ON');
    } catch (error) {
      database.close();
      throw error;
    }
    return withStatementCache(database, STATEMENT_CACHE_SIZE);
  } catch (error) {
    throw sqliteUnavailable(error, file) ?? error;
  }
}

/**
 * Keeps each prepared statement by its text and hands it out again: kysely prepares every query
 * it runs, and compiling the SQL cost more than running it on the tool-call path (the audit
 * insert, the lookups). Reuse is safe because both drivers run a statement to completion
 * synchronously (Gatehouse streams no query), and SQLite re-prepares a statement by itself when
 * a migration changes the schema under it. The oldest entry goes when the cache is full.
 */
function withStatementCache(database: SqliteDatabase, size: number): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = statements.get(text);
      if (statement === undefined) {
        statement = database.prepare(text);
        if (statements.size >= size) statements.delete(statements.keys().next().value as string);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

const WHERE = '(GATEHOUSE_DATA_DIR)';

function sqliteUnavailable(error: unknown, file: string): StorageUnavailableError | undefined {
  if (error instanceof StorageUnavailableError) return error;
  if (error instanceof SqliteDriverMissingError) return new StorageUnavailableError(error.message, error);
  const code = errorCode(error) ?? '';
  const reason = error instanceof Error ? error.message : String(error);
  if (/^(ENOTDIR|EACCES|EPERM|EROFS|ENOENT|EEXIST|SQLITE_CANTOPEN)/.test(code)) {
    return new StorageUnavailableError(
      `SQLite could not open ${file} ${WHERE}: ${reason}. ` +
        'Point GATEHOUSE_DATA_DIR at a directory Gatehouse can create and write.',
      error,
    );
  }
  if (/^(SQLITE_BUSY|SQLITE_LOCKED)/.test(code)) {
    return new StorageUnavailableError(
      `SQLite database ${file} stayed locked by another process for ${BUSY_TIMEOUT_MS} ms ${WHERE}: ` +
        'is another Gatehouse using the same file? Use PostgreSQL (DATABASE_URL) to run several instances.',
      error,
    );
  }
  if (/^(SQLITE_READONLY|SQLITE_IOERR|SQLITE_FULL|SQLITE_NOTADB|SQLITE_CORRUPT)/.test(code)) {
    return new StorageUnavailableError(
      `SQLite cannot use ${file} ${WHERE}: ${reason}. Check that the file is a Gatehouse database ` +
        'on a writable disk with free space.',
      error,
    );
  }
  return undefined;
}
