import type { SqliteDatabase, SqliteStatement } from 'kysely';
import { sqliteResultCodeName } from './result-codes.js';

/**
 * Node's built-in SQLite (`node:sqlite`, DatabaseSync) behind the interface kysely's SqliteDialect
 * drives, which better-sqlite3 implements natively. Only what Gatehouse uses is declared here: the
 * Node 20 type definitions the project builds with do not know the module.
 */
interface NodeSqliteModule {
  DatabaseSync: new (path: string) => DatabaseSync;
  StatementSync: { prototype: object };
}

interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): StatementSync;
  close(): void;
}

interface StatementSync {
  all(...parameters: unknown[]): unknown[];
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
  columns(): unknown[];
}

/**
 * node:sqlite when this runtime has it without a flag (Node 22.13+, 23.4+, 24) and its statements
 * can tell whether they return rows (`columns()`, Node 22.16+, 23.11+), which kysely needs to
 * choose between reading rows and counting changes; otherwise undefined.
 */
export function loadNodeSqlite(): NodeSqliteModule | undefined {
  // getBuiltinModule answers undefined for a module this runtime lacks or keeps behind a flag.
  const module = process.getBuiltinModule('node:sqlite') as NodeSqliteModule | undefined;
  if (module === undefined || !('columns' in module.StatementSync.prototype)) return undefined;
  return module;
}

/** An error from node:sqlite, named as better-sqlite3 names it: `code` is `SQLITE_…`. */
export class NodeSqliteError extends Error {
  readonly code: string;
  readonly errcode: number;

  constructor(cause: Error & { errcode: number }) {
    super(cause.message, { cause });
    this.name = 'SqliteError';
    this.errcode = cause.errcode;
    this.code = sqliteResultCodeName(cause.errcode);
  }
}

function translated<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    const errcode = (error as { errcode?: unknown }).errcode;
    if (error instanceof Error && typeof errcode === 'number')
      throw new NodeSqliteError(error as Error & { errcode: number });
    throw error;
  }
}

/** Opens (creating it if missing) a database file, or ':memory:'. Errors carry `SQLITE_…` codes. */
export function openNodeSqlite(module: NodeSqliteModule, file: string): NodeSqliteDatabase {
  return new NodeSqliteDatabase(translated(() => new module.DatabaseSync(file)));
}

export class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Runs statements that return nothing Gatehouse reads (pragmas that set a value). */
  exec(sql: string): void {
    translated(() => this.#db.exec(sql));
  }

  close(): void {
    this.#db.close();
  }

  prepare(sql: string): SqliteStatement {
    const statement = translated(() => this.#db.prepare(sql));
    return {
      // A statement reads rows when it has result columns: a SELECT, a pragma that answers, or a
      // write with RETURNING; better-sqlite3's `reader` means the same.
      reader: statement.columns().length > 0,
      all: (parameters) => translated(() => statement.all(...parameters)),
      run: (parameters) => translated(() => statement.run(...parameters)),
      iterate: (parameters) => translatedRows(translated(() => statement.iterate(...parameters))),
    };
  }
}

function* translatedRows(rows: IterableIterator<unknown>): IterableIterator<unknown> {
  for (;;) {
    const next = translated(() => rows.next());
    if (next.done) return;
    yield next.value;
  }
}
