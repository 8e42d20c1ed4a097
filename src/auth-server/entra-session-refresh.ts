import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { EntraClient } from '../entra/entra-client.js';
import { isGatehouseError } from '../errors/index.js';
import type { DurableStore } from '../storage/contract.js';
import type { SecretBox } from '../tokens/secret-box.js';

/** Entra tokens this close to expiry are refreshed when Gatehouse issues an access token. */
export const ENTRA_REFRESH_MARGIN_SECONDS = 5 * 60;

interface SealedEntraTokens {
  accessToken: string;
  refreshToken: string | undefined;
  accessTokenExpiresAt: number;
}

export interface EntraSessionKeeper {
  /**
   * Called whenever Gatehouse issues an access token for the account (sign-in and every refresh):
   * refreshes the Entra tokens when they are about to expire. When Entra answers invalid_grant, the
   * grant is ended and the token request refused, so the client must sign in again. When Entra
   * cannot be reached, the current tokens stay in use (they are only needed for calls to Entra).
   */
  keepFresh(accountId: string, grantId: string | undefined): Promise<void>;
}

export function entraSessionKeeper(options: {
  durable: DurableStore;
  entraTokens: SecretBox;
  entra: EntraClient;
  provider: () => Provider;
  warn: (error: unknown, message: string) => void;
  /** Told when a grant is ended here, so its access tokens stop at once. */
  onGrantEnded?: (grantId: string) => void;
  now?: () => number;
}): EntraSessionKeeper {
  const now = options.now ?? Date.now;
  return {
    async keepFresh(accountId, grantId) {
      const session = await options.durable.entraSessions.find(accountId);
      if (session === undefined) return;
      const tokens = JSON.parse(
        options.entraTokens.open(session.sealedTokens, accountId),
      ) as SealedEntraTokens;
      if (
        tokens.accessTokenExpiresAt - now() / 1000 > ENTRA_REFRESH_MARGIN_SECONDS ||
        tokens.refreshToken === undefined
      )
        return;
      try {
        const fresh = await options.entra.refresh(tokens.refreshToken);
        const sealed = options.entraTokens.seal(
          JSON.stringify({
            accessToken: fresh.accessToken,
            refreshToken: fresh.refreshToken,
            accessTokenExpiresAt: fresh.accessTokenExpiresAt,
          }),
          accountId,
        );
        await options.durable.entraSessions.save({
          userId: accountId,
          sealedTokens: sealed,
          roles: fresh.roles,
          groups: fresh.groups,
        });
      } catch (error) {
        if (isGatehouseError(error) && error.code === 'GH_ENTRA_SIGN_IN_ENDED') {
          if (grantId !== undefined) {
            const grant = await options.provider().Grant.find(grantId);
            await grant?.destroy();
            await options.durable.oauthModels.revokeByGrantId(grantId);
            options.onGrantEnded?.(grantId);
          }
          const refusal = new errors.InvalidGrant(error.message);
          // oidc-provider keeps the constructor's text for debugging only; the client should read why.
          refusal.error_description = error.message;
          throw refusal;
        }
        options.warn(error, 'Entra tokens could not be refreshed; the current ones stay in use');
      }
    },
  };
}
