import { createHash } from 'node:crypto';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import { entraTokenOf } from '../identity/caller.js';
import type { DurableStore, EphemeralStore } from '../storage/contract.js';
import type { SecretBox } from '../tokens/secret-box.js';
import type { EntraClient, EntraSignIn } from './entra-client.js';
import type { OnBehalfOfToken } from './on-behalf-of.js';

/** On-behalf-of results are reused until this close to their expiry. */
export const OBO_REUSE_MARGIN_SECONDS = 5 * 60;
/** How long a claims challenge waits for the user's next sign-in. */
const CLAIMS_TTL_MS = 24 * 60 * 60 * 1000;
/** Groups read from Graph (groups overage) are read again after this long. */
const GROUPS_TTL_MS = 15 * 60 * 1000;
/** The Entra access token kept for a user is refreshed this close to its expiry before use. */
const ASSERTION_MARGIN_SECONDS = 60;

/** Whose token is exchanged: the user (tid + oid) and their token addressed to Gatehouse. */
export interface DelegationSubject {
  userId: string;
  tenantId: string;
  objectId: string;
  assertion: string;
}

/** The part of the Entra session kept sealed (entra-session-refresh.ts writes the same shape). */
interface SealedEntraTokens {
  accessToken: string;
  refreshToken: string | undefined;
  accessTokenExpiresAt: number;
  endedBecause?: string;
}

export interface DelegatedAccessOptions {
  entra: EntraClient;
  durable: DurableStore;
  ephemeral: EphemeralStore;
  /** Opens the users' sealed Entra tokens and seals cached on-behalf-of tokens. */
  entraTokens: SecretBox;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * Acting for the user toward Entra-protected APIs (Microsoft Graph, others): on-behalf-of from the
 * user's Entra token (the one Gatehouse keeps sealed from their sign-in, or the Entra token they
 * presented themselves), cached per user and target scopes until shortly before expiry, sealed in
 * the ephemeral store (shared by every instance when it is Redis). A claims challenge is remembered
 * for the user, so that their next sign-in at Entra passes it (interactions/routes.ts).
 */
export class DelegatedAccess {
  readonly #now: () => number;
  readonly #fetch: typeof fetch;

  constructor(private readonly options: DelegatedAccessOptions) {
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The subject for a caller; refuses callers that are not a user (app-only tokens, the path token). */
  async subjectOf(caller: Caller): Promise<DelegationSubject> {
    const base = { userId: caller.userId, tenantId: caller.tenantId, objectId: caller.objectId };
    if (caller.kind === 'entra-user') {
      const token = entraTokenOf(caller);
      if (token !== undefined) return { ...base, assertion: token };
    }
    if (caller.kind === 'gatehouse') return { ...base, assertion: await this.#keptToken(caller.userId) };
    throw new GatehouseError(
      'GH_ENTRA_OBO_APP_ONLY',
      `Acting on a user's behalf needs a signed-in user; this caller is ${describeKind(caller.kind)}, which has no user to act for. Sign in as a user (through Gatehouse, or with an Entra ID user token).`,
    );
  }

  /** A delegated access token for `scope` (one API), from the cache or from Entra. */
  async token(subject: DelegationSubject, scope: string, kind?: Caller['kind']): Promise<string> {
    const key = `obo:${digest(`${subject.tenantId}\n${subject.objectId}\n${normalizeScope(scope)}`)}`;
    const cached = await this.options.ephemeral.get(key);
    if (cached !== undefined) {
      try {
        const token = JSON.parse(this.options.entraTokens.open(cached, key)) as OnBehalfOfToken;
        if (token.expiresAt - this.#now() / 1000 > OBO_REUSE_MARGIN_SECONDS) return token.accessToken;
      } catch {
        // A value sealed under another key (a rotated secret) is simply fetched again.
      }
    }
    let token: OnBehalfOfToken;
    try {
      token = await this.options.entra.onBehalfOf(subject.assertion, scope);
    } catch (error) {
      throw await this.#challenged(error, subject, kind);
    }
    const ttlMs = (token.expiresAt - OBO_REUSE_MARGIN_SECONDS) * 1000 - this.#now();
    if (ttlMs > 0)
      await this.options.ephemeral.set(key, this.options.entraTokens.seal(JSON.stringify(token), key), ttlMs);
    return token.accessToken;
  }

  /** Microsoft Graph, called with a delegated token for `scope`; its JSON answer. */
  async graph(
    subject: DelegationSubject,
    scope: string,
    path: string,
    init: { method?: 'GET' | 'POST'; body?: unknown; kind?: Caller['kind'] } = {},
  ): Promise<Record<string, unknown>> {
    const token = await this.token(subject, scope, init.kind);
    const base = await this.options.entra.graphBaseUrl();
    let response: Response;
    try {
      response = await this.#fetch(`${base}${path}`, {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new GatehouseError(
        'GH_GRAPH_FAILED',
        `Microsoft Graph could not be reached at ${base}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const graphError = (body.error ?? {}) as { code?: unknown; message?: unknown };
      throw new GatehouseError(
        'GH_GRAPH_FAILED',
        `Microsoft Graph answered ${response.status} to ${path.split('?')[0]}: ${String(graphError.code ?? 'error')}: ${String(graphError.message ?? '')}`,
        { detail: { status: response.status, code: graphError.code } },
      );
    }
    return body;
  }

  /**
   * The user's group ids from Graph, for a token whose groups did not fit (groups overage):
   * `getMemberObjects` with delegated GroupMember.Read.All, cached for a while per user.
   */
  async memberGroups(subject: DelegationSubject): Promise<string[]> {
    const key = `entra-groups:${digest(`${subject.tenantId}\n${subject.objectId}`)}`;
    const cached = await this.options.ephemeral.get(key);
    if (cached !== undefined) return JSON.parse(cached) as string[];
    const body = await this.graph(
      subject,
      'GroupMember.Read.All',
      `/v1.0/users/${encodeURIComponent(subject.objectId)}/getMemberObjects`,
      { method: 'POST', body: { securityEnabledOnly: true } },
    );
    const groups = Array.isArray(body.value)
      ? body.value.filter((id): id is string => typeof id === 'string').map((id) => id.toLowerCase())
      : [];
    await this.options.ephemeral.set(key, JSON.stringify(groups), GROUPS_TTL_MS);
    return groups;
  }

  /** A claims challenge waiting for the user's next sign-in at Entra, if any. */
  pendingClaims(userId: string): Promise<string | undefined> {
    return this.options.ephemeral.get(`entra-claims:${userId}`);
  }

  /** The user signed in again with the claims: the challenge is answered. */
  async claimsAnswered(userId: string): Promise<void> {
    await this.options.ephemeral.delete(`entra-claims:${userId}`);
  }

  async #challenged(error: unknown, subject: DelegationSubject, kind: Caller['kind'] | undefined) {
    if (!isGatehouseError(error) || error.code !== 'GH_ENTRA_CLAIMS_CHALLENGE') return error;
    const claims = (error.detail as { claims?: string } | undefined)?.claims;
    if (claims !== undefined)
      await this.options.ephemeral.set(`entra-claims:${subject.userId}`, claims, CLAIMS_TTL_MS);
    const how =
      kind === 'entra-user'
        ? `Get a new Entra ID token by signing in interactively${claims ? ` with this claims challenge: ${claims}` : ''}, then call again.`
        : "Sign in again: reconnect (re-authorize) Gatehouse in your MCP client. Gatehouse passes Entra ID's challenge to the sign-in, and this call then succeeds.";
    return new GatehouseError('GH_ENTRA_CLAIMS_CHALLENGE', `${error.message} ${how}`, {
      ...(error.detail !== undefined ? { detail: error.detail } : {}),
    });
  }

  /** The Entra access token kept from the user's sign-in, refreshed first when it is about to expire. */
  async #keptToken(userId: string): Promise<string> {
    const { durable, entraTokens, entra } = this.options;
    const session = await durable.entraSessions.find(userId);
    const signInAgain = (why: string) =>
      new GatehouseError('GH_ENTRA_SIGN_IN_ENDED', `${why}; sign in again through your MCP client.`);
    if (session === undefined) throw signInAgain('Gatehouse keeps no Entra ID sign-in for this user');
    const tokens = JSON.parse(entraTokens.open(session.sealedTokens, userId)) as SealedEntraTokens;
    if (tokens.endedBecause !== undefined) throw signInAgain(tokens.endedBecause);
    if (tokens.accessTokenExpiresAt - this.#now() / 1000 > ASSERTION_MARGIN_SECONDS)
      return tokens.accessToken;
    if (tokens.refreshToken === undefined) throw signInAgain('the Entra ID sign-in has expired');
    const fresh = await entra.refresh(tokens.refreshToken);
    await durable.entraSessions.save({
      userId,
      sealedTokens: entraTokens.seal(
        JSON.stringify({
          accessToken: fresh.accessToken,
          refreshToken: fresh.refreshToken,
          accessTokenExpiresAt: fresh.accessTokenExpiresAt,
        } satisfies SealedEntraTokens),
        userId,
      ),
      roles: fresh.roles,
      // Groups that overflowed the token were read from Graph at sign-in; they stay until the next.
      groups: fresh.groupsOverage ? session.groups : fresh.groups.map((group) => group.toLowerCase()),
    });
    return fresh.accessToken;
  }
}

/**
 * What Graph adds to a sign-in at Entra through Gatehouse, the MCP clients' (the authorization
 * server's interaction) and the browser pages' alike: with MCP_AZURE_VALIDATE_WITH_GRAPH a disabled
 * account is refused (GH_ENTRA_ACCOUNT_DISABLED); the user's groups are the token's or, when they
 * did not fit in it (groups overage), read from Graph — none when that fails (logged: group
 * mappings then do not apply until the next sign-in). Returns the groups, lower-cased.
 */
export async function checkSignInWithGraph(
  delegated: DelegatedAccess | undefined,
  signIn: EntraSignIn,
  userId: string,
  options: { validateWithGraph: boolean; warn(error: unknown, message: string): void },
): Promise<string[]> {
  const subject: DelegationSubject = {
    userId,
    tenantId: signIn.tenantId,
    objectId: signIn.objectId,
    assertion: signIn.accessToken,
  };
  if (options.validateWithGraph && delegated !== undefined) {
    const account = await delegated.graph(subject, 'User.Read', '/v1.0/me?$select=id,accountEnabled');
    if (account.accountEnabled === false) {
      throw new GatehouseError(
        'GH_ENTRA_ACCOUNT_DISABLED',
        `The account ${signIn.preferredUsername ?? signIn.objectId} is disabled in Microsoft Entra ID, so Gatehouse does not sign it in. Ask your administrator to enable the account.`,
      );
    }
  }
  if (!signIn.groupsOverage) return signIn.groups.map((group) => group.toLowerCase());
  if (delegated === undefined) return [];
  return delegated.memberGroups(subject).catch((error: unknown) => {
    options.warn(
      error,
      'groups overage: the groups could not be read from Graph; group mappings do not apply',
    );
    return [];
  });
}

function describeKind(kind: Caller['kind']): string {
  switch (kind) {
    case 'entra-app':
      return 'an application signed in with its own credentials (client credentials)';
    case 'service-token':
      return 'the shared MCP server token (a path token)';
    case 'development':
      return 'the development user (authentication is off)';
    default:
      return 'not a user';
  }
}

function normalizeScope(scope: string): string {
  return scope.split(/\s+/).filter(Boolean).sort().join(' ').toLowerCase();
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
