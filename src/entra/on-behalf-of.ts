import * as oidc from 'openid-client';
import { GatehouseError, isGatehouseError } from '../errors/index.js';

const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** A delegated token Entra issued on behalf of the user, for another API. */
export interface OnBehalfOfToken {
  accessToken: string;
  /** Epoch seconds. */
  expiresAt: number;
  scope: string;
}

/**
 * Entra's answers that only the user can resolve by signing in again: MFA required or to be
 * registered (AADSTS50076/50079), a Conditional Access policy (`interaction_required`, with the
 * `claims` to pass to the next /authorize), sign-in frequency (AADSTS70043).
 */
const INTERACTION = new Set(['interaction_required', 'login_required']);

/**
 * On-behalf-of (the jwt-bearer grant with `requested_token_use=on_behalf_of`, which is Entra's own
 * form, not RFC 8693): the user's token addressed to Gatehouse becomes a delegated token for
 * `scope` (one API). Client authentication is the configuration's (secret, certificate or
 * federated credential).
 */
export async function onBehalfOfRequest(
  configuration: oidc.Configuration,
  assertion: string,
  scope: string,
  now: () => number = Date.now,
): Promise<OnBehalfOfToken> {
  let tokens: oidc.TokenEndpointResponse;
  try {
    tokens = await oidc.genericGrantRequest(configuration, JWT_BEARER_GRANT, {
      assertion,
      requested_token_use: 'on_behalf_of',
      scope,
    });
  } catch (error) {
    throw processOnBehalfOfError(error, scope);
  }
  return {
    accessToken: tokens.access_token,
    expiresAt: Math.floor(now() / 1000) + (tokens.expires_in ?? 3600),
    scope: tokens.scope ?? scope,
  };
}

/** Entra's refusal of an on-behalf-of request, as a Gatehouse error the caller can act on. */
export function processOnBehalfOfError(error: unknown, scope: string): GatehouseError {
  if (error instanceof oidc.ResponseBodyError) {
    const body = error.cause as Record<string, unknown>;
    const description = String(error.error_description ?? '').split('\r\n')[0] ?? '';
    const claims = typeof body.claims === 'string' ? body.claims : undefined;
    if (INTERACTION.has(error.error) || (claims !== undefined && body.suberror === 'basic_action')) {
      return new GatehouseError(
        'GH_ENTRA_CLAIMS_CHALLENGE',
        `Entra ID needs the user to sign in again before Gatehouse may act for them toward ${scope} (${description}).`,
        { detail: { error: error.error, description, ...(claims !== undefined ? { claims } : {}) } },
      );
    }
    if (body.suberror === 'consent_required' || /AADSTS65001/.test(description)) {
      return new GatehouseError(
        'GH_ENTRA_OBO_FAILED',
        `Entra ID has no consent for Gatehouse to use ${scope} on the user's behalf (${description}). An administrator must grant admin consent for this API permission on Gatehouse's app registration (docs/azure-setup.md).`,
        { detail: { error: error.error, description } },
      );
    }
    return new GatehouseError(
      'GH_ENTRA_OBO_FAILED',
      `Entra ID refused to issue a token for ${scope} on the user's behalf: ${error.error}: ${description}`,
      { detail: { error: error.error, description } },
    );
  }
  const own = isGatehouseError(error) ? error : (error as Error | undefined)?.cause;
  if (isGatehouseError(own) && own.code === 'GH_CONFIG_INVALID') {
    return new GatehouseError(
      'GH_ENTRA_OBO_FAILED',
      "Gatehouse could not authenticate to Entra ID: its credential is not usable right now; the server's log says why.",
      { cause: own, detail: { problem: own.message } },
    );
  }
  return new GatehouseError(
    'GH_ENTRA_UNAVAILABLE',
    `Entra ID's token endpoint could not be reached for on-behalf-of: ${(error as Error).message}`,
    { cause: error },
  );
}
