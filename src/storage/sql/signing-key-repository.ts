import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import { GatehouseError } from '../../errors/index.js';
import type { SigningKeyInput, SigningKeyRecord, SigningKeyRepository } from '../contract.js';
import { attempt, type SqlBackend } from './backend.js';
import { epochMs, type SigningKeysTable, type Tables } from './tables.js';

type SigningKeyRow = Required<Insertable<SigningKeysTable>>;

export function createSigningKeyRepository(backend: SqlBackend): SigningKeyRepository {
  const { db } = backend;
  return {
    list: () =>
      attempt(backend, async () => {
        const rows = await db
          .selectFrom('signing_keys')
          .selectAll()
          .orderBy('activated_at', 'asc')
          // Keys activated in the same millisecond: the one stored last counts as the newest.
          .orderBy('created_at', 'asc')
          .orderBy('kid', 'asc')
          .execute();
        return rows.map(toSigningKeyRecord);
      }),

    insert: async (input) => {
      const row = toRow(input, Date.now());
      const stored = await attempt(backend, () =>
        db
          .insertInto('signing_keys')
          .values(row)
          .onConflict((conflict) => conflict.column('kid').doNothing())
          .returningAll()
          .executeTakeFirst(),
      );
      if (stored === undefined) throw invalid(`A signing key with kid ${row.kid} is already stored.`);
      return toSigningKeyRecord(stored);
    },

    insertIfNoneLive: async (input) => {
      const row = toRow(input, Date.now());
      const added = await attempt(backend, () =>
        backend.exclusively('signing-keys', (conn) => insertIfNoneLive(conn, row)),
      );
      return added !== undefined;
    },

    retire: async (kid, at) => {
      const time = toEpochMs(at, 'retire time');
      if (typeof kid !== 'string') throw invalid('A signing key’s kid must be a string.');
      const stored = await attempt(backend, () =>
        db
          .updateTable('signing_keys')
          .set({
            retire_after: sql<number>`case when retire_after is null or retire_after > cast(${time} as bigint) then cast(${time} as bigint) else retire_after end`,
          })
          .where('kid', '=', kid)
          .returningAll()
          .executeTakeFirst(),
      );
      return stored === undefined ? undefined : toSigningKeyRecord(stored);
    },
  };
}

/**
 * INSERT … SELECT … WHERE NOT EXISTS (a live key): one statement, which `exclusively` keeps apart
 * from every other first-key insert, so two instances starting at once store one key between them.
 */
function insertIfNoneLive(db: Kysely<Tables>, row: SigningKeyRow) {
  return db
    .insertInto('signing_keys')
    .columns(['kid', 'alg', 'public_jwk', 'encrypted_private_jwk', 'created_at', 'activated_at'])
    .expression(
      db
        .selectNoFrom([
          sql<string>`cast(${row.kid} as text)`.as('kid'),
          sql<string>`cast(${row.alg} as text)`.as('alg'),
          sql<string>`cast(${row.public_jwk} as text)`.as('public_jwk'),
          sql<string>`cast(${row.encrypted_private_jwk} as text)`.as('encrypted_private_jwk'),
          // A bare parameter would reach PostgreSQL as text, which a bigint column refuses.
          sql<number>`cast(${row.created_at} as bigint)`.as('created_at'),
          sql<number>`cast(${row.activated_at} as bigint)`.as('activated_at'),
        ])
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('signing_keys')
                .select('kid')
                .where((live) =>
                  live.or([
                    live('retire_after', 'is', null),
                    live('retire_after', '>', sql<number>`cast(${row.activated_at} as bigint)`),
                  ]),
                ),
            ),
          ),
        ),
    )
    .returning('kid')
    .executeTakeFirst();
}

/** Validates the input and maps it to its stored form. */
function toRow(input: SigningKeyInput, now: number): SigningKeyRow {
  if (typeof input !== 'object' || input === null) {
    throw invalid(
      'A signing key must be an object with kid, alg, publicJwk, encryptedPrivateJwk and activatedAt.',
    );
  }
  const { kid, alg, publicJwk, encryptedPrivateJwk, activatedAt } = input;
  for (const [field, value] of [
    ['kid', kid],
    ['alg', alg],
    ['encryptedPrivateJwk', encryptedPrivateJwk],
  ] as const) {
    if (typeof value !== 'string' || value === '')
      throw invalid(`A signing key’s ${field} must be a non-empty string.`);
  }
  if (typeof publicJwk !== 'object' || publicJwk === null || Array.isArray(publicJwk)) {
    throw invalid('A signing key’s publicJwk must be a JWK object.');
  }
  return {
    kid,
    alg,
    public_jwk: JSON.stringify(publicJwk),
    encrypted_private_jwk: encryptedPrivateJwk,
    created_at: now,
    activated_at: toEpochMs(activatedAt, 'activatedAt'),
    retire_after: null,
  };
}

function toEpochMs(value: unknown, field: string): number {
  if (value instanceof Date && Number.isFinite(value.getTime())) return value.getTime();
  throw invalid(`A signing key’s ${field} must be a valid Date.`);
}

function invalid(message: string): GatehouseError {
  return new GatehouseError('GH_STORAGE_INVALID_ARGUMENT', message);
}

function toSigningKeyRecord(row: Selectable<SigningKeysTable>): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
    encryptedPrivateJwk: row.encrypted_private_jwk,
    createdAt: new Date(epochMs(row.created_at)),
    activatedAt: new Date(epochMs(row.activated_at)),
    retireAfter: row.retire_after === null ? null : new Date(epochMs(row.retire_after)),
  };
}
