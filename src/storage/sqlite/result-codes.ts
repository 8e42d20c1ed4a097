/**
 * SQLite's result code names (https://sqlite.org/rescode.html). better-sqlite3 reports an error by
 * its name in `code` (`SQLITE_CONSTRAINT_FOREIGNKEY`); node:sqlite reports the number in `errcode`
 * (787). Gatehouse reads the name, so errors from node:sqlite are given it through this table.
 */

const PRIMARY: Record<number, string> = {
  0: 'OK',
  1: 'ERROR',
  2: 'INTERNAL',
  3: 'PERM',
  4: 'ABORT',
  5: 'BUSY',
  6: 'LOCKED',
  7: 'NOMEM',
  8: 'READONLY',
  9: 'INTERRUPT',
  10: 'IOERR',
  11: 'CORRUPT',
  12: 'NOTFOUND',
  13: 'FULL',
  14: 'CANTOPEN',
  15: 'PROTOCOL',
  16: 'EMPTY',
  17: 'SCHEMA',
  18: 'TOOBIG',
  19: 'CONSTRAINT',
  20: 'MISMATCH',
  21: 'MISUSE',
  22: 'NOLFS',
  23: 'AUTH',
  24: 'FORMAT',
  25: 'RANGE',
  26: 'NOTADB',
  27: 'NOTICE',
  28: 'WARNING',
  100: 'ROW',
  101: 'DONE',
};

/**
 * Extended codes are `primary | (n << 8)`; each list gives the suffixes for n = 1, 2, … in order.
 * An extended code missing here (a newer SQLite's) still gets its primary name, which is what
 * Gatehouse matches on (`SQLITE_BUSY…`, `SQLITE_IOERR…`) apart from the constraint kinds.
 */
const EXTENDED: Record<number, readonly string[]> = {
  0: ['LOAD_PERMANENTLY', 'SYMLINK'],
  1: ['MISSING_COLLSEQ', 'RETRY', 'SNAPSHOT', 'RESERVESIZE', 'KEY', 'UNABLE'],
  4: ['', 'ROLLBACK'],
  5: ['RECOVERY', 'SNAPSHOT', 'TIMEOUT'],
  6: ['SHAREDCACHE', 'VTAB'],
  8: ['RECOVERY', 'CANTLOCK', 'ROLLBACK', 'DBMOVED', 'CANTINIT', 'DIRECTORY'],
  10: [
    'READ',
    'SHORT_READ',
    'WRITE',
    'FSYNC',
    'DIR_FSYNC',
    'TRUNCATE',
    'FSTAT',
    'UNLOCK',
    'RDLOCK',
    'DELETE',
    'BLOCKED',
    'NOMEM',
    'ACCESS',
    'CHECKRESERVEDLOCK',
    'LOCK',
    'CLOSE',
    'DIR_CLOSE',
    'SHMOPEN',
    'SHMSIZE',
    'SHMLOCK',
    'SHMMAP',
    'SEEK',
    'DELETE_NOENT',
    'MMAP',
    'GETTEMPPATH',
    'CONVPATH',
    'VNODE',
    'AUTH',
    'BEGIN_ATOMIC',
    'COMMIT_ATOMIC',
    'ROLLBACK_ATOMIC',
    'DATA',
    'CORRUPTFS',
    'IN_PAGE',
    'BADKEY',
    'CODEC',
  ],
  11: ['VTAB', 'SEQUENCE', 'INDEX'],
  14: ['NOTEMPDIR', 'ISDIR', 'FULLPATH', 'CONVPATH', 'DIRTYWAL', 'SYMLINK'],
  19: [
    'CHECK',
    'COMMITHOOK',
    'FOREIGNKEY',
    'FUNCTION',
    'NOTNULL',
    'PRIMARYKEY',
    'TRIGGER',
    'UNIQUE',
    'VTAB',
    'ROWID',
    'PINNED',
    'DATATYPE',
  ],
  23: ['USER'],
  27: ['RECOVER_WAL', 'RECOVER_ROLLBACK', 'RBU'],
  28: ['AUTOINDEX'],
};

/** `SQLITE_…` for a (primary or extended) result code, e.g. 787 → `SQLITE_CONSTRAINT_FOREIGNKEY`. */
export function sqliteResultCodeName(code: number): string {
  const primary = code & 0xff;
  const base = PRIMARY[code] ?? PRIMARY[primary] ?? 'ERROR';
  const suffix = code > 0xff && code < 0x10000 ? EXTENDED[primary]?.[(code >> 8) - 1] : undefined;
  return suffix ? `SQLITE_${base}_${suffix}` : `SQLITE_${base}`;
}
