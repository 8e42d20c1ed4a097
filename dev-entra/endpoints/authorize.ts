import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext, ProtocolVersion } from '../context.js';
import { parseScopes } from '../directory/scopes.js';
import { AadstsError } from '../errors/aadsts-error.js';
import { guid, randomString } from '../lib/encoding.js';
import { readCookies, readParams, sendHtml } from '../lib/http.js';
import type { SeedUser } from '../seed.js';
import type { PendingAuthorization, SignIn } from '../state.js';
import { clientInfo } from '../tokens/id-token.js';
import { AUTHORIZATION_CODE_LIFETIME_MS } from '../tokens/lifetimes.js';
import { AuthorizeError, validateAuthorizeRequest } from './authorize-request.js';
import { sendAuthorizeResponse } from './authorize-response.js';
import { errorPage } from './html-layout.js';
import { renderSignInPage } from './sign-in-page.js';

export const SESSION_COOKIE = 'dev_entra_session';

function sessionCookie(ctx: EmulatorContext, value: string, maxAge?: number): string {
  const secure = ctx.baseUrl.startsWith('https:') ? '; Secure' : '';
  const age = maxAge === undefined ? '' : `; Max-Age=${maxAge}`;
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax${secure}${age}`;
}

export function clearSessionCookie(ctx: EmulatorContext): string {
  return sessionCookie(ctx, '', 0);
}

function currentSession(ctx: EmulatorContext, req: IncomingMessage): SignIn | undefined {
  const sid = readCookies(req).get(SESSION_COOKIE);
  return sid ? ctx.state.sessions.get(sid) : undefined;
}

function redirectError(
  ctx: EmulatorContext,
  res: ServerResponse,
  pending: PendingAuthorization,
  error: AadstsError,
): void {
  const body = error.toBody({ now: ctx.now(), baseUrl: ctx.baseUrl });
  sendAuthorizeResponse(res, pending, {
    error: error.error,
    error_description: String(body.error_description),
    error_uri: String(body.error_uri),
  });
}

/** Remembers what the user agreed to at sign-in, so later refreshes for those scopes succeed. */
function recordConsent(ctx: EmulatorContext, pending: PendingAuthorization, user: SeedUser): void {
  if (pending.version !== 'v2') return;
  for (const resource of parseScopes(pending.scope, ctx.directory).resources) {
    ctx.state.consent(user.id, pending.clientId, resource.app.appId, resource.scopes);
  }
}

function issueCode(
  ctx: EmulatorContext,
  res: ServerResponse,
  pending: PendingAuthorization,
  signIn: SignIn,
  headers: Record<string, string | string[]> = {},
): void {
  const code = `1.A${randomString(120)}`;
  ctx.state.saveCode(code, {
    clientId: pending.clientId,
    redirectUri: pending.redirectUri,
    redirectKind: pending.redirectKind,
    version: pending.version,
    scope: pending.scope,
    resource: pending.resource,
    nonce: pending.nonce,
    codeChallenge: pending.codeChallenge,
    codeChallengeMethod: pending.codeChallengeMethod,
    signIn,
    expiresAt: ctx.now() + AUTHORIZATION_CODE_LIFETIME_MS,
    redeemed: false,
  });
  const user = ctx.directory.user(signIn.userId)!;
  const values: Record<string, string> = { code };
  if (pending.clientInfo) values.client_info = clientInfo(ctx, user);
  if (pending.version === 'v1') values.session_state = signIn.sid;
  sendAuthorizeResponse(res, pending, values, headers);
}

/** Single sign-on applies unless the app asked to see the page or wants a factor the session lacks. */
function canReuseSession(
  ctx: EmulatorContext,
  pending: PendingAuthorization,
  session: SignIn | undefined,
): boolean {
  if (!session) return false;
  if (pending.prompt === 'login' || pending.prompt === 'select_account' || pending.prompt === 'consent')
    return false;
  if (pending.claims && !session.mfa) return false;
  if (pending.loginHint) {
    const hinted = ctx.directory.userBySignInName(pending.loginHint);
    if (hinted?.id !== session.userId) return false;
  }
  return true;
}

async function handleSignInSubmit(
  ctx: EmulatorContext,
  res: ServerResponse,
  params: URLSearchParams,
): Promise<void> {
  const pending = ctx.state.pending.get(params.get('ctx') ?? '');
  if (!pending || pending.expiresAt <= ctx.now()) {
    return sendHtml(
      res,
      400,
      errorPage(9002313, 'The sign-in page has expired. Start again from the application.'),
    );
  }
  if (params.get('cancel')) {
    ctx.state.pending.delete(pending.id);
    return redirectError(ctx, res, pending, new AadstsError(65004));
  }
  const username = params.get('username') ?? '';
  const user = ctx.directory.userBySignInName(username);
  if (!user) {
    const error = {
      code: 50034,
      message:
        "We couldn't find an account with that username. The user account does not exist in the directory.",
    };
    return sendHtml(res, 200, renderSignInPage(ctx, pending, { error, username }));
  }
  if (params.get('password') !== user.password) {
    const error = {
      code: 50126,
      message:
        'Your account or password is incorrect. Error validating credentials due to invalid username or password.',
    };
    return sendHtml(res, 200, renderSignInPage(ctx, pending, { error, username }));
  }
  ctx.state.pending.delete(pending.id);
  const signIn: SignIn = {
    sid: guid(),
    userId: user.id,
    authTime: ctx.now(),
    mfa: pending.claims !== undefined,
  };
  ctx.state.sessions.set(signIn.sid, signIn);
  recordConsent(ctx, pending, user);
  issueCode(ctx, res, pending, signIn, { 'set-cookie': sessionCookie(ctx, signIn.sid) });
}

/** `GET|POST /{tenant}/oauth2/v2.0/authorize` and the v1 `/{tenant}/oauth2/authorize`. */
export async function handleAuthorize(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  version: ProtocolVersion,
  tenantSegment: string,
): Promise<void> {
  const params = await readParams(req, url);
  if (req.method === 'POST' && params.has('ctx')) return handleSignInSubmit(ctx, res, params);
  let pending: PendingAuthorization;
  try {
    pending = validateAuthorizeRequest(ctx, params, version, tenantSegment);
  } catch (e) {
    if (!(e instanceof AuthorizeError)) throw e;
    if (e.redirectTo) return redirectError(ctx, res, e.redirectTo, e.aadsts);
    return sendHtml(res, 400, errorPage(e.aadsts.code, e.message.replace(/^AADSTS\d+: /, '')));
  }
  const session = currentSession(ctx, req);
  if (canReuseSession(ctx, pending, session)) {
    const user = ctx.directory.user(session!.userId)!;
    recordConsent(ctx, pending, user);
    return issueCode(ctx, res, pending, session!);
  }
  if (pending.prompt === 'none') {
    return redirectError(ctx, res, pending, new AadstsError(50058));
  }
  ctx.state.pending.set(pending.id, pending);
  sendHtml(res, 200, renderSignInPage(ctx, pending, session ? { signedInUserId: session.userId } : {}));
}
