import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from '../context.js';
import { readBody, sendJson } from '../lib/http.js';
import type { SeedUser } from '../seed.js';
import {
  authenticateGraphCaller,
  type GraphCaller,
  requireAnyScope,
  requireDelegatedUser,
} from './graph-caller.js';
import { GraphError, sendGraphError } from './graph-errors.js';

function userResource(user: SeedUser): Record<string, unknown> {
  return {
    businessPhones: [],
    displayName: user.displayName,
    givenName: user.givenName ?? null,
    jobTitle: user.jobTitle ?? null,
    mail: user.mail ?? null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: user.surname ?? null,
    userPrincipalName: user.userPrincipalName,
    id: user.id,
  };
}

/**
 * `/me`: the default properties, or with `$select` exactly the properties named (Graph's
 * non-default ones, such as `accountEnabled`, only that way).
 */
function me(ctx: EmulatorContext, caller: GraphCaller, url: URL): Record<string, unknown> {
  const user = requireDelegatedUser(caller);
  requireAnyScope(caller, ['User.Read', 'User.ReadWrite', 'User.Read.All', 'Directory.Read.All']);
  const select = url.searchParams.get('$select');
  const context = `${ctx.graphBaseUrl}/v1.0/$metadata#users/$entity`;
  if (select === null) return { '@odata.context': context, ...userResource(user) };
  const all: Record<string, unknown> = {
    ...userResource(user),
    accountEnabled: !ctx.directory.userIsListed(user, ctx.switches.disabledUsers),
  };
  const names = select.split(',').map((name) => name.trim());
  const chosen = Object.fromEntries(
    names.filter((name) => name in all).map((name) => [name, all[name]] as const),
  );
  return {
    '@odata.context': `${ctx.graphBaseUrl}/v1.0/$metadata#users(${names.join(',')})/$entity`,
    ...chosen,
  };
}

/** `/me/memberOf`, paged with `$top` and an opaque `$skiptoken` like Graph's `@odata.nextLink`. */
function memberOf(ctx: EmulatorContext, caller: GraphCaller, url: URL): Record<string, unknown> {
  const user = requireDelegatedUser(caller);
  requireAnyScope(caller, ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All']);
  const all = ctx.directory.groupsOf(user).map((g) => ({
    '@odata.type': '#microsoft.graph.group',
    id: g.id,
    deletedDateTime: null,
    description: null,
    displayName: g.displayName,
    groupTypes: [],
    mail: null,
    mailEnabled: false,
    mailNickname: g.displayName.toLowerCase().replace(/[^a-z0-9]/g, ''),
    securityEnabled: true,
  }));
  const top = Math.max(1, Math.min(999, Number(url.searchParams.get('$top') ?? 100) || 100));
  const skip = Number(Buffer.from(url.searchParams.get('$skiptoken') ?? '', 'base64url').toString() || 0);
  const page = all.slice(skip, skip + top);
  const body: Record<string, unknown> = {
    '@odata.context': `${ctx.graphBaseUrl}/v1.0/$metadata#directoryObjects`,
    value: page,
  };
  if (skip + top < all.length) {
    const next = new URL(`${ctx.graphBaseUrl}/v1.0/me/memberOf`);
    next.searchParams.set('$top', String(top));
    next.searchParams.set('$skiptoken', Buffer.from(String(skip + top)).toString('base64url'));
    body['@odata.nextLink'] = next.toString();
  }
  return body;
}

/** `POST /users/{id|upn}/getMemberObjects`, where overage claims send clients. */
async function getMemberObjects(
  ctx: EmulatorContext,
  caller: GraphCaller,
  req: IncomingMessage,
  id: string,
): Promise<Record<string, unknown>> {
  if (req.method !== 'POST')
    throw new GraphError(
      405,
      'Request_BadRequest',
      'Specified HTTP method is not allowed for the request target.',
    );
  const target = id === 'me' ? caller.user : (ctx.directory.user(id) ?? ctx.directory.userBySignInName(id));
  if (!target)
    throw new GraphError(
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
  const self = caller.user?.id === target.id;
  requireAnyScope(
    caller,
    self
      ? ['User.Read', 'GroupMember.Read.All', 'Directory.Read.All']
      : ['GroupMember.Read.All', 'Directory.Read.All'],
  );
  const body = JSON.parse((await readBody(req)) || '{}') as { securityEnabledOnly?: unknown };
  if (typeof body.securityEnabledOnly !== 'boolean') {
    throw new GraphError(
      400,
      'Request_BadRequest',
      "The request body must contain the parameter 'securityEnabledOnly'.",
    );
  }
  return {
    '@odata.context': `${ctx.graphBaseUrl}/v1.0/$metadata#Collection(Edm.String)`,
    value: [...target.groups],
  };
}

/** Graph's OIDC userinfo endpoint, which v2 discovery advertises. */
function userinfo(caller: GraphCaller): Record<string, unknown> {
  const user = requireDelegatedUser(caller);
  return {
    sub: String(caller.claims.sub),
    name: user.displayName,
    family_name: user.surname,
    given_name: user.givenName,
    ...(user.mail ? { email: user.mail } : {}),
  };
}

/** Microsoft Graph routes the emulator serves (a small subset of v1.0). */
export async function handleGraph(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const path = url.pathname.replace(/\/$/, '');
  const memberObjects = /^\/v1\.0\/(?:users\/([^/]+)|(me))\/getMemberObjects$/i.exec(path);
  const known =
    path === '/v1.0/me' || path === '/v1.0/me/memberOf' || path === '/oidc/userinfo' || memberObjects;
  if (!known) return false;
  try {
    const caller = await authenticateGraphCaller(ctx, req);
    let body: Record<string, unknown>;
    if (path === '/v1.0/me') body = me(ctx, caller, url);
    else if (path === '/v1.0/me/memberOf') body = memberOf(ctx, caller, url);
    else if (path === '/oidc/userinfo') body = userinfo(caller);
    else
      body = await getMemberObjects(
        ctx,
        caller,
        req,
        decodeURIComponent(memberObjects![1] ?? memberObjects![2]!),
      );
    sendJson(res, 200, body, { 'odata-version': '4.0' });
  } catch (e) {
    if (e instanceof GraphError) sendGraphError(ctx, req, res, e);
    else throw e;
  }
  return true;
}
