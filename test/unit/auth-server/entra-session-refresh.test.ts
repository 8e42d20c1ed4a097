import { describe, expect, it } from 'vitest';
import { entraSessionKeeper } from '../../../src/auth-server/entra-session-refresh.js';
import type { EntraClient } from '../../../src/entra/entra-client.js';
import { GatehouseError } from '../../../src/errors/index.js';
import type { DurableStore, EntraSessionRecord } from '../../../src/storage/contract.js';
import { createSecretBox } from '../../../src/tokens/secret-box.js';

// The Entra sign-in behind Gatehouse's grants, without a socket: which answers from Entra end the
// grants (the user must sign in again) and which leave the current tokens in use.

const NOW = 1_800_000_000_000;
const box = createSecretBox(
  { value: 'unit-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz', source: 'MCP_AZURE_JWT_SIGNING_KEY' },
  'gatehouse/entra-tokens',
);

function keeperWith(refresh: EntraClient['refresh']) {
  const sessions = new Map<string, EntraSessionRecord>();
  const destroyed: string[] = [];
  const revoked: string[] = [];
  const ended: string[] = [];
  const warnings: string[] = [];
  let entraCalls = 0;
  const durable = {
    entraSessions: {
      save: async (input: Omit<EntraSessionRecord, 'updatedAt'>) =>
        void sessions.set(input.userId, {
          ...input,
          roles: [...input.roles],
          groups: [...input.groups],
          updatedAt: new Date(),
        }),
      find: async (userId: string) => sessions.get(userId),
      delete: async (userId: string) => sessions.delete(userId),
    },
    oauthModels: { revokeByGrantId: async (grantId: string) => void revoked.push(grantId) },
  } as unknown as DurableStore;
  const keeper = entraSessionKeeper({
    durable,
    entraTokens: box,
    entra: {
      refresh: (token: string) => {
        entraCalls++;
        return refresh(token);
      },
    } as EntraClient,
    provider: () =>
      ({
        Grant: { find: async (id: string) => ({ destroy: async () => void destroyed.push(id) }) },
      }) as never,
    warn: (_error, message) => void warnings.push(message),
    onGrantEnded: (grantId) => void ended.push(grantId),
    now: () => NOW,
  });
  const signIn = (userId: string, expiresInSeconds: number) =>
    durable.entraSessions.save({
      userId,
      sealedTokens: box.seal(
        JSON.stringify({
          accessToken: 'at',
          refreshToken: 'rt',
          accessTokenExpiresAt: NOW / 1000 + expiresInSeconds,
        }),
        userId,
      ),
      roles: ['user'],
      groups: [],
    });
  return { keeper, signIn, destroyed, revoked, ended, warnings, calls: () => entraCalls };
}

describe('the Entra sign-in behind a grant', () => {
  it('is left alone while its access token has more than five minutes to live', async () => {
    const k = keeperWith(async () => {
      throw new Error('not called');
    });
    await k.signIn('u1', 600);
    await k.keeper.keepFresh('u1', 'g1');
    expect(k.calls()).toBe(0);
  });

  it('ends every grant on it once Entra says the user must sign in again', async () => {
    const k = keeperWith(async () => {
      throw new GatehouseError(
        'GH_ENTRA_SIGN_IN_ENDED',
        'the Entra ID sign-in behind this grant has ended (AADSTS50076: MFA); sign in again',
      );
    });
    await k.signIn('u1', 60);
    await expect(k.keeper.keepFresh('u1', 'g1')).rejects.toMatchObject({
      error: 'invalid_grant',
      error_description: 'the Entra ID sign-in behind this grant has ended (AADSTS50076: MFA); sign in again',
    });
    expect(k.destroyed).toEqual(['g1']);
    expect(k.revoked).toEqual(['g1']);
    expect(k.ended).toEqual(['g1']);
    expect(await k.keeper.signInEnded('u1')).toBe(true);
    // Another grant of the user ends at its next token request, without asking Entra again.
    await expect(k.keeper.keepFresh('u1', 'g2')).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(k.calls()).toBe(1);
    expect(k.destroyed).toEqual(['g1', 'g2']);
    // A new sign-in replaces the sealed tokens and with them the refusal.
    await k.signIn('u1', 3600);
    expect(await k.keeper.signInEnded('u1')).toBe(false);
    await k.keeper.keepFresh('u1', 'g3');
  });

  it('keeps the current tokens when Entra cannot be reached, and never throws', async () => {
    const k = keeperWith(async () => {
      throw new GatehouseError('GH_ENTRA_UNAVAILABLE', 'Entra ID could not refresh the sign-in: 503');
    });
    await k.signIn('u1', 60);
    await k.keeper.keepFresh('u1', 'g1');
    expect(k.destroyed).toEqual([]);
    expect(k.warnings).toEqual(['Entra tokens could not be refreshed; the current ones stay in use']);
    expect(await k.keeper.signInEnded('u1')).toBe(false);
  });

  it('does nothing for an account without an Entra sign-in', async () => {
    const k = keeperWith(async () => {
      throw new Error('not called');
    });
    await k.keeper.keepFresh('nobody', 'g1');
    expect(await k.keeper.signInEnded('nobody')).toBe(false);
  });
});
