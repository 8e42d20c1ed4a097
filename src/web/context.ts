import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConsentCsrf } from '../auth-server/interactions/csrf.js';
import type { GatehouseConfig } from '../config/index.js';
import type { DelegatedAccess } from '../entra/delegated-access.js';
import type { EntraClient } from '../entra/entra-client.js';
import { resolveUserAccess } from '../identity/user-access.js';
import type { AuditSink } from '../ops/audit.js';
import type { SearchAudit } from '../ops/audit-log.js';
import type { DurableStore, EphemeralStore, MembershipRecord } from '../storage/contract.js';
import { type WebSession, WebSessions } from './web-sessions.js';

export type BreakGlassResult =
  | { ok: true }
  | { ok: false; code: string; message: string; retryAfterSeconds?: number };

/** Checks a break-glass login (the password hash and its brute-force throttle live behind it). */
export type CheckBreakGlassLogin = (input: {
  username: string;
  password: string;
  ip: string;
}) => Promise<BreakGlassResult>;

/** One upstream server as the admin console lists it. */
export interface ServerListing {
  name: string;
  title: string;
  transport: string;
  enabled: boolean;
  status: string;
  circuit: string;
}

export interface WebOptions {
  config: GatehouseConfig;
  durable: DurableStore;
  ephemeral: EphemeralStore;
  audit: AuditSink;
  version: string;
  startedAt: number;
  /** Secret the session forms' CSRF tokens are derived from (the same on every instance). */
  secret: string;
  /** Gatehouse's Entra client; without one (no Entra credential) only the break-glass login exists. */
  entra: EntraClient | undefined;
  /** Graph on the user's behalf at sign-in: groups overage, MCP_AZURE_VALIDATE_WITH_GRAPH. */
  delegated?: DelegatedAccess;
  /** Told when a grant is revoked here, so its access tokens stop at once on this instance. */
  onGrantRevoked?: (grantId: string) => void;
  /** The upstream servers and where each stands. */
  servers: () => ServerListing[];
  /** The audit log's search (the admin console's audit page). */
  searchAudit: SearchAudit;
  /** Enables the break-glass login form at /admin/login. */
  checkBreakGlassLogin?: CheckBreakGlassLogin;
  now?: () => number;
}

/** Who is looking at a page: a live browser session and the roles it holds now. */
export interface Viewer {
  sessionId: string;
  session: WebSession;
  /** Effective roles, worked out on each request as for an MCP caller. */
  roles: string[];
  memberships: MembershipRecord[];
  /** The token every form of this session carries. */
  csrfToken: string;
  label: string;
}

/** The pieces every web route shares: cookies, sessions and their CSRF tokens. */
export class WebContext {
  readonly sessions: WebSessions;
  readonly csrf: ConsentCsrf;
  readonly secureCookies: boolean;
  readonly sessionCookie: string;
  readonly cookieOptions: { path: string; httpOnly: true; sameSite: 'lax'; secure: boolean };

  constructor(readonly options: WebOptions) {
    this.sessions = new WebSessions(options.ephemeral);
    this.csrf = new ConsentCsrf(options.secret);
    this.secureCookies = options.config.server.baseUrl.startsWith('https:');
    this.sessionCookie = this.cookieName('gh_session');
    this.cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax', secure: this.secureCookies };
  }

  /** `__Host-` cookies on HTTPS (bound to this host, path /, Secure); plain names on loopback HTTP. */
  cookieName(name: string): string {
    return this.secureCookies ? `__Host-${name}` : name;
  }

  now(): number {
    return (this.options.now ?? Date.now)();
  }

  async viewer(request: FastifyRequest): Promise<Viewer | undefined> {
    const sessionId = request.cookies[this.sessionCookie];
    const session = await this.sessions.find(sessionId);
    if (session === undefined || sessionId === undefined) return undefined;
    const csrfToken = this.csrf.tokenFor(sessionId, 'web-session');
    if (session.via === 'break-glass' || session.userId === null) {
      return { sessionId, session, roles: ['admin'], memberships: [], csrfToken, label: session.name };
    }
    const user = await this.options.durable.users.findById(session.userId);
    if (user === undefined) return undefined;
    const access = await resolveUserAccess(this.options.durable, this.options.config, user, {
      appRoles: session.appRoles,
      groups: session.groups,
      isPerson: true,
    });
    return {
      sessionId,
      session,
      roles: access.roles,
      memberships: access.memberships,
      csrfToken,
      label: user.preferredUsername ?? user.displayName ?? session.name,
    };
  }

  /** Whether a posted form carries this session's CSRF token. */
  formIsValid(viewer: Viewer, body: unknown): boolean {
    const token = (body as { csrf?: unknown } | undefined)?.csrf;
    return this.csrf.verify(viewer.sessionId, 'web-session', token);
  }

  async startSession(reply: FastifyReply, session: WebSession): Promise<void> {
    const id = await this.sessions.open(session);
    reply.setCookie(this.sessionCookie, id, this.cookieOptions);
  }

  async endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.sessions.end(request.cookies[this.sessionCookie]);
    reply.clearCookie(this.sessionCookie, this.cookieOptions);
  }

  emitAdminAction(
    request: FastifyRequest,
    actor: Viewer | string,
    action: string,
    target: string,
    outcome: 'ok' | 'error' | 'denied',
  ): void {
    this.options.audit.emit({
      type: 'admin.action',
      at: new Date(this.now()).toISOString(),
      requestId: request.id,
      userId: typeof actor === 'string' ? actor : actorId(actor),
      action,
      target,
      outcome,
    });
  }
}

/** The audit log's name for who acted: the user id, or `break-glass:<username>`. */
export function actorId(viewer: Viewer): string {
  return viewer.session.userId ?? `break-glass:${viewer.session.name}`;
}

/** A path on this site to go back to after sign-in; anything else becomes `/`. */
export function localPath(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\w\-./?=&%]*$/.test(value) ? value : '/';
}
