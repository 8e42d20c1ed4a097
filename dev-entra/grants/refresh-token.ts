import { AadstsError } from '../errors/aadsts-error.js';
import type { RefreshRefusalCode } from '../seed.js';
import { issueDelegatedTokens } from './delegated-tokens.js';
import { MFA_POLICY_ID } from './on-behalf-of.js';
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
  if (
    ctx.directory.userIsListed(user, ctx.switches.refreshRefusalUsers) &&
    grant.signIn.authTime < ctx.refreshRefusalSince
  ) {
    throw conditionalAccessRefusal(ctx.switches.refreshRefusalCode, grant.signIn.authTime);
  }
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

/**
 * Conditional Access refusing a refresh: the user must sign in again. Sign-in frequency (70043) is
 * `invalid_grant`; MFA required or to be registered (50076, 50079) is `interaction_required` with
 * the claims challenge naming the policy.
 */
function conditionalAccessRefusal(code: RefreshRefusalCode, authTime: number): AadstsError {
  if (code === 70043) {
    return new AadstsError(70043, {
      detail: `The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on ${new Date(authTime).toISOString()} and the maximum allowed lifetime for this request is 3600.`,
    });
  }
  return new AadstsError(code, {
    claims: JSON.stringify({ access_token: { capolids: { essential: true, values: [MFA_POLICY_ID] } } }),
  });
}
