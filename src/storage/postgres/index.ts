import { createHash } from 'node:crypto';
import { CompiledQuery, Kysely, PostgresAdapter, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { StorageUnavailableError } from '../../errors/index.js';
import type { DurableStore } from '../contract.js';
import type { SqlBackend } from '../sql/backend.js';
import {
  addressOf,
  describeNetworkFailure,
  errorCode,
  type ServerEndpoint,
} from '../sql/connection-failure.js';
import { createSqlDurableStore } from '../sql/durable-store.js';
import type { Tables } from '../sql/tables.js';

export interface PostgresStoreOptions {
  /** A postgres:// URL (DATABASE_URL). */
  url: string;
  /** Keeps every table in this schema (created on migrate), so instances or runs can share a database. */
  schema?: string;
  /** Pooled connections; 10 when unset. */
  poolSize?: number;
}

const CONNECT_TIMEOUT_MS = 5_000;
/** Arbitrary, fixed: the advisory lock every Gatehouse migration of a database takes. */
const MIGRATION_LOCK_KEY = 7_215_366_023_911_402n;
/** Arbitrary, fixed: the first half of every key `exclusively()` locks; the second is the key's hash. */
const EXCLUSIVE_LOCK_SPACE = 1_195_919_693;

export function createPostgresStore(options: PostgresStoreOptions): DurableStore {
  return createSqlDurableStore(postgresBackend(options));
}

export function postgresBackend(options: PostgresStoreOptions): SqlBackend {
  const endpoint: ServerEndpoint = {
    product: 'PostgreSQL',
    address: addressOf(options.url, 5432),
    variable: 'DATABASE_URL',
  };
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // An idle connection dropped by the server is discarded by the pool; without a listener the
  // 'error' event would end the process. The next query reports the outage if it persists.
  pool.on('error', () => undefined);

  const { schema } = options;
  const db = new Kysely<Tables>({
    dialect: new MigrationLockedPostgresDialect({
      pool,
      onCreateConnection:
        schema === undefined
          ? undefined
          : (connection) =>
              connection.executeQuery(CompiledQuery.raw(`set search_path to ${quoteIdent(schema)}`)).then(),
    }),
  });

  return {
    kind: 'postgres',
    db,
    async beginMigration(conn) {
      await sql`begin`.execute(conn);
      // Held until commit or rollback: a second instance migrating at the same time waits here,
      // then finds the migrations already recorded.
      await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn);
      if (schema !== undefined) {
        await sql`create schema if not exists ${sql.id(schema)}`.execute(conn);
        return schema;
      }
      const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(conn);
      return rows[0]?.schema ?? undefined;
    },
    exclusively: (key, statement) => {
      const lock = sql`select pg_advisory_xact_lock(${sql.lit(EXCLUSIVE_LOCK_SPACE)}, ${lockHash(key)}::integer)`;
      // READ COMMITTED whatever the server's default: each statement then takes a new snapshot, so
      // the statement run after the lock sees what the previous holder committed before releasing it.
      return db
        .transaction()
        .setIsolationLevel('read committed')
        .execute(async (trx) => {
          await lock.execute(trx);
          return statement(trx);
        });
    },
    unavailable: (error) => postgresUnavailable(error, endpoint, options.url),
    isForeignKeyViolation: (error) => errorCode(error) === '23503',
  };
}

/**
 * kysely's own migration lock would be released with a statement after a failed migration, which
 * an aborted transaction refuses, hiding the real error. beginMigration's transaction-scoped lock
 * does the same job and ends with the transaction.
 */
class MigrationLockedPostgresDialect extends PostgresDialect {
  override createAdapter() {
    return new (class extends PostgresAdapter {
      override async acquireMigrationLock(): Promise<void> {}
      override async releaseMigrationLock(): Promise<void> {}
    })();
  }
}

/** A 32-bit hash of `key`: two keys that collide only wait for each other, never share a result. */
function lockHash(key: string): number {
  return createHash('sha256').update(key).digest().readInt32BE(0);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function postgresUnavailable(
  error: unknown,
  at: ServerEndpoint,
  url: string,
): StorageUnavailableError | undefined {
  if (error instanceof StorageUnavailableError) return error;
  const message = postgresFailureMessage(error, at, url);
  return message === undefined ? undefined : new StorageUnavailableError(message, error);
}

function postgresFailureMessage(error: unknown, at: ServerEndpoint, url: string): string | undefined {
  const network = describeNetworkFailure(error, at);
  if (network !== undefined) return network;
  const code = errorCode(error) ?? '';
  const text = error instanceof Error ? error.message : '';
  const where = `PostgreSQL at ${at.address}`;
  if (code === '28P01' || code === '28000') {
    return `${where} rejected the credentials of user ${userOf(url)} (DATABASE_URL): check the user name and password.`;
  }
  if (code === '3D000') {
    return `${where} has no such database (DATABASE_URL): create it or correct the database name in the URL.`;
  }
  if (code === '53300') {
    return `${where} has no connection slots left (DATABASE_URL): raise max_connections or lower the pool size.`;
  }
  if (code.startsWith('08') || code.startsWith('57P')) {
    return `${where} is shutting down or dropped the connection (DATABASE_URL): is the server restarting?`;
  }
  if (/timeout/i.test(text)) {
    return `${where} did not answer in time (DATABASE_URL): check the host, the port and any firewall.`;
  }
  if (/Connection terminated/i.test(text)) {
    return `${where} closed the connection (DATABASE_URL): is the server restarting or out of connections?`;
  }
  return undefined;
}

function userOf(url: string): string {
  try {
    return `'${decodeURIComponent(new URL(url).username) || 'default'}'`;
  } catch {
    return 'from the URL';
  }
}
