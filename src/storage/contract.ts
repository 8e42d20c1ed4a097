/**
 * The storage contract. Every backend implements these interfaces and passes the shared
 * contract suite in test/storage-contract/. docs/storage.md describes each operation and field.
 *
 * Durable data (users, notes, role memberships, and later clients, grants, keys, audit) lives in
 * a DurableStore: SQLite (default) or PostgreSQL. Short-lived keyed state with TTLs (sessions,
 * authorization transactions, codes, rate-limit counters, replay caches) lives in an
 * EphemeralStore: Redis when REDIS_URL is set, otherwise a table of the durable store.
 */

import type { AuditPage, AuditQuery, AuditRowInput } from '../ops/audit-log.js';

export type DurableBackend = 'sqlite' | 'postgres';
export type EphemeralBackend = DurableBackend | 'redis';

/** A person or service known to Gatehouse. Identity is (tenantId, objectId): Entra `tid` + `oid`. */
export interface UserRecord {
  id: string;
  tenantId: string;
  objectId: string;
  /** Display only: never used for a decision. */
  displayName: string | null;
  /** Display only: never used for a decision. */
  preferredUsername: string | null;
  createdAt: Date;
  lastSeenAt: Date;
}

export interface UpsertUserInput {
  tenantId: string;
  objectId: string;
  displayName?: string | null;
  preferredUsername?: string | null;
}

export interface NoteRecord {
  id: string;
  userId: string;
  text: string;
  createdAt: Date;
}

export interface UserRepository {
  /** Creates the user on first sight, otherwise refreshes the display fields and lastSeenAt. */
  upsert(input: UpsertUserInput): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | undefined>;
  findByIdentity(tenantId: string, objectId: string): Promise<UserRecord | undefined>;
  /** Up to `limit` users, most recently seen first (the admin console's list). */
  list(limit: number): Promise<UserRecord[]>;
  /** Users whose preferred username is `username`, ignoring case (several tenants may share one). */
  findByPreferredUsername(username: string): Promise<UserRecord[]>;
}

export interface NoteRepository {
  create(userId: string, text: string): Promise<NoteRecord>;
  /** The user's notes, oldest first. */
  listByUser(userId: string): Promise<NoteRecord[]>;
  /** True when the note existed and belonged to userId; false otherwise (nothing is deleted). */
  deleteForUser(userId: string, noteId: string): Promise<boolean>;
}

/**
 * A role a user holds in an organization, or in one team of it: Gatehouse's own RBAC, with the
 * organization (and team) as the domain the role applies in.
 */
export interface MembershipRecord {
  userId: string;
  org: string;
  /** null for an organization-wide membership. */
  team: string | null;
  role: string;
  createdAt: Date;
}

export interface MembershipInput {
  userId: string;
  org: string;
  /** null for an organization-wide membership; otherwise a non-empty team name. */
  team: string | null;
  role: string;
}

export interface MembershipRepository {
  /** The user's memberships, oldest first. */
  listForUser(userId: string): Promise<MembershipRecord[]>;
  /** Every membership, by user id then oldest first (for administration). */
  listAll(): Promise<MembershipRecord[]>;
  /** Adds a membership; adding the same (user, org, team, role) twice keeps one. */
  add(input: MembershipInput): Promise<MembershipRecord>;
  /** True when the membership existed and was removed. */
  remove(input: MembershipInput): Promise<boolean>;
  /**
   * Adds the membership only when the user has no membership at all (first sign-in
   * auto-assignment). Atomic: of concurrent calls for one user, at most one adds. True when added.
   */
  addIfNone(input: MembershipInput): Promise<boolean>;
}

/**
 * One of Gatehouse's own token-signing keys. The private key is stored only encrypted (by the
 * secret box in src/tokens/); storage never sees it in the clear.
 */
export interface SigningKeyRecord {
  /** The JWK `kid`; unique. */
  kid: string;
  /** The JWS algorithm, e.g. 'RS256'. */
  alg: string;
  /** The public key as a JWK, as published at the JWKS endpoint. */
  publicJwk: Record<string, unknown>;
  /** The private JWK, encrypted (`v1.…`); opaque to storage. */
  encryptedPrivateJwk: string;
  createdAt: Date;
  /** From this time the key may sign (the newest such key does). */
  activatedAt: Date;
  /** After this time the key neither signs nor verifies; null while it has no end. */
  retireAfter: Date | null;
}

export interface SigningKeyInput {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  encryptedPrivateJwk: string;
  activatedAt: Date;
}

export interface SigningKeyRepository {
  /** Every stored key, retired ones included, oldest activation first (then oldest createdAt, then kid). */
  list(): Promise<SigningKeyRecord[]>;
  /** Stores a new key (retireAfter null). A kid already stored is rejected with GH_STORAGE_INVALID_ARGUMENT. */
  insert(input: SigningKeyInput): Promise<SigningKeyRecord>;
  /**
   * Stores the key only when no stored key is live at input.activatedAt (none has a null
   * retireAfter or one later than that): the first start. Atomic: of concurrent calls, from any
   * instance, at most one stores. True when stored.
   */
  insertIfNoneLive(input: SigningKeyInput): Promise<boolean>;
  /**
   * Ends the key's life at `at`, unless it already ends earlier (a retirement is never postponed).
   * The key as now stored, or undefined when no key has that kid.
   */
  retire(kid: string, at: Date): Promise<SigningKeyRecord | undefined>;
}

/** What oidc-provider keeps about one instance of a model (a token, code, session, grant, client…). */
export type OAuthModelPayload = Record<string, unknown>;

export interface OAuthModelRecord {
  /**
   * The id to pass back to upsert, consume or destroy: the id given to `find`; for a row found by
   * uid or user code, its stored id, which for a credential model (CREDENTIAL_MODELS in
   * src/storage/oauth-credential-models.ts) is a `sha256:` reference, never the credential.
   */
  id: string;
  /** The payload as upserted. For a credential model `jti` is set to `id` (it is not stored). */
  payload: OAuthModelPayload;
  /** When `consume` first marked the row; null while it has not. */
  consumedAt: Date | null;
  /** When the row stops existing; null for never. */
  expiresAt: Date | null;
}

/**
 * oidc-provider's persistence (its adapter contract), one row per (model, id). A credential
 * model's row is kept under a SHA-256 of its id and without the raw id anywhere in it. An
 * expired row behaves exactly like an absent one.
 */
export interface OAuthModelRepository {
  /**
   * Stores the payload, replacing any previous row (its consumption included), and records its
   * `grantId`, `uid` and `userCode` for the lookups below. `expiresInSeconds` undefined: never
   * expires. A credential model's payload.jti, when present, must equal `id`.
   */
  upsert(model: string, id: string, payload: OAuthModelPayload, expiresInSeconds?: number): Promise<void>;
  find(model: string, id: string): Promise<OAuthModelRecord | undefined>;
  findByUid(model: string, uid: string): Promise<OAuthModelRecord | undefined>;
  findByUserCode(model: string, userCode: string): Promise<OAuthModelRecord | undefined>;
  /**
   * Marks a live row consumed (now). Atomic: of concurrent calls, exactly one returns true; a
   * later call returns false and keeps the first time. False for an absent row.
   */
  consume(model: string, id: string): Promise<boolean>;
  /** True when a live row was deleted. */
  destroy(model: string, id: string): Promise<boolean>;
  /** Deletes every row, of any model, whose payload named this grantId; the number of live rows deleted. */
  revokeByGrantId(grantId: string): Promise<number>;
  /**
   * Up to `limit` live rows of one model, latest expiry first, then by id (the admin console lists grants and
   * registered clients). Credential models are refused: their ids are stored only as hashes.
   */
  list(model: string, limit: number): Promise<OAuthModelRecord[]>;
}

/**
 * The audit log (src/ops/audit-log.ts has the row and query shapes): append-only, one row per
 * audit event, read newest first. Rows are never changed; only retention deletes them.
 */
export interface AuditLogRepository {
  /** Stores the rows in one transaction: all of them or none. An empty batch does nothing. */
  append(rows: readonly AuditRowInput[]): Promise<void>;
  /**
   * One page of rows matching every filter given, newest first (by id, i.e. insertion order).
   * `limit` defaults to AUDIT_PAGE_DEFAULT and is capped at AUDIT_PAGE_MAX; `nextCursor` is opaque
   * and null on the last page. A cursor this store did not issue is GH_STORAGE_INVALID_ARGUMENT.
   */
  query(query: AuditQuery): Promise<AuditPage>;
  /** Deletes the rows older than `cutoff` (at < cutoff); the number deleted. Safe to run concurrently. */
  deleteOlderThan(cutoff: Date): Promise<number>;
}

export const AUDIT_PAGE_DEFAULT = 100;
export const AUDIT_PAGE_MAX = 1000;

export interface MigrationReport {
  /** Names of the migrations applied by this call, in order (empty when already up to date). */
  applied: string[];
  /** Name of the newest migration now in place. */
  current: string | undefined;
}

export interface DurableStore {
  readonly backend: DurableBackend;
  /** Applies pending migrations; safe to call on every start and concurrently from several instances. */
  migrate(): Promise<MigrationReport>;
  /** Resolves when the database answers; rejects with StorageUnavailableError otherwise. */
  ping(): Promise<void>;
  readonly users: UserRepository;
  readonly notes: NoteRepository;
  readonly memberships: MembershipRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly entraSessions: EntraSessionRepository;
  readonly oauthModels: OAuthModelRepository;
  readonly upstreamServers: UpstreamServerRepository;
  readonly auditLog: AuditLogRepository;
  readonly chats: ChatRepository;
  /** The short-lived keyed state kept in this database (used when no Redis is configured). */
  readonly ephemeral: EphemeralStore;
  close(): Promise<void>;
}

export interface CounterState {
  count: number;
  /** Epoch milliseconds when the window (the key) expires. */
  resetAt: number;
}

/**
 * Short-lived keyed state. Keys are opaque strings chosen by the caller (by convention
 * `namespace:id`); values are strings (callers JSON-encode). An expired key behaves exactly like
 * an absent one. TTLs are milliseconds and must be positive integers.
 */
export interface EphemeralStore {
  readonly backend: EphemeralBackend;
  ping(): Promise<void>;
  /** Stores value under key, replacing any previous value and TTL. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Stores value only when key is absent (or expired). True when stored. Atomic. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  get(key: string): Promise<string | undefined>;
  /** Atomically reads and deletes: of concurrent callers, exactly one gets the value. */
  take(key: string): Promise<string | undefined>;
  /** True when a live key was deleted. */
  delete(key: string): Promise<boolean>;
  /** Fixed-window counter: the first increment creates the key with ttlMs; later ones keep its expiry. */
  increment(key: string, ttlMs: number): Promise<CounterState>;
  /** Extends a live key's TTL; false when the key is absent. */
  touch(key: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * What Gatehouse keeps of a user's last sign-in at Entra ID: the Entra tokens, sealed (encrypted
 * and bound to the user id) by the caller, and the app roles and groups the sign-in carried.
 */
export interface EntraSessionRecord {
  userId: string;
  /** The sealed Entra tokens (src/tokens/secret-box.ts); opaque to storage. */
  sealedTokens: string;
  roles: string[];
  groups: string[];
  updatedAt: Date;
}

export interface EntraSessionRepository {
  /** Replaces the user's session (one per user). */
  save(input: {
    userId: string;
    sealedTokens: string;
    roles: readonly string[];
    groups: readonly string[];
  }): Promise<void>;
  find(userId: string): Promise<EntraSessionRecord | undefined>;
  /** True when a session was deleted. */
  delete(userId: string): Promise<boolean>;
}

/**
 * An upstream MCP server registered at runtime (the gateway's registry; servers declared in the
 * config file are never stored). The definition is JSON in the `mcpServers` shape without any
 * secret value; the secret values (header and env values) are sealed by the caller.
 */
export interface UpstreamServerRecord {
  /** Unique; the namespace of the server's tools (`{name}__{tool}`). */
  name: string;
  /** The server definition without secret values; opaque JSON to storage. */
  definition: Record<string, unknown>;
  /** The sealed secret values (src/tokens/secret-box.ts); null when the server has none. */
  sealedSecrets: string | null;
  /** The user id of whoever registered or last changed it; null when unknown. */
  updatedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** 1 when created, one more on every update: how instances notice a change. */
  revision: number;
}

export interface UpstreamServerInput {
  name: string;
  definition: Record<string, unknown>;
  sealedSecrets: string | null;
  updatedBy: string | null;
}

export interface UpstreamServerRepository {
  /** Every registered server, by name (ascending, byte order). */
  list(): Promise<UpstreamServerRecord[]>;
  find(name: string): Promise<UpstreamServerRecord | undefined>;
  /** Stores a new server; undefined (nothing stored) when the name is taken. Atomic. */
  create(input: UpstreamServerInput): Promise<UpstreamServerRecord | undefined>;
  /**
   * Replaces definition, sealedSecrets and updatedBy of an existing server and bumps its revision.
   * With `expectedRevision`, only when the stored revision is that one. Undefined when nothing
   * was updated (absent, or another revision).
   */
  update(input: UpstreamServerInput, expectedRevision?: number): Promise<UpstreamServerRecord | undefined>;
  /** True when a server was deleted. */
  delete(name: string): Promise<boolean>;
}

/** One message of a conversation, as the chat completions API names the speakers. */
export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * A user's conversation with the chat backend (the send_message and finish_chat tools). Its
 * messages are kept whole in order; an exchange (the user's message and the answer) is stored in
 * one atomic write, so a conversation never holds a question without its answer.
 */
export interface ChatRecord {
  id: string;
  userId: string;
  messages: ChatMessage[];
  createdAt: Date;
  updatedAt: Date;
  /** Set by finish(); a finished conversation takes no more messages. */
  finishedAt: Date | null;
  /** 1 when created, one more per exchange appended: a write based on an older one is refused. */
  revision: number;
}

export type ChatAppendResult =
  | { status: 'appended'; chat: ChatRecord }
  /** No conversation of that id belongs to the user (another user's is not found either). */
  | { status: 'not-found' }
  | { status: 'finished' }
  /** Another exchange was appended since `expectedRevision`: nothing was written. */
  | { status: 'conflict' };

export interface ChatRepository {
  /** Starts a conversation with its first exchange. The user must exist. */
  create(userId: string, exchange: readonly ChatMessage[]): Promise<ChatRecord>;
  /** The user's conversation; undefined when absent or another user's. */
  find(userId: string, chatId: string): Promise<ChatRecord | undefined>;
  /** Appends an exchange when the conversation is the user's, open, and still at `expectedRevision`. Atomic. */
  append(
    userId: string,
    chatId: string,
    exchange: readonly ChatMessage[],
    expectedRevision: number,
  ): Promise<ChatAppendResult>;
  /** Ends the user's conversation: 'finished' now, 'already-finished', or 'not-found'. */
  finish(userId: string, chatId: string): Promise<'finished' | 'already-finished' | 'not-found'>;
}
