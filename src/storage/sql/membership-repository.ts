import { type Kysely, type Selectable, sql } from 'kysely';
import { GatehouseError } from '../../errors/index.js';
import type { MembershipInput, MembershipRecord, MembershipRepository } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { epochMs, type MembershipsTable, NO_TEAM, type Tables } from './tables.js';

/** The longest org, team or role name accepted, in UTF-16 code units (JavaScript's `length`). */
const MEMBERSHIP_NAME_MAX_LENGTH = 200;

type MembershipRow = Omit<Selectable<MembershipsTable>, 'created_at'>;

export function createMembershipRepository(backend: SqlBackend): MembershipRepository {
  const { db } = backend;

  /** Runs an insert, turning a foreign-key failure (no such user) into GH_STORAGE_INVALID_ARGUMENT. */
  const insert = <T>(userId: string, operation: () => Promise<T>): Promise<T> =>
    attempt(backend, async () => {
      try {
        return await operation();
      } catch (error) {
        if (!backend.isForeignKeyViolation(error)) throw error;
        throw new GatehouseError(
          'GH_STORAGE_INVALID_ARGUMENT',
          `No user has id ${userId}: a membership must belong to a user created with users.upsert.`,
          { cause: error },
        );
      }
    });

  return {
    listForUser: (userId) =>
      attempt(backend, async () => {
        const rows = await db
          .selectFrom('memberships')
          .selectAll()
          .where('user_id', '=', userId)
          // Memberships added in the same millisecond fall back to the key's order, which is stable.
          .orderBy('created_at', 'asc')
          .orderBy('org', 'asc')
          .orderBy('team', 'asc')
          .orderBy('role', 'asc')
          .execute();
        return rows.map(toMembershipRecord);
      }),

    listAll: () =>
      attempt(backend, async () => {
        const rows = await db
          .selectFrom('memberships')
          .selectAll()
          .orderBy('user_id', 'asc')
          .orderBy('created_at', 'asc')
          .orderBy('org', 'asc')
          .orderBy('team', 'asc')
          .orderBy('role', 'asc')
          .execute();
        return rows.map(toMembershipRecord);
      }),

    add: async (input) => {
      const row = toRow(input);
      return insert(row.user_id, async () => {
        const stored = await db
          .insertInto('memberships')
          .values({ ...row, created_at: Date.now() })
          .onConflict((conflict) =>
            conflict
              .columns(['user_id', 'org', 'team', 'role'])
              // A no-op update rather than DO NOTHING, so RETURNING yields the row already there,
              // with its original createdAt, in the same statement.
              .doUpdateSet((eb) => ({ created_at: eb.ref('memberships.created_at') })),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        return toMembershipRecord(stored);
      });
    },

    remove: async (input) => {
      const row = toRow(input);
      const result = await attempt(backend, () =>
        db
          .deleteFrom('memberships')
          .where('user_id', '=', row.user_id)
          .where('org', '=', row.org)
          .where('team', '=', row.team)
          .where('role', '=', row.role)
          .executeTakeFirst(),
      );
      return result.numDeletedRows > 0n;
    },

    addIfNone: async (input) => {
      const row = toRow(input);
      const added = await insert(row.user_id, () =>
        backend.exclusively(`memberships:${row.user_id}`, (conn) => insertIfNone(conn, row, Date.now())),
      );
      return added !== undefined;
    },
  };
}

/**
 * INSERT … SELECT … WHERE NOT EXISTS: the check and the insert are one statement, which
 * `exclusively` keeps apart from every other check for the same user.
 */
function insertIfNone(db: Kysely<Tables>, row: MembershipRow, now: number) {
  return db
    .insertInto('memberships')
    .columns(['user_id', 'org', 'team', 'role', 'created_at'])
    .expression(
      db
        .selectNoFrom([
          sql<string>`cast(${row.user_id} as text)`.as('user_id'),
          sql<string>`cast(${row.org} as text)`.as('org'),
          sql<string>`cast(${row.team} as text)`.as('team'),
          sql<string>`cast(${row.role} as text)`.as('role'),
          // A bare parameter would reach PostgreSQL as text, which a bigint column refuses.
          sql<number>`cast(${now} as bigint)`.as('created_at'),
        ])
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('memberships').select('user_id').where('user_id', '=', row.user_id))),
        ),
    )
    .returning('user_id')
    .executeTakeFirst();
}

/** Validates the input and maps it to its stored form (team null → NO_TEAM). */
function toRow(input: MembershipInput): MembershipRow {
  if (typeof input !== 'object' || input === null) {
    throw invalid('A membership must be an object with userId, org, team and role.');
  }
  const { userId, org, team, role } = input;
  if (typeof userId !== 'string') throw invalid('A membership’s userId must be a string.');
  assertName('org', org);
  if (team !== null) assertName('team', team, ' (null for an organization-wide membership)');
  assertName('role', role);
  return { user_id: userId, org, team: team ?? NO_TEAM, role };
}

function assertName(field: string, value: unknown, hint = ''): asserts value is string {
  if (typeof value === 'string' && value.length > 0 && value.length <= MEMBERSHIP_NAME_MAX_LENGTH) return;
  const got = typeof value === 'string' ? `${value.length} characters` : typeof value;
  throw invalid(
    `A membership’s ${field} must be a string of 1 to ${MEMBERSHIP_NAME_MAX_LENGTH} characters${hint}; got ${got}.`,
  );
}

function invalid(message: string): GatehouseError {
  return new GatehouseError('GH_STORAGE_INVALID_ARGUMENT', message);
}

function toMembershipRecord(row: Selectable<MembershipsTable>): MembershipRecord {
  return {
    userId: row.user_id,
    org: row.org,
    team: row.team === NO_TEAM ? null : row.team,
    role: row.role,
    createdAt: new Date(epochMs(row.created_at)),
  };
}
