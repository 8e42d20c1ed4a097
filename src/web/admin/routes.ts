import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { AuditQuery } from '../../ops/audit-log.js';
import { effectiveRoles } from '../../policy/roles.js';
import type { MembershipInput } from '../../storage/contract.js';
import type { Viewer, WebContext } from '../context.js';
import { LIST_LIMIT, listGrants, revokeGrant } from '../grants.js';
import { csrfRefusal, errorPage, sendPage } from '../responses.js';
import {
  auditPage,
  breakGlassPage,
  type ClientRow,
  clientsPage,
  configPage,
  overviewPage,
  serversPage,
  usersPage,
} from './pages.js';
import { redactedConfig } from './redacted-config.js';

const ADMIN_ROLE = 'admin';
const NAME = /^[\w.@-]{1,64}$/;
const USERS_SHOWN = 200;

declare module 'fastify' {
  interface FastifyRequest {
    adminViewer?: Viewer;
  }
}

/**
 * The admin console: server-rendered pages for holders of the admin role, every form protected by
 * the session's CSRF token, every change audited as `admin.action`.
 */
export async function adminRoutes(app: FastifyInstance, { ctx }: { ctx: WebContext }) {
  const { options } = ctx;
  const { durable, config } = options;
  const loginCsrfCookie = ctx.cookieName('gh_admin_login');

  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url === '/admin/login') return;
    const viewer = await ctx.viewer(request);
    if (viewer === undefined) {
      const back = request.method === 'GET' ? request.url : '/admin';
      return sendPage(
        reply,
        401,
        errorPage(
          'Sign in to the admin console',
          'The admin console is for Gatehouse administrators. Sign in first.',
          'GH_WEB_SIGN_IN_REQUIRED',
        ).replace(
          '<a href="/">Gatehouse home</a>',
          `<a class="button" id="sign-in" href="/auth/login?return=${encodeURIComponent(back)}">Sign in</a>${
            options.checkBreakGlassLogin ? ' or use the <a href="/admin/login">break-glass login</a>' : ''
          }`,
        ),
      );
    }
    if (!viewer.roles.includes(ADMIN_ROLE)) {
      throw new GatehouseError(
        'GH_WEB_FORBIDDEN',
        `You are signed in as ${viewer.label}, who does not hold the admin role, so the admin console is closed to you. An administrator can give you the role (a membership with role admin, the Entra app role admin, or a group mapped to it).`,
      );
    }
    if (request.method === 'POST' && !ctx.formIsValid(viewer, request.body)) {
      ctx.emitAdminAction(request, viewer, 'form', request.url, 'denied');
      throw csrfRefusal();
    }
    request.adminViewer = viewer;
  });
  const viewerOf = (request: FastifyRequest) => request.adminViewer as Viewer;

  app.get('/admin', async (request, reply) => {
    const checks = await Promise.all([
      probe(`database (${durable.backend})`, () => durable.ping()),
      probe(`short-lived state (${options.ephemeral.backend})`, () => options.ephemeral.ping()),
    ]);
    const [users, clients, grants] = await Promise.all([
      durable.users.list(LIST_LIMIT),
      durable.oauthModels.list('Client', LIST_LIMIT),
      durable.oauthModels.list('Grant', LIST_LIMIT),
    ]);
    const count = (n: number) => (n >= LIST_LIMIT ? `${LIST_LIMIT}+` : String(n));
    return sendPage(
      reply,
      200,
      overviewPage(viewerOf(request), {
        version: options.version,
        uptimeSeconds: (ctx.now() - options.startedAt) / 1000,
        checks,
        counts: [
          { label: 'users', value: count(users.length) },
          { label: 'OAuth clients', value: count(clients.length + config.clients.length) },
          { label: 'grants', value: count(grants.length) },
          { label: 'upstream servers', value: String(options.servers().length) },
        ],
      }),
    );
  });

  app.get('/admin/users', async (request, reply) => {
    const users = await durable.users.list(USERS_SHOWN);
    const rows = await Promise.all(
      users.map(async (user) => {
        const [memberships, session] = await Promise.all([
          durable.memberships.listForUser(user.id),
          durable.entraSessions.find(user.id),
        ]);
        const entraRoles = session?.roles ?? [];
        const roles = effectiveRoles({
          appRoles: entraRoles,
          groups: (session?.groups ?? []).map((group) => group.toLowerCase()),
          groupRoles: config.auth.groupRoles,
          memberships,
        });
        return { user, memberships, entraRoles, entraKnown: session !== undefined, roles: [...roles].sort() };
      }),
    );
    return sendPage(reply, 200, usersPage(viewerOf(request), rows, flashOf(request)));
  });

  const membershipChange =
    (action: 'add-membership' | 'remove-membership' | 'change-membership') =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const viewer = viewerOf(request);
      const { userId } = request.params as { userId: string };
      const body = request.body as Record<string, unknown>;
      const user = await durable.users.findById(userId);
      if (user === undefined) throw invalid('No user has that id: reload the users page.');
      const membership = membershipFrom(userId, body);
      const target = `${user.preferredUsername ?? user.id} ${describe(membership)}`;
      let flash: string;
      if (action === 'add-membership') {
        await durable.memberships.add(membership);
        flash = `Added ${describe(membership)} to ${user.preferredUsername ?? user.id}.`;
      } else if (action === 'remove-membership') {
        if (!(await durable.memberships.remove(membership)))
          throw invalid('That membership does not exist (any more).');
        flash = `Removed ${describe(membership)} from ${user.preferredUsername ?? user.id}.`;
      } else {
        const newRole = field(body, 'newRole', true) as string;
        if (!(await durable.memberships.remove(membership)))
          throw invalid('That membership does not exist (any more).');
        await durable.memberships.add({ ...membership, role: newRole });
        flash = `Changed ${describe(membership)} of ${user.preferredUsername ?? user.id} to role ${newRole}.`;
      }
      ctx.emitAdminAction(
        request,
        viewer,
        action,
        action === 'change-membership' ? `${target} -> ${String(body.newRole)}` : target,
        'ok',
      );
      return reply.redirect(`/admin/users?done=${encodeURIComponent(flash)}`, 303);
    };
  app.post('/admin/users/:userId/memberships', membershipChange('add-membership'));
  app.post('/admin/users/:userId/memberships/remove', membershipChange('remove-membership'));
  app.post('/admin/users/:userId/memberships/change', membershipChange('change-membership'));

  app.get('/admin/clients', async (request, reply) => {
    const stored = await durable.oauthModels.list('Client', LIST_LIMIT);
    const clients: ClientRow[] = [
      ...config.clients.map((client) => clientRow(client, 'configured')),
      ...stored.map((row) => clientRow(row.payload, 'registered')),
    ];
    const grants = await listGrants(durable, config);
    const labels = new Map<string, string>();
    for (const grant of grants) {
      if (!labels.has(grant.accountId)) {
        const user = await durable.users.findById(grant.accountId);
        labels.set(grant.accountId, user?.preferredUsername ?? user?.displayName ?? grant.accountId);
      }
    }
    return sendPage(
      reply,
      200,
      clientsPage(
        viewerOf(request),
        clients,
        grants.map((grant) => ({ ...grant, userLabel: labels.get(grant.accountId) ?? grant.accountId })),
        flashOf(request),
      ),
    );
  });

  app.post('/admin/grants/:grantId/revoke', async (request, reply) => {
    const { grantId } = request.params as { grantId: string };
    const grant = (await listGrants(durable, config)).find((listed) => listed.id === grantId);
    const ended = await revokeGrant(durable, grantId, options.onGrantRevoked);
    const target = grant ? `${grantId} (client ${grant.clientId}, user ${grant.accountId})` : grantId;
    ctx.emitAdminAction(request, viewerOf(request), 'revoke-grant', target, ended ? 'ok' : 'error');
    if (!ended) throw invalid('No such grant: it has ended already.');
    const flash = `Revoked the grant of ${grant?.clientName ?? 'the client'}: its tokens no longer work.`;
    return reply.redirect(`/admin/clients?done=${encodeURIComponent(flash)}`, 303);
  });

  app.get('/admin/servers', async (request, reply) =>
    sendPage(reply, 200, serversPage(viewerOf(request), options.servers())),
  );

  app.get('/admin/audit', async (request, reply) => {
    const query = auditQueryOf(request.query as Record<string, string | undefined>);
    const result = await options.searchAudit({ ...query, limit: 50 });
    let next: string | undefined;
    if (result.nextCursor !== null) {
      const params = new URLSearchParams(request.query as Record<string, string>);
      params.set('cursor', result.nextCursor);
      next = `/admin/audit?${params}`;
    }
    return sendPage(reply, 200, auditPage(viewerOf(request), query, result, next));
  });

  app.get('/admin/config', async (request, reply) =>
    sendPage(reply, 200, configPage(viewerOf(request), JSON.stringify(redactedConfig(config), null, 2))),
  );

  // The break-glass login: enabled only when a checker (password hash and throttle) is configured.
  app.get('/admin/login', async (request, reply) => {
    breakGlassEnabled();
    const value = request.cookies[loginCsrfCookie] ?? randomBytes(24).toString('base64url');
    reply.setCookie(loginCsrfCookie, value, ctx.cookieOptions);
    return sendPage(reply, 200, breakGlassPage(ctx.csrf.tokenFor(value, 'break-glass-login')));
  });

  app.post('/admin/login', { config: { gatehouseRateLimit: 'login' } }, async (request, reply) => {
    const check = breakGlassEnabled();
    const body = (request.body ?? {}) as Record<string, unknown>;
    const browserValue = request.cookies[loginCsrfCookie];
    if (browserValue === undefined || !ctx.csrf.verify(browserValue, 'break-glass-login', body.csrf))
      throw csrfRefusal();
    const username = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const token = ctx.csrf.tokenFor(browserValue, 'break-glass-login');
    if (username === '' || password === '')
      return sendPage(reply, 400, breakGlassPage(token, 'Enter the username and the password.'));
    const result = await check({ username, password, ip: request.ip });
    if (!result.ok) {
      ctx.emitAdminAction(request, `break-glass:${username}`, 'sign-in', 'break-glass', 'denied');
      if (result.retryAfterSeconds !== undefined)
        reply.header('retry-after', String(result.retryAfterSeconds));
      return sendPage(
        reply,
        result.retryAfterSeconds !== undefined ? 429 : 401,
        breakGlassPage(token, `${result.message} (${result.code})`),
      );
    }
    await ctx.sessions.end(request.cookies[ctx.sessionCookie]);
    await ctx.startSession(reply, {
      via: 'break-glass',
      userId: null,
      name: username,
      appRoles: [],
      groups: [],
      createdAt: ctx.now(),
    });
    ctx.emitAdminAction(request, `break-glass:${username}`, 'sign-in', 'break-glass', 'ok');
    return reply.redirect('/admin', 303);
  });

  function breakGlassEnabled() {
    const check = options.checkBreakGlassLogin;
    if (check === undefined) {
      throw new GatehouseError(
        'GH_WEB_SIGN_IN_UNAVAILABLE',
        'The break-glass login is not enabled on this Gatehouse (no local admin password hash is configured). Sign in with Entra ID at /auth/login.',
      );
    }
    return check;
  }
}

function membershipFrom(userId: string, body: Record<string, unknown>): MembershipInput {
  const team = field(body, 'team', false);
  return {
    userId,
    org: field(body, 'org', true) as string,
    team: team ?? null,
    role: field(body, 'role', true) as string,
  };
}

function field(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = typeof body[name] === 'string' ? (body[name] as string).trim() : '';
  if (value === '') {
    if (required) throw invalid(`The field '${name}' is required.`);
    return undefined;
  }
  if (!NAME.test(value))
    throw invalid(
      `The field '${name}' must be 1 to 64 letters, digits, '.', '@', '-' or '_' (got '${value}').`,
    );
  return value;
}

function describe(membership: MembershipInput): string {
  return `${membership.org}${membership.team ? `/${membership.team}` : ''}:${membership.role}`;
}

function invalid(message: string): GatehouseError {
  return new GatehouseError('GH_WEB_INPUT_INVALID', message);
}

function flashOf(request: FastifyRequest): string | undefined {
  const done = (request.query as { done?: unknown }).done;
  return typeof done === 'string' ? done.slice(0, 300) : undefined;
}

function clientRow(payload: Record<string, unknown>, source: ClientRow['source']): ClientRow {
  const clientId = String(payload.client_id ?? '');
  return {
    clientId,
    name: typeof payload.client_name === 'string' ? payload.client_name : clientId,
    source,
    redirectUris: Array.isArray(payload.redirect_uris) ? payload.redirect_uris.map(String) : [],
  };
}

function auditQueryOf(query: Record<string, string | undefined>): AuditQuery {
  const text = (value: string | undefined) =>
    value === undefined || value.trim() === '' ? undefined : value.trim();
  const time = (value: string | undefined) => {
    const given = text(value);
    if (given === undefined) return undefined;
    const parsed = new Date(given);
    if (Number.isNaN(parsed.getTime()))
      throw invalid(`'${given}' is not a time: use an ISO time such as 2026-12-02T10:00:00Z.`);
    return parsed;
  };
  const result: AuditQuery = {};
  const set = <K extends keyof AuditQuery>(key: K, value: AuditQuery[K] | undefined) => {
    if (value !== undefined) result[key] = value;
  };
  set('userId', text(query.user));
  set('type', text(query.type));
  set('tool', text(query.tool));
  set('server', text(query.server));
  set('outcome', text(query.outcome));
  set('since', time(query.since));
  set('until', time(query.until));
  set('cursor', text(query.cursor));
  return result;
}

async function probe(name: string, ping: () => Promise<void>): Promise<{ name: string; result: string }> {
  try {
    await ping();
    return { name, result: 'ok' };
  } catch (error) {
    return { name, result: (error as Error).message };
  }
}
