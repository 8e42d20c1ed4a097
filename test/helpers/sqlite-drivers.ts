import { createRequire } from 'node:module';
import type { SqliteDriverName } from '../../src/storage/sqlite/index.js';
import { loadNodeSqlite } from '../../src/storage/sqlite/node-sqlite.js';

export const ALL_SQLITE_DRIVERS: readonly SqliteDriverName[] = ['node:sqlite', 'better-sqlite3'];

/**
 * The SQLite drivers the running Node.js can load: node:sqlite on 22.16+ and 24, better-sqlite3
 * where its native module was built for this Node.js (by npm ci on Node 20).
 */
export function loadableSqliteDrivers(): SqliteDriverName[] {
  const drivers: SqliteDriverName[] = [];
  if (loadNodeSqlite() !== undefined) drivers.push('node:sqlite');
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3');
    new Database(':memory:').close();
    drivers.push('better-sqlite3');
  } catch {
    // Built for another Node.js.
  }
  return drivers;
}
