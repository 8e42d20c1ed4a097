import { createHash } from 'node:crypto';
import { AadstsError } from '../errors/aadsts-error.js';
import { issueDelegatedTokens } from './delegated-tokens.js';
import { checkOrigin, required, type TokenRequest, type TokenResponseBody } from './token-request.js';

function pkceMatches(challenge: string, method: 'S256' | 'plain', verifier: string): boolean {
  const computed = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return computed === challenge;
}

/** `grant_type=authorization_code`: single use (AADSTS54005), PKCE-bound (AADSTS501481). */
export async function authorizationCodeGrant(request: TokenRequest): Promise<TokenResponseBody> {
  const { ctx, params, client } = request;
  const code = required(params, 'code');
  const grant = ctx.state.findCode(code);
  if (!grant) throw new AadstsError(9002313);
  if (grant.clientId !== client.app.appId) {
    throw new AadstsError(70000, {
      detail: 'Provided grant is invalid or malformed. The code was issued to a different client.',
    });
  }
  if (grant.redeemed) throw new AadstsError(54005);
  // Burned on the first attempt, so a failed PKCE check cannot be retried with the same code.
  grant.redeemed = true;
  if (grant.expiresAt <= ctx.now()) throw new AadstsError(70008);
  const redirectUri = params.get('redirect_uri');
  if (redirectUri !== grant.redirectUri) {
    throw new AadstsError(500112, {
      detail: `The reply address '${redirectUri ?? ''}' does not match the reply address '${grant.redirectUri}' provided when requesting Authorization code.`,
    });
  }
  checkOrigin(request.req, grant.redirectKind);
  if (grant.codeChallenge !== undefined) {
    const verifier = params.get('code_verifier');
    if (!verifier || !pkceMatches(grant.codeChallenge, grant.codeChallengeMethod, verifier)) {
      throw new AadstsError(501481);
    }
  }
  const user = ctx.directory.user(grant.signIn.userId);
  if (!user) throw new AadstsError(50034);
  return issueDelegatedTokens(request, {
    user,
    signIn: grant.signIn,
    scope: params.get('scope') ?? grant.scope,
    resource: params.get('resource') ?? grant.resource,
    nonce: grant.nonce,
    redirectKind: grant.redirectKind,
    // Without a `scope`, the consent-time scopes may span APIs; the first one is used.
    multipleResources: params.get('scope') === null ? 'first' : 'reject',
    idToken: true,
  });
}
