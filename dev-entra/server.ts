import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext, ProtocolVersion } from './context.js';
import { ADMIN_PREFIX, handleAdmin } from './endpoints/admin.js';
import { handleAuthorize } from './endpoints/authorize.js';
import { handleDiscovery, handleJwks } from './endpoints/discovery.js';
import { errorPage, page } from './endpoints/html-layout.js';
import { handleLogout } from './endpoints/logout.js';
import { correlationIdOf, handleToken, sendAadstsError } from './endpoints/token.js';
import { AadstsError } from './errors/aadsts-error.js';
import { AADSTS, type AadstsCode } from './errors/catalogue.js';
import { handleGraph } from './graph/graph-routes.js';
import { escapeHtml } from './lib/encoding.js';
import { BodyTooLargeError, sendHtml, sendJson } from './lib/http.js';

/** `/{tenant}/<rest>` routes, each with the protocol version its path implies. */
const TENANT_ROUTES: {
  path: string;
  version: ProtocolVersion;
  kind: 'discovery' | 'jwks' | 'authorize' | 'token' | 'logout';
}[] = [
  { path: 'v2.0/.well-known/openid-configuration', version: 'v2', kind: 'discovery' },
  { path: '.well-known/openid-configuration', version: 'v1', kind: 'discovery' },
  { path: 'discovery/v2.0/keys', version: 'v2', kind: 'jwks' },
  { path: 'discovery/keys', version: 'v1', kind: 'jwks' },
  { path: 'oauth2/v2.0/authorize', version: 'v2', kind: 'authorize' },
  { path: 'oauth2/authorize', version: 'v1', kind: 'authorize' },
  { path: 'oauth2/v2.0/token', version: 'v2', kind: 'token' },
  { path: 'oauth2/token', version: 'v1', kind: 'token' },
  { path: 'oauth2/v2.0/logout', version: 'v2', kind: 'logout' },
  { path: 'oauth2/logout', version: 'v1', kind: 'logout' },
];

function homePage(ctx: EmulatorContext): string {
  const t = ctx.tenantId;
  const links = [
    `${ctx.baseUrl}/${t}/v2.0/.well-known/openid-configuration`,
    `${ctx.baseUrl}/${t}/.well-known/openid-configuration`,
    `${ctx.baseUrl}/common/v2.0/.well-known/openid-configuration`,
    `${ctx.baseUrl}/${t}/discovery/v2.0/keys`,
  ];
  return page(
    'dev-entra',
    `<h1>Gatehouse dev-entra</h1><p class="note">Tenant <code>${t}</code> (${escapeHtml(ctx.seed.tenant.domain)})</p>
<ul>${links.map((l) => `<li><a href="${escapeHtml(l)}"><code>${escapeHtml(l)}</code></a></li>`).join('')}</ul>`,
  );
}

async function route(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const path = url.pathname;
  if (path === '/' || path === '') return sendHtml(res, 200, homePage(ctx));
  if (path === '/error') {
    const code = Number(url.searchParams.get('code')) as AadstsCode;
    return sendHtml(res, 200, errorPage(code, AADSTS[code]?.message ?? 'Unknown error code.'));
  }
  if (path.startsWith(`${ADMIN_PREFIX}/`)) return handleAdmin(ctx, req, res, url);
  if (await handleGraph(ctx, req, res, url)) return;
  const slash = path.indexOf('/', 1);
  const segment = decodeURIComponent(slash > 0 ? path.slice(1, slash) : path.slice(1));
  const rest = slash > 0 ? path.slice(slash + 1).replace(/\/$/, '') : '';
  const found = TENANT_ROUTES.find((r) => r.path === rest.toLowerCase());
  if (!found) return sendJson(res, 404, { error: 'not_found', error_description: `No endpoint at ${path}` });
  const kind = ctx.directory.tenantSegment(segment);
  if (!kind) {
    const error = new AadstsError(90002, {
      detail: `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. This emulator serves only tenant ${ctx.tenantId} (${ctx.seed.tenant.domain}), 'common' and 'organizations'.`,
    });
    if (found.kind === 'authorize')
      return sendHtml(res, 400, errorPage(90002, error.message.replace(/^AADSTS\d+: /, '')));
    return sendAadstsError(ctx, res, error, correlationIdOf(req, url));
  }
  switch (found.kind) {
    case 'discovery':
      return handleDiscovery(ctx, res, url, found.version, segment, kind);
    case 'jwks':
      return handleJwks(ctx, res, found.version, kind);
    case 'authorize':
      return handleAuthorize(ctx, req, res, url, found.version, segment);
    case 'token':
      return handleToken(ctx, req, res, url, found.version, segment);
    case 'logout':
      return handleLogout(ctx, req, res, url);
  }
}

/** The request listener; failures become a 500 without leaking a stack to the client. */
export function createRequestHandler(
  ctx: EmulatorContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', ctx.baseUrl);
    route(ctx, req, res, url).catch((e: unknown) => {
      if (res.headersSent) return res.destroy();
      if (e instanceof BodyTooLargeError)
        return sendJson(res, 413, { error: 'invalid_request', error_description: e.message });
      if (e instanceof SyntaxError)
        return sendJson(res, 400, { error: 'invalid_request', error_description: 'malformed request body' });
      process.emitWarning(`dev-entra: ${(e as Error)?.stack ?? String(e)}`);
      sendJson(res, 500, { error: 'server_error', error_description: 'dev-entra internal error' });
    });
  };
}
