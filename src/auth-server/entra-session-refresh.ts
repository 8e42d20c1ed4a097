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
  /**
   * Why Entra refused to refresh this sign-in (the user must sign in again), once it has: every
   * grant built on it is then ended, and the user's Gatehouse session no longer counts as signed in.
   */
  endedBecause?: string;
}

export interface EntraSessionKeeper {
  /**
   * Called whenever Gatehouse issues an access token for the account (sign-in and every refresh):
   * refreshes the Entra tokens when they are about to expire. When Entra answers that the user
   * must sign in again (GH_ENTRA_SIGN_IN_ENDED), or already did for an earlier refresh, the grant
   * is ended and the token request refused with invalid_grant, so the client signs in again. When
   * Entra cannot be reached, the current tokens stay in use (they are only needed for calls to Entra).
   */
  keepFresh(accountId: string, grantId: string | undefined): Promise<void>;
  /** Whether the user's Entra sign-in has ended: a new sign-in at Entra is needed. */
  signInEnded(accountId: string): Promise<boolean>;
}

export function entraSessionKeeper(options: {
  durable: DurableStore;
  entraTokens: SecretBox;
  entra: EntraClient;
  provider: () => Provider;
  warn: (error: unknown, message: string) => void;
  /** Told when a grant is ended here, so its access tokens stop at once. */
  onGrantEnded?: (grantId: string, accountId: string) => void;
  now?: () => number;
}): EntraSessionKeeper {
  const now = options.now ?? Date.now;

  async function open(accountId: string) {
    const session = await options.durable.entraSessions.find(accountId);
    if (session === undefined) return undefined;
    const tokens = JSON.parse(options.entraTokens.open(session.sealedTokens, accountId)) as SealedEntraTokens;
    return { session, tokens };
  }

  async function endGrant(accountId: string, grantId: string | undefined, reason: string): Promise<never> {
    if (grantId !== undefined) {
      const grant = await options.provider().Grant.find(grantId);
      await grant?.destroy();
      await options.durable.oauthModels.revokeByGrantId(grantId);
      options.onGrantEnded?.(grantId, accountId);
    }
    const refusal = new errors.InvalidGrant(reason);
    // oidc-provider keeps the constructor's text for debugging only; the client should read why.
    refusal.error_description = reason;
    throw refusal;
  }

  return {
    async keepFresh(accountId, grantId) {
      const opened = await open(accountId);
      if (opened === undefined) return;
      const { session, tokens } = opened;
      if (tokens.endedBecause !== undefined) return endGrant(accountId, grantId, tokens.endedBecause);
      if (
        tokens.accessTokenExpiresAt - now() / 1000 > ENTRA_REFRESH_MARGIN_SECONDS ||
        tokens.refreshToken === undefined
      )
        return;
      let fresh: Awaited<ReturnType<EntraClient['refresh']>>;
      try {
        fresh = await options.entra.refresh(tokens.refreshToken);
      } catch (error) {
        if (!isGatehouseError(error) || error.code !== 'GH_ENTRA_SIGN_IN_ENDED') {
          options.warn(error, 'Entra tokens could not be refreshed; the current ones stay in use');
          return;
        }
        // Kept, so the user's other grants end too and their Gatehouse session needs Entra again.
        const ended: SealedEntraTokens = { ...tokens, endedBecause: error.message };
        await options.durable.entraSessions.save({
          userId: accountId,
          sealedTokens: options.entraTokens.seal(JSON.stringify(ended), accountId),
          roles: session.roles,
          groups: session.groups,
        });
        return endGrant(accountId, grantId, error.message);
      }
      const sealed = options.entraTokens.seal(
        JSON.stringify({
          accessToken: fresh.accessToken,
          refreshToken: fresh.refreshToken,
          accessTokenExpiresAt: fresh.accessTokenExpiresAt,
        } satisfies SealedEntraTokens),
        accountId,
      );
      await options.durable.entraSessions.save({
        userId: accountId,
        sealedTokens: sealed,
        roles: fresh.roles,
        // Groups that overflowed the token were read from Graph at sign-in; they stay until the next.
        groups: fresh.groupsOverage ? session.groups : fresh.groups.map((group) => group.toLowerCase()),
      });
    },

    async signInEnded(accountId) {
      return (await open(accountId))?.tokens.endedBecause !== undefined;
    },
  };
}
