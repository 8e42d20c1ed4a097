import { storageKey } from './lib/encoding.js';

/** How the user authenticated; travels from the sign-in into every token of the session. */
export interface SignIn {
  sid: string;
  userId: string;
  authTime: number;
  mfa: boolean;
}

export type RedirectKind = 'web' | 'spa' | 'publicClient';

/** An /authorize request waiting for the user on the sign-in page. */
export interface PendingAuthorization {
  id: string;
  tenantSegment: string;
  version: 'v1' | 'v2';
  clientId: string;
  redirectUri: string;
  redirectKind: RedirectKind;
  responseMode: 'query' | 'fragment' | 'form_post';
  state: string | undefined;
  nonce: string | undefined;
  scope: string;
  resource: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: 'S256' | 'plain';
  loginHint: string | undefined;
  domainHint: string | undefined;
  prompt: string | undefined;
  claims: string | undefined;
  /** MSAL asks for `client_info` (its home-account id) with `client_info=1`. */
  clientInfo: boolean;
  expiresAt: number;
}

export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  redirectKind: RedirectKind;
  version: 'v1' | 'v2';
  scope: string;
  resource: string | undefined;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: 'S256' | 'plain';
  signIn: SignIn;
  expiresAt: number;
  redeemed: boolean;
}

export interface RefreshGrant {
  clientId: string;
  signIn: SignIn;
  /** The scope string of the original grant, used when a refresh names none. */
  scope: string;
  redirectKind: RedirectKind;
  expiresAt: number;
}

/**
 * In-memory state. Codes and refresh tokens are keyed by a hash of their value, so nothing here
 * can be replayed from a dump.
 */
export class EmulatorState {
  readonly pending = new Map<string, PendingAuthorization>();
  readonly sessions = new Map<string, SignIn>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  /** `uti`s of tokens issued after multi-factor authentication (v2 tokens carry no `amr`). */
  readonly mfaTokens = new Set<string>();
  /** Delegated scopes a user granted to a client at sign-in: key `user|client|resource`. */
  readonly userConsents = new Map<string, Set<string>>();
  /** Token requests received, per `grant_type` (failed ones included), for tests to read. */
  readonly tokenRequests = new Map<string, number>();

  saveCode(code: string, grant: AuthorizationCode): void {
    this.codes.set(storageKey(code), grant);
  }

  findCode(code: string): AuthorizationCode | undefined {
    return this.codes.get(storageKey(code));
  }

  saveRefreshToken(token: string, grant: RefreshGrant): void {
    this.refreshTokens.set(storageKey(token), grant);
  }

  findRefreshToken(token: string): RefreshGrant | undefined {
    return this.refreshTokens.get(storageKey(token));
  }

  consent(userId: string, clientId: string, resourceId: string, scopes: Iterable<string>): void {
    const key = `${userId}|${clientId}|${resourceId}`;
    const set = this.userConsents.get(key) ?? new Set<string>();
    for (const s of scopes) set.add(s);
    this.userConsents.set(key, set);
  }

  consentedBy(userId: string, clientId: string, resourceId: string): ReadonlySet<string> {
    return this.userConsents.get(`${userId}|${clientId}|${resourceId}`) ?? new Set();
  }
}
