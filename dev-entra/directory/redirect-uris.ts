import type { SeedApplication } from '../seed.js';
import type { RedirectKind } from '../state.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Entra matches redirect URIs exactly, except that for loopback `http` URIs the port is ignored
 * (RFC 8252 §7.3): a registered `http://127.0.0.1/callback` accepts `http://127.0.0.1:53412/callback`.
 */
function matches(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  let reg: URL;
  let req: URL;
  try {
    reg = new URL(registered);
    req = new URL(requested);
  } catch {
    return false;
  }
  if (!isLoopbackHttp(reg) || !isLoopbackHttp(req)) return false;
  return reg.hostname === req.hostname && reg.pathname === req.pathname && reg.search === req.search;
}

/** Which platform registration the URI belongs to; `spa` codes must be redeemed cross-origin. */
export function findRedirectKind(app: SeedApplication, requested: string): RedirectKind | undefined {
  for (const kind of ['web', 'spa', 'publicClient'] as const) {
    if (app.redirectUris[kind].some((r) => matches(r, requested))) return kind;
  }
  return undefined;
}

export function defaultRedirectUri(app: SeedApplication): string | undefined {
  return app.redirectUris.web[0] ?? app.redirectUris.publicClient[0] ?? app.redirectUris.spa[0];
}
