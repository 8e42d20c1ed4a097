import { type Selectable, sql } from 'kysely';
import { GatehouseError } from '../../errors/index.js';
import type { UpstreamServerInput, UpstreamServerRecord, UpstreamServerRepository } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { epochMs, type UpstreamServersTable } from './tables.js';

/** The columns an update replaces. */
type ReplacedColumns = Pick<Selectable<UpstreamServersTable>, 'definition' | 'sealed_secrets' | 'updated_by'>;

export function createUpstreamServerRepository(backend: SqlBackend): UpstreamServerRepository {
  const { db } = backend;
  // Byte order whatever the database's default collation: PostgreSQL's may sort by locale
  // (`en_US`: 'alpha' before 'Zeta'); its "C" collation, like SQLite's default BINARY, compares bytes.
  const byName = backend.kind === 'postgres' ? sql`name collate "C"` : sql`name`;
  return {
    list: () =>
      attempt(backend, async () => {
        const rows = await db.selectFrom('upstream_servers').selectAll().orderBy(byName).execute();
        return rows.map(toUpstreamServerRecord);
      }),

    find: async (name) => {
      assertName(name);
      const row = await attempt(backend, () =>
        db.selectFrom('upstream_servers').selectAll().where('name', '=', name).executeTakeFirst(),
      );
      return row === undefined ? undefined : toUpstreamServerRecord(row);
    },

    create: async (input) => {
      const columns = toColumns(input);
      const now = Date.now();
      // DO NOTHING returns no row on a taken name; the primary key decides between concurrent creates.
      const stored = await attempt(backend, () =>
        db
          .insertInto('upstream_servers')
          .values({ name: input.name, ...columns, created_at: now, updated_at: now, revision: 1 })
          .onConflict((conflict) => conflict.column('name').doNothing())
          .returningAll()
          .executeTakeFirst(),
      );
      return stored === undefined ? undefined : toUpstreamServerRecord(stored);
    },

    update: async (input, expectedRevision) => {
      const columns = toColumns(input);
      if (
        expectedRevision !== undefined &&
        !(Number.isSafeInteger(expectedRevision) && expectedRevision >= 1)
      ) {
        throw invalid(
          `expectedRevision must be a revision read from the store (an integer from 1), or left out; got ${typeof expectedRevision === 'number' ? expectedRevision : describe(expectedRevision)}.`,
        );
      }
      // One statement: the revision check and the bump cannot be split by another update.
      let query = db
        .updateTable('upstream_servers')
        .set({ ...columns, updated_at: Date.now(), revision: sql<number>`revision + 1` })
        .where('name', '=', input.name);
      if (expectedRevision !== undefined) query = query.where('revision', '=', expectedRevision);
      const stored = await attempt(backend, () => query.returningAll().executeTakeFirst());
      return stored === undefined ? undefined : toUpstreamServerRecord(stored);
    },

    delete: async (name) => {
      assertName(name);
      const result = await attempt(backend, () =>
        db.deleteFrom('upstream_servers').where('name', '=', name).executeTakeFirst(),
      );
      return result.numDeletedRows > 0n;
    },
  };
}

/** Validates the input and maps what an update replaces to its stored form. */
function toColumns(input: UpstreamServerInput): ReplacedColumns {
  if (typeof input !== 'object' || input === null) {
    throw invalid('An upstream server must be an object with name, definition, sealedSecrets and updatedBy.');
  }
  const { name, definition, sealedSecrets, updatedBy } = input;
  assertName(name);
  if (!isPlainObject(definition)) {
    throw invalid(
      `An upstream server’s definition must be a plain JSON object (the mcpServers entry without secret values); got ${describe(definition)}.`,
    );
  }
  let json: string;
  try {
    json = JSON.stringify(definition);
  } catch (error) {
    throw invalid('An upstream server’s definition must be JSON-serialisable (no cycles, no BigInt).', error);
  }
  assertStringOrNull('sealedSecrets', sealedSecrets, ' (the secret box’s sealed text, or null for none)');
  assertStringOrNull('updatedBy', updatedBy, ' (a user id, or null when unknown)');
  return { definition: json, sealed_secrets: sealedSecrets, updated_by: updatedBy };
}

function assertName(name: unknown): asserts name is string {
  if (typeof name === 'string' && name !== '') return;
  throw invalid(`An upstream server’s name must be a non-empty string; got ${describe(name)}.`);
}

function assertStringOrNull(field: string, value: unknown, hint: string): asserts value is string | null {
  if (value === null || (typeof value === 'string' && value !== '')) return;
  throw invalid(
    `An upstream server’s ${field} must be a non-empty string or null${hint}; got ${describe(value)}.`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  if (typeof value === 'object')
    return isPlainObject(value) ? 'an object' : `a ${value.constructor?.name ?? 'non-plain object'}`;
  return typeof value;
}

function invalid(message: string, cause?: unknown): GatehouseError {
  return new GatehouseError('GH_STORAGE_INVALID_ARGUMENT', message, { cause });
}

function toUpstreamServerRecord(row: Selectable<UpstreamServersTable>): UpstreamServerRecord {
  return {
    name: row.name,
    definition: JSON.parse(row.definition) as Record<string, unknown>,
    sealedSecrets: row.sealed_secrets,
    updatedBy: row.updated_by,
    createdAt: new Date(epochMs(row.created_at)),
    updatedAt: new Date(epochMs(row.updated_at)),
    revision: Number(row.revision),
  };
}
