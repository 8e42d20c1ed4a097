import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DelegatedAccess, OBO_REUSE_MARGIN_SECONDS } from '../../../src/entra/delegated-access.js';
import type { EntraClient } from '../../../src/entra/entra-client.js';
import { GatehouseError } from '../../../src/errors/index.js';
import { callerFromUser } from '../../../src/identity/caller.js';
import type { DurableStore } from '../../../src/storage/contract.js';
import { createSqliteStore } from '../../../src/storage/sqlite/index.js';
import { createSecretBox } from '../../../src/tokens/secret-box.js';

const SUBJECT = { userId: 'u1', tenantId: 'tid', objectId: 'oid-1', assertion: 'user-token' };

describe('DelegatedAccess (on-behalf-of cache and claims challenges)', () => {
  let durable: DurableStore;
  let now: number;
  let calls: { assertion: string; scope: string }[];
  let answer: (scope: string) => Promise<{ accessToken: string; expiresAt: number; scope: string }>;
  let access: DelegatedAccess;
  const box = createSecretBox(
    { value: 'unit-test-master-secret-0123456789-abcdefgh', source: 'GATEHOUSE_ENCRYPTION_KEY' },
    'gatehouse/entra-tokens',
  );

  beforeEach(async () => {
    durable = createSqliteStore({ file: ':memory:' });
    await durable.migrate();
    now = 1_800_000_000_000;
    calls = [];
    answer = async (scope) => ({
      accessToken: `obo-${calls.length}`,
      expiresAt: Math.floor(now / 1000) + 3600,
      scope,
    });
    const entra = {
      onBehalfOf: async (assertion: string, scope: string) => {
        calls.push({ assertion, scope });
        return answer(scope);
      },
    } as unknown as EntraClient;
    access = new DelegatedAccess({
      entra,
      durable,
      ephemeral: durable.ephemeral,
      entraTokens: box,
      now: () => now,
    });
  });
  afterEach(async () => {
    await durable.close();
  });

  it('reuses a result per user and scopes until shortly before it expires, sealed at rest', async () => {
    expect(await access.token(SUBJECT, 'User.Read')).toBe('obo-1');
    expect(await access.token(SUBJECT, 'User.Read')).toBe('obo-1');
    expect(calls).toEqual([{ assertion: 'user-token', scope: 'User.Read' }]);

    // Other scopes, another user: their own requests.
    expect(await access.token(SUBJECT, 'GroupMember.Read.All')).toBe('obo-2');
    expect(await access.token({ ...SUBJECT, objectId: 'oid-2' }, 'User.Read')).toBe('obo-3');

    const key = `obo:${createHash('sha256').update('tid\noid-1\nuser.read').digest('base64url')}`;
    const stored = await durable.ephemeral.get(key);
    expect(stored).toBeDefined();
    expect(stored).not.toContain('obo-1');
    expect(JSON.parse(box.open(stored!, key))).toMatchObject({ accessToken: 'obo-1' });

    now += (3600 - OBO_REUSE_MARGIN_SECONDS - 1) * 1000;
    expect(await access.token(SUBJECT, 'User.Read')).toBe('obo-1');
    now += 2000;
    expect(await access.token(SUBJECT, 'User.Read')).toBe('obo-4');
  });

  it('remembers a claims challenge for the user and says how to answer it', async () => {
    const claims = '{"access_token":{"capolids":{"essential":true,"values":["p1"]}}}';
    answer = async () => {
      throw new GatehouseError(
        'GH_ENTRA_CLAIMS_CHALLENGE',
        'Entra ID needs the user to sign in again (AADSTS50076).',
        {
          detail: { error: 'interaction_required', claims },
        },
      );
    };
    const refusal = await access.token(SUBJECT, 'User.Read', 'gatehouse').catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'GH_ENTRA_CLAIMS_CHALLENGE' });
    expect((refusal as Error).message).toContain('Sign in again');
    expect(await access.pendingClaims('u1')).toBe(claims);

    const direct = await access.token(SUBJECT, 'User.Read', 'entra-user').catch((error: unknown) => error);
    expect((direct as Error).message).toContain(claims);

    await access.claimsAnswered('u1');
    expect(await access.pendingClaims('u1')).toBeUndefined();
  });

  it('refuses callers with no user to act for', async () => {
    const base = {
      scopes: [],
      scopesApply: false,
      roles: ['user'],
      clientAppId: 'daemon',
      expiresAt: null,
    };
    const user = { id: 'u9', tenantId: 'tid', objectId: 'sp', displayName: null, preferredUsername: null };
    for (const kind of ['entra-app', 'service-token', 'development'] as const) {
      await expect(access.subjectOf(callerFromUser(user, { ...base, kind }))).rejects.toMatchObject({
        code: 'GH_ENTRA_OBO_APP_ONLY',
      });
    }
    // A user token sent directly is its own assertion.
    const vscode = callerFromUser(user, { ...base, kind: 'entra-user', entraToken: 'entra-jwt' });
    expect(await access.subjectOf(vscode)).toMatchObject({ assertion: 'entra-jwt', userId: 'u9' });
    expect(JSON.stringify(vscode)).not.toContain('entra-jwt');
  });
});
