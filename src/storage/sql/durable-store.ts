import { type Migration, sql } from 'kysely';
import type { DurableStore } from '../contract.js';
import { createAuditLogRepository } from './audit-log-repository.js';
import { attempt, type SqlBackend } from './backend.js';
import { createChatRepository } from './chat-repository.js';
import { createEntraSessionRepository } from './entra-session-repository.js';
import { createKvEphemeralStore } from './kv-ephemeral-store.js';
import { createMembershipRepository } from './membership-repository.js';
import { migrateToLatest } from './migrate.js';
import { MIGRATIONS } from './migrations.js';
import { createNoteRepository } from './note-repository.js';
import { createOAuthModelRepository } from './oauth-model-repository.js';
import { createSigningKeyRepository } from './signing-key-repository.js';
import { createUpstreamServerRepository } from './upstream-server-repository.js';
import { createUserRepository } from './user-repository.js';

/** The DurableStore over any SQL backend. `migrations` is replaceable so tests can add a failing one. */
export function createSqlDurableStore(
  backend: SqlBackend,
  migrations: Readonly<Record<string, Migration>> = MIGRATIONS,
): DurableStore {
  const ephemeral = createKvEphemeralStore(backend);
  const oauthModels = createOAuthModelRepository(backend);
  let closing: Promise<void> | undefined;
  return {
    backend: backend.kind,
    migrate: () => migrateToLatest(backend, migrations),
    ping: () => attempt(backend, async () => void (await sql`select 1`.execute(backend.db))),
    users: createUserRepository(backend),
    notes: createNoteRepository(backend),
    memberships: createMembershipRepository(backend),
    signingKeys: createSigningKeyRepository(backend),
    entraSessions: createEntraSessionRepository(backend),
    oauthModels,
    upstreamServers: createUpstreamServerRepository(backend),
    auditLog: createAuditLogRepository(backend),
    chats: createChatRepository(backend),
    ephemeral,
    close: () => {
      closing ??= Promise.all([ephemeral.close(), oauthModels.close()]).then(() => backend.db.destroy());
      return closing;
    },
  };
}
