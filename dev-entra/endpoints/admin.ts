import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from '../context.js';
import { readBody, sendJson } from '../lib/http.js';
import { SeedError, type Switches } from '../seed.js';
import { updateSwitches } from '../switch-controls.js';

export const ADMIN_PREFIX = '/_dev-entra';

function isLoopback(address: string | undefined): boolean {
  return (
    address === '::1' || address?.startsWith('127.') === true || address?.startsWith('::ffff:127.') === true
  );
}

/**
 * The switches over HTTP, for running the emulator standalone:
 * `GET|POST /_dev-entra/switches` (JSON patch) and `POST /_dev-entra/rotate-keys` (`{"emergency":true}`).
 */
export async function handleAdmin(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { error: 'loopback callers only' });
  const path = url.pathname.slice(ADMIN_PREFIX.length);
  try {
    if (path === '/switches' && req.method === 'GET') return sendJson(res, 200, ctx.switches);
    if (path === '/switches' && req.method === 'POST') {
      const patch = JSON.parse((await readBody(req)) || '{}') as Partial<Switches>;
      return sendJson(res, 200, updateSwitches(ctx, patch));
    }
    if (path === '/rotate-keys' && req.method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}') as { emergency?: boolean };
      const kid = await ctx.keys.rotate({ emergency: body.emergency === true });
      return sendJson(res, 200, { activeKid: kid, publishedKids: ctx.keys.keys.map((k) => k.kid) });
    }
  } catch (e) {
    if (e instanceof SeedError || e instanceof SyntaxError) return sendJson(res, 400, { error: e.message });
    throw e;
  }
  sendJson(res, 404, { error: 'unknown admin endpoint' });
}
