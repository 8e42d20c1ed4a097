import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateClient } from '../auth/client-authentication.js';
import type { EmulatorContext, ProtocolVersion } from '../context.js';
import { AadstsError } from '../errors/aadsts-error.js';
import { authorizationCodeGrant } from '../grants/authorization-code.js';
import { clientCredentialsGrant } from '../grants/client-credentials.js';
import { JWT_BEARER, onBehalfOfGrant } from '../grants/on-behalf-of.js';
import { refreshTokenGrant } from '../grants/refresh-token.js';
import { required, type TokenRequest, type TokenResponseBody } from '../grants/token-request.js';
import { readParams, sendJson } from '../lib/http.js';
import { checkResourceParameter } from './resource-parameter.js';

const GRANTS: Record<string, (request: TokenRequest) => Promise<TokenResponseBody>> = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
  [JWT_BEARER]: onBehalfOfGrant,
};

/** Entra echoes the client's `client-request-id` (header or query, as MSAL sends it) as the correlation id. */
export function correlationIdOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['client-request-id'];
  return (
    (typeof header === 'string' ? header : undefined) ??
    url.searchParams.get('client-request-id') ??
    undefined
  );
}

export function sendAadstsError(
  ctx: EmulatorContext,
  res: ServerResponse,
  error: AadstsError,
  correlationId?: string,
): void {
  sendJson(
    res,
    error.status,
    error.toBody({ now: ctx.now(), baseUrl: ctx.baseUrl, ...(correlationId ? { correlationId } : {}) }),
  );
}

/** `POST /{tenant}/oauth2/v2.0/token` and `/{tenant}/oauth2/token`. */
export async function handleToken(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  version: ProtocolVersion,
  tenantSegment: string,
): Promise<void> {
  const correlationId = correlationIdOf(req, url);
  try {
    if (req.method !== 'POST') throw new AadstsError(900561);
    const params = await readParams(req, url);
    const grantType = required(params, 'grant_type');
    ctx.state.tokenRequests.set(grantType, (ctx.state.tokenRequests.get(grantType) ?? 0) + 1);
    if (version === 'v2') checkResourceParameter(ctx, params);
    const client = await authenticateClient(ctx, req, params, tenantSegment);
    const grant = GRANTS[grantType];
    if (!grant) {
      throw new AadstsError(70003, { detail: `The app requested an unsupported grant type '${grantType}'.` });
    }
    const body = await grant({ ctx, req, params, version, tenantSegment, client });
    sendJson(res, 200, body);
  } catch (e) {
    if (e instanceof AadstsError) return sendAadstsError(ctx, res, e, correlationId);
    throw e;
  }
}
