import { AadstsError } from '../errors/aadsts-error.js';
import { issueDelegatedTokens } from './delegated-tokens.js';
import { checkOrigin, required, type TokenRequest, type TokenResponseBody } from './token-request.js';

/**
 * `grant_type=refresh_token`: bound to user and client, not to an API. Every use returns a new
 * refresh token and leaves the old one valid, as Entra does.
 */
export async function refreshTokenGrant(request: TokenRequest): Promise<TokenResponseBody> {
  const { ctx, params, client } = request;
  const token = required(params, 'refresh_token');
  const grant = ctx.state.findRefreshToken(token);
  if (!grant) throw new AadstsError(9002313);
  if (grant.expiresAt <= ctx.now()) {
    throw new AadstsError(700082, {
      detail: `The refresh token has expired due to inactivity. The token was issued on ${new Date(grant.expiresAt).toISOString()} and was inactive for 90.00:00:00.`,
    });
  }
  if (grant.clientId !== client.app.appId) {
    throw new AadstsError(70000, {
      detail: 'Provided grant is invalid or malformed. The refresh token was issued to a different client.',
    });
  }
  checkOrigin(request.req, grant.redirectKind);
  const user = ctx.directory.user(grant.signIn.userId);
  if (!user) throw new AadstsError(50034);
  return issueDelegatedTokens(request, {
    user,
    signIn: grant.signIn,
    scope: params.get('scope') ?? grant.scope,
    resource: params.get('resource') ?? undefined,
    nonce: undefined,
    redirectKind: grant.redirectKind,
    multipleResources: 'first',
    ...(grant.redirectKind === 'spa' ? { refreshDeadline: grant.expiresAt } : {}),
    idToken: true,
  });
}
