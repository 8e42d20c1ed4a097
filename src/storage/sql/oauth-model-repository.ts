import type { ExpressionBuilder, Selectable } from 'kysely';
import { GatehouseError } from '../../errors/index.js';
import type { OAuthModelPayload, OAuthModelRecord, OAuthModelRepository } from '../contract.js';
import {
  CREDENTIAL_MODELS,
  CREDENTIAL_REFERENCE_PREFIX,
  hashCredentialId,
} from '../oauth-credential-models.js';
import { attempt, type SqlBackend } from './backend.js';
import { epochMs, type OAuthModelsTable, type Tables } from './tables.js';

/** How often expired rows are deleted in bulk; reads already ignore them in between. */
export const OAUTH_MODEL_SWEEP_INTERVAL_MS = 60_000;

type Row = Selectable<OAuthModelsTable>;

/**
 * oidc-provider's models in the `oauth_models` table. Every operation is one statement, so the
 * database's row locking makes `consume` atomic across connections and instances. `close()` stops
 * the sweep only: the connection belongs to the durable store.
 */
export function createOAuthModelRepository(
  backend: SqlBackend,
  { sweepIntervalMs = OAUTH_MODEL_SWEEP_INTERVAL_MS }: { sweepIntervalMs?: number } = {},
): OAuthModelRepository & { close(): Promise<void> } {
  const { db } = backend;
  let sweep: NodeJS.Timeout | undefined;
  let closed = false;

  /** Starts the sweep on first use, so a repository that is never used never touches the database. */
  const run = <T>(operation: (now: number) => Promise<T>): Promise<T> => {
    if (sweep === undefined && !closed) {
      sweep = setInterval(() => {
        // A failed sweep is retried on the next tick; the operations report outages themselves.
        db.deleteFrom('oauth_models')
          .where('expires_at', '<=', Date.now())
          .execute()
          .catch(() => undefined);
      }, sweepIntervalMs);
      sweep.unref();
    }
    return attempt(backend, () => operation(Date.now()));
  };

  const live = (now: number) => (eb: ExpressionBuilder<Tables, 'oauth_models'>) =>
    eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]);

  /** A lookup by uid or user code: the first live row, its id as a caller may pass it back. */
  const findBy = async (model: string, column: 'uid' | 'user_code', value: string) => {
    assertString('model', model);
    assertString(column, value);
    return run(async (now) => {
      const row = await db
        .selectFrom('oauth_models')
        .selectAll()
        .where('model', '=', model)
        .where(column, '=', value)
        .where(live(now))
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return toRecord(row, CREDENTIAL_MODELS.has(model) ? CREDENTIAL_REFERENCE_PREFIX + row.id : row.id);
    });
  };

  return {
    upsert: async (model, id, payload, expiresInSeconds) => {
      assertNonEmpty('model', model);
      assertNonEmpty('id', id);
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
        invalid(`The payload of ${model} must be an object.`);
      }
      if (expiresInSeconds !== undefined && !Number.isFinite(expiresInSeconds)) {
        invalid(`expiresInSeconds must be a finite number or undefined; got ${String(expiresInSeconds)}.`);
      }
      const credential = CREDENTIAL_MODELS.has(model);
      let stored: OAuthModelPayload = payload;
      if (credential && 'jti' in payload) {
        if (payload.jti !== id) invalid(`The payload's jti of ${model} must equal its id.`);
        const { jti: _credential, ...rest } = payload;
        stored = rest;
      }
      await run((now) =>
        db
          .insertInto('oauth_models')
          .values({
            model,
            id: credential ? storedCredentialId(id, true) : id,
            payload: JSON.stringify(stored),
            grant_id: textOrNull(payload.grantId),
            uid: textOrNull(payload.uid),
            user_code: textOrNull(payload.userCode),
            consumed_at: null,
            expires_at: expiresInSeconds === undefined ? null : now + Math.round(expiresInSeconds * 1000),
          })
          .onConflict((conflict) =>
            conflict.columns(['model', 'id']).doUpdateSet((eb) => ({
              payload: eb.ref('excluded.payload'),
              grant_id: eb.ref('excluded.grant_id'),
              uid: eb.ref('excluded.uid'),
              user_code: eb.ref('excluded.user_code'),
              consumed_at: eb.ref('excluded.consumed_at'),
              expires_at: eb.ref('excluded.expires_at'),
            })),
          )
          .execute(),
      );
    },

    find: async (model, id) => {
      assertString('model', model);
      assertString('id', id);
      // Never a reference here: whoever finds a credential row must present the credential.
      const storedId = CREDENTIAL_MODELS.has(model) ? storedCredentialId(id, false) : id;
      return run(async (now) => {
        const row = await db
          .selectFrom('oauth_models')
          .selectAll()
          .where('model', '=', model)
          .where('id', '=', storedId)
          .executeTakeFirst();
        if (row === undefined) return undefined;
        if (row.expires_at === null || epochMs(row.expires_at) > now) return toRecord(row, id);
        await db
          .deleteFrom('oauth_models')
          .where('model', '=', model)
          .where('id', '=', storedId)
          .where('expires_at', '<=', now)
          .execute();
        return undefined;
      });
    },

    findByUid: (model, uid) => findBy(model, 'uid', uid),

    findByUserCode: (model, userCode) => findBy(model, 'user_code', userCode),

    consume: async (model, id) => {
      assertString('model', model);
      assertString('id', id);
      const storedId = CREDENTIAL_MODELS.has(model) ? storedCredentialId(id, true) : id;
      return run(async (now) => {
        const result = await db
          .updateTable('oauth_models')
          .set({ consumed_at: now })
          .where('model', '=', model)
          .where('id', '=', storedId)
          // Only the first call marks it, so exactly one concurrent caller sees true.
          .where('consumed_at', 'is', null)
          .where(live(now))
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      });
    },

    destroy: async (model, id) => {
      assertString('model', model);
      assertString('id', id);
      const storedId = CREDENTIAL_MODELS.has(model) ? storedCredentialId(id, true) : id;
      return run(async (now) => {
        const row = await db
          .deleteFrom('oauth_models')
          .where('model', '=', model)
          .where('id', '=', storedId)
          .returning('expires_at')
          .executeTakeFirst();
        return row !== undefined && isLive(row.expires_at, now);
      });
    },

    revokeByGrantId: async (grantId) => {
      assertString('grantId', grantId);
      return run(async (now) => {
        const rows = await db
          .deleteFrom('oauth_models')
          .where('grant_id', '=', grantId)
          .returning('expires_at')
          .execute();
        return rows.filter((row) => isLive(row.expires_at, now)).length;
      });
    },

    list: async (model, limit) => {
      assertString('model', model);
      if (CREDENTIAL_MODELS.has(model))
        invalid(`${model} rows cannot be listed: their ids are stored as hashes.`);
      return run(async (now) => {
        const rows = await db
          .selectFrom('oauth_models')
          .selectAll()
          .where('model', '=', model)
          .where(live(now))
          .orderBy('expires_at', 'desc')
          .orderBy('id')
          .limit(Math.max(0, Math.floor(limit)))
          .execute();
        return rows.map((row) => toRecord(row, row.id));
      });
    },

    close: async () => {
      closed = true;
      clearInterval(sweep);
      sweep = undefined;
    },
  };
}

/**
 * The stored id of a credential: the hash of the presented value, or, where `acceptReference`,
 * the hash a `sha256:` reference names (a row found by uid or user code, written back).
 */
function storedCredentialId(id: string, acceptReference: boolean): string {
  if (acceptReference && id.startsWith(CREDENTIAL_REFERENCE_PREFIX)) {
    return id.slice(CREDENTIAL_REFERENCE_PREFIX.length);
  }
  return hashCredentialId(id);
}

function toRecord(row: Row, id: string): OAuthModelRecord {
  const payload = JSON.parse(row.payload) as OAuthModelPayload;
  return {
    id,
    payload: CREDENTIAL_MODELS.has(row.model) ? { ...payload, jti: id } : payload,
    consumedAt: row.consumed_at === null ? null : new Date(epochMs(row.consumed_at)),
    expiresAt: row.expires_at === null ? null : new Date(epochMs(row.expires_at)),
  };
}

function isLive(expiresAt: number | string | null, now: number): boolean {
  return expiresAt === null || epochMs(expiresAt) > now;
}

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Lookups take any string (one that names nothing finds nothing); anything else is a caller's bug. */
function assertString(name: string, value: unknown): void {
  if (typeof value !== 'string') invalid(`${name} must be a string; got ${typeof value}.`);
}

function assertNonEmpty(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') invalid(`${name} must be a non-empty string.`);
}

function invalid(message: string): never {
  throw new GatehouseError('GH_STORAGE_INVALID_ARGUMENT', message);
}
