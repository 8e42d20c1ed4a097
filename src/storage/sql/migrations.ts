import { type Kysely, type Migration, PostgresAdapter } from 'kysely';

/**
 * Every schema change, in order. Names sort in the order they must run; a released migration is
 * never edited, only followed by a new one. Kept in code (not files on disk) so the compiled
 * dist/ carries them and no directory lookup can miss one.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('tenant_id', 'text', (col) => col.notNull())
        .addColumn('object_id', 'text', (col) => col.notNull())
        .addColumn('display_name', 'text')
        .addColumn('preferred_username', 'text')
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('last_seen_at', 'bigint', (col) => col.notNull())
        .addUniqueConstraint('users_identity_unique', ['tenant_id', 'object_id'])
        .execute();

      await db.schema
        .createTable('notes')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('text', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('notes_user_id_idx').on('notes').column('user_id').execute();

      await db.schema
        .createTable('kv')
        .addColumn('key', 'text', (col) => col.primaryKey())
        .addColumn('value', 'text', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('kv_expires_at_idx').on('kv').column('expires_at').execute();
    },
  },

  '002_memberships': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('memberships')
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('org', 'text', (col) => col.notNull())
        // '' (NO_TEAM in tables.ts) for an org-wide membership: a NULL would escape the primary key.
        .addColumn('team', 'text', (col) => col.notNull())
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addPrimaryKeyConstraint('memberships_pkey', ['user_id', 'org', 'team', 'role'])
        .execute();
      // Serves listForUser's filter and its oldest-first order in one scan.
      await db.schema
        .createIndex('memberships_user_id_idx')
        .on('memberships')
        .columns(['user_id', 'created_at'])
        .execute();
    },
  },

  '003_signing_keys': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (col) => col.primaryKey())
        .addColumn('alg', 'text', (col) => col.notNull())
        .addColumn('public_jwk', 'text', (col) => col.notNull())
        .addColumn('encrypted_private_jwk', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('activated_at', 'bigint', (col) => col.notNull())
        .addColumn('retire_after', 'bigint')
        .execute();
    },
  },

  '004_oauth_models': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('oauth_models')
        .addColumn('model', 'text', (col) => col.notNull())
        // A credential model's id is stored as its SHA-256 (src/storage/oauth-credential-models.ts).
        .addColumn('id', 'text', (col) => col.notNull())
        .addColumn('payload', 'text', (col) => col.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('uid', 'text')
        .addColumn('user_code', 'text')
        .addColumn('consumed_at', 'bigint')
        .addColumn('expires_at', 'bigint')
        .addPrimaryKeyConstraint('oauth_models_pkey', ['model', 'id'])
        .execute();
      await db.schema
        .createIndex('oauth_models_grant_id_idx')
        .on('oauth_models')
        .column('grant_id')
        .execute();
      await db.schema
        .createIndex('oauth_models_uid_idx')
        .on('oauth_models')
        .columns(['model', 'uid'])
        .execute();
      await db.schema
        .createIndex('oauth_models_user_code_idx')
        .on('oauth_models')
        .columns(['model', 'user_code'])
        .execute();
      await db.schema
        .createIndex('oauth_models_expires_at_idx')
        .on('oauth_models')
        .column('expires_at')
        .execute();
    },
  },

  '005_entra_sessions': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('entra_sessions')
        .addColumn('user_id', 'text', (col) => col.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('sealed_tokens', 'text', (col) => col.notNull())
        .addColumn('roles', 'text', (col) => col.notNull())
        .addColumn('groups', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .execute();
    },
  },

  '006_upstream_servers': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('upstream_servers')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('definition', 'text', (col) => col.notNull())
        .addColumn('sealed_secrets', 'text')
        .addColumn('updated_by', 'text')
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .addColumn('revision', 'bigint', (col) => col.notNull())
        .execute();
    },
  },

  '007_audit_log': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Append-only: the id is the database's own sequence, so it increases with insertion whatever
      // the instance (a cursor is built from it).
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      await db.schema
        .createTable('audit_log')
        .addColumn('id', postgres ? 'bigserial' : 'integer', (col) =>
          postgres ? col.primaryKey() : col.primaryKey().autoIncrement(),
        )
        .addColumn('at', 'bigint', (col) => col.notNull())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('user_id', 'text')
        .addColumn('tenant_id', 'text')
        .addColumn('client_id', 'text')
        .addColumn('tool', 'text')
        .addColumn('server', 'text')
        .addColumn('action', 'text')
        .addColumn('outcome', 'text', (col) => col.notNull())
        .addColumn('error_code', 'text')
        .addColumn('duration_ms', 'double precision')
        .addColumn('request_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('details', 'text', (col) => col.notNull())
        .execute();
      // Pages are newest first by id; each filter's index ends with id so a filtered page is one
      // range scan. `at` serves the time range and retention's delete.
      await db.schema.createIndex('audit_log_at_idx').on('audit_log').column('at').execute();
      for (const column of ['user_id', 'tool', 'server', 'type', 'outcome']) {
        await db.schema
          .createIndex(`audit_log_${column}_idx`)
          .on('audit_log')
          .columns([column, 'id'])
          .execute();
      }
    },
  },
  '008_chats': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('chats')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('messages', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('revision', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('chats_user_id_idx').on('chats').column('user_id').execute();
    },
  },
  '009_audit_log_fewer_indexes': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Every index is updated by every insert, and the audit log takes a row per tool call: the
      // server, type and outcome indexes cost more on the tool-call path than they saved in a
      // search. Those filters now read newest first along the primary key (bounded by the time
      // range when one is given: docs/operations.md); the time, user and tool indexes stay.
      for (const column of ['server', 'type', 'outcome']) {
        await db.schema.dropIndex(`audit_log_${column}_idx`).ifExists().execute();
      }
    },
  },
});
