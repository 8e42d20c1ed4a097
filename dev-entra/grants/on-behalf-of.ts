import type { JWTPayload } from 'jose';
import type { EmulatorContext } from '../context.js';
import { AadstsError } from '../errors/aadsts-error.js';
import type { SeedApplication, SeedUser } from '../seed.js';
import { IssuedTokenError, verifyIssuedToken } from '../tokens/verify-issued-token.js';
import { issueDelegatedTokens } from './delegated-tokens.js';
import { required, type TokenRequest, type TokenResponseBody } from './token-request.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Conditional Access policy id quoted in MFA claims challenges. */
export const MFA_POLICY_ID = 'a6f9c8e1-0d3b-4b7a-9c2e-5f1d8e7a6b4c';

async function verifyAssertion(ctx: EmulatorContext, assertion: string): Promise<JWTPayload> {
  try {
    return await verifyIssuedToken(ctx, assertion);
  } catch (e) {
    if (e instanceof IssuedTokenError && e.reason === 'expired') {
      throw new AadstsError(500133, {
        detail:
          'Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token.',
      });
    }
    throw new AadstsError(50013, {
      detail:
        'Assertion failed signature validation. [Reason - The key was not found or the provided signature value did not match the expected signature value.]',
    });
  }
}

function checkAudience(ctx: EmulatorContext, payload: JWTPayload, client: SeedApplication): void {
  const aud = typeof payload.aud === 'string' ? payload.aud : '';
  const accepted = [client.appId, ...client.identifierUris].map((a) => a.toLowerCase().replace(/\/$/, ''));
  if (!accepted.includes(aud.toLowerCase().replace(/\/$/, ''))) {
    throw new AadstsError(500131, {
      detail: `Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '${aud}' and the expected audience is '${client.appId}' or one of the Application Uris of this application with App ID '${client.appId}'(${client.displayName}). The downstream client must request a token for the expected audience (the application that made the OBO request) and this application should use that token as the assertion.`,
    });
  }
  if (payload.iss !== ctx.issuerV1() && payload.iss !== ctx.issuerV2()) {
    throw new AadstsError(50013, {
      detail: 'Assertion failed signature validation. [Reason - The issuer is not trusted.]',
    });
  }
}

function assertionUser(ctx: EmulatorContext, payload: JWTPayload): SeedUser {
  // App-only tokens have no `scp`; on-behalf-of exchanges a user's delegated token only.
  const user =
    typeof payload.scp === 'string' && typeof payload.oid === 'string'
      ? ctx.directory.user(payload.oid)
      : undefined;
  if (!user) {
    throw new AadstsError(50013, {
      detail:
        'Assertion failed signature validation. [Reason - The assertion is an application token; on-behalf-of needs a delegated user token.]',
    });
  }
  return user;
}

function passedMfa(ctx: EmulatorContext, payload: JWTPayload): boolean {
  const amr = (payload as { amr?: unknown }).amr;
  return (Array.isArray(amr) && amr.includes('mfa')) || ctx.state.mfaTokens.has(String(payload.uti));
}

/**
 * On-behalf-of (`jwt-bearer` + `requested_token_use=on_behalf_of`): a confidential middle tier
 * exchanges a user token addressed to it for a delegated token to a downstream API.
 */
export async function onBehalfOfGrant(request: TokenRequest): Promise<TokenResponseBody> {
  const { ctx, params, client } = request;
  if (params.get('requested_token_use') !== 'on_behalf_of') {
    throw new AadstsError(900144, {
      detail: "The request body must contain the following parameter: 'requested_token_use'.",
    });
  }
  if (client.acr === '0') throw new AadstsError(7000218);
  const payload = await verifyAssertion(ctx, required(params, 'assertion'));
  checkAudience(ctx, payload, client.app);
  const user = assertionUser(ctx, payload);
  const mfa = passedMfa(ctx, payload);
  if (!mfa && ctx.directory.userIsListed(user, ctx.switches.mfaChallengeUsers)) {
    throw new AadstsError(50076, {
      claims: JSON.stringify({ access_token: { capolids: { essential: true, values: [MFA_POLICY_ID] } } }),
    });
  }
  const scope = request.version === 'v2' ? required(params, 'scope') : (params.get('scope') ?? '');
  return issueDelegatedTokens(request, {
    user,
    signIn: {
      sid: String(payload.sid ?? ''),
      userId: user.id,
      authTime: Number(payload.iat ?? 0) * 1000,
      mfa,
    },
    scope,
    resource: params.get('resource') ?? undefined,
    nonce: undefined,
    redirectKind: 'web',
    multipleResources: 'reject',
    idToken: false,
  });
}
