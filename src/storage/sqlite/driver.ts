import type { SqliteDatabase } from 'kysely';
import { loadNodeSqlite, openNodeSqlite } from './node-sqlite.js';

/**
 * The library that reads and writes the SQLite file. Both are synchronous, embed SQLite and write
 * the same file format, so a data directory moves between runtimes unchanged.
 * - `node:sqlite`: built into Node.js, nothing to compile; the default wherever it is usable.
 * - `better-sqlite3`: a native module that `npm ci` compiles for the Node.js running it; the
 *   default on Node 20, which has no node:sqlite.
 * docs/storage.md ("SQLite on each Node.js version") says why.
 */
export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

/** The driver this runtime uses unless told otherwise. */
export function defaultSqliteDriver(): SqliteDriverName {
  return loadNodeSqlite() !== undefined ? 'node:sqlite' : 'better-sqlite3';
}

export interface OpenedSqlite {
  database: SqliteDatabase;
  /** Runs a statement whose answer is not read (a pragma that sets a value). */
  exec(sql: string): void;
}

/** Opens (creating it if missing) a database file, or ':memory:', with the given driver. */
export async function openSqliteDriver(driver: SqliteDriverName, file: string): Promise<OpenedSqlite> {
  if (driver === 'node:sqlite') {
    const module = loadNodeSqlite();
    if (module === undefined) throw new SqliteDriverMissingError(driver, NODE_SQLITE_MISSING);
    const database = openNodeSqlite(module, file);
    return { database, exec: (sql) => database.exec(sql) };
  }
  let Database: typeof import('better-sqlite3');
  try {
    Database = (await import('better-sqlite3')).default;
  } catch (error) {
    throw new SqliteDriverMissingError(driver, BETTER_SQLITE3_MISSING, error);
  }
  let database: import('better-sqlite3').Database;
  try {
    database = new Database(file);
  } catch (error) {
    // The addon loads on first use: a build for another Node.js fails here, not at the import.
    if (isAddonLoadFailure(error)) throw new SqliteDriverMissingError(driver, BETTER_SQLITE3_MISSING, error);
    throw error;
  }
  return { database, exec: (sql) => database.exec(sql) };
}

const NODE_SQLITE_MISSING =
  'this Node.js has no usable node:sqlite (it needs 22.16+ or 24; Node 20 uses better-sqlite3)';

const BETTER_SQLITE3_MISSING =
  "better-sqlite3's native module is missing or was built for another Node.js version: run " +
  "'npm rebuild better-sqlite3' (or 'npm ci') with this Node.js, or run Gatehouse on Node.js 22.16+ " +
  'or 24, which use their built-in node:sqlite';

/** The chosen SQLite library cannot be used on this runtime. */
export class SqliteDriverMissingError extends Error {
  readonly code = 'SQLITE_DRIVER_MISSING';

  constructor(
    readonly driver: SqliteDriverName,
    reason: string,
    cause?: unknown,
  ) {
    const detail = cause instanceof Error ? ` (${cause.message.replace(/\s+/g, ' ').trim()})` : '';
    super(`SQLite driver ${driver} cannot be used on Node.js ${process.versions.node}: ${reason}${detail}.`, {
      cause,
    });
    this.name = 'SqliteDriverMissingError';
  }
}

function isAddonLoadFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  return (
    code === 'ERR_DLOPEN_FAILED' ||
    code === 'MODULE_NOT_FOUND' ||
    /NODE_MODULE_VERSION|Could not locate the bindings file/.test(message)
  );
}
