import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors/index.js';
import type { Viewer, WebContext } from './context.js';
import { html, page, WEB_PAGE_HEADERS } from './html.js';

export async function requireViewer(ctx: WebContext, request: FastifyRequest): Promise<Viewer> {
  const viewer = await ctx.viewer(request);
  if (viewer === undefined) {
    throw new GatehouseError(
      'GH_WEB_SIGN_IN_REQUIRED',
      'You are not signed in (or your session ended). Sign in at /auth/login.',
    );
  }
  return viewer;
}

export function csrfRefusal(): GatehouseError {
  return new GatehouseError(
    'GH_WEB_CSRF_INVALID',
    "This form is not valid here: its security token does not match this browser's session. Reload the page and try again.",
  );
}

export function sendPage(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).headers(WEB_PAGE_HEADERS).send(body);
}

export function errorPage(title: string, message: string, code: string): string {
  return page(
    { title },
    html`<h1>${title}</h1><p class="error">${message}</p><p class="note">Error code: <code>${code}</code>.
<a href="/">Gatehouse home</a></p>`,
  );
}
