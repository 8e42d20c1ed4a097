import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import type { EmulatorContext } from '../context.js';
import { findRedirectKind } from '../directory/redirect-uris.js';
import { readCookies, readParams, redirect, sendHtml } from '../lib/http.js';
import { clearSessionCookie, SESSION_COOKIE } from './authorize.js';
import { page } from './html-layout.js';

function clientOf(params: URLSearchParams): string | undefined {
  const hint = params.get('id_token_hint');
  if (hint) {
    try {
      const aud = decodeJwt(hint).aud;
      if (typeof aud === 'string') return aud;
    } catch {
      // A malformed hint is ignored, as Entra ignores it and still signs the user out.
    }
  }
  return params.get('client_id') ?? undefined;
}

/**
 * `GET|POST /{tenant}/oauth2/v2.0/logout`: ends the session, then returns to
 * `post_logout_redirect_uri` only if it is registered on the app named by `client_id`/`id_token_hint`.
 */
export async function handleLogout(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const params = await readParams(req, url);
  const sid = readCookies(req).get(SESSION_COOKIE);
  if (sid) ctx.state.sessions.delete(sid);
  const headers = { 'set-cookie': clearSessionCookie(ctx) };
  const target = params.get('post_logout_redirect_uri');
  const app = ctx.directory.app(clientOf(params));
  if (target && app && findRedirectKind(app, target)) {
    const location = new URL(target);
    const state = params.get('state');
    if (state !== null) location.searchParams.set('state', state);
    return redirect(res, location.toString(), headers);
  }
  sendHtml(
    res,
    200,
    page(
      'Signed out',
      '<h1>You signed out of your account</h1><p class="note">It\'s a good idea to close all browser windows.</p>',
    ),
    headers,
  );
}
