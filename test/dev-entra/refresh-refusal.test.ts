import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { expectAadstsShape, IDS, postToken, userTokenForApi } from './helpers.js';

// The refresh-refusal switch: Conditional Access refusing a refresh because the user must sign in
// again, in Entra's shapes (reference/entra.md §4): AADSTS70043 invalid_grant (sign-in frequency),
// AADSTS50076 / 50079 interaction_required with a claims challenge (MFA, MFA registration).
describe('refresh refused by Conditional Access', () => {
  let entra: DevEntra;
  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
  });
  afterAll(async () => {
    await entra?.close();
  });

  const refreshWith = (refreshToken: string) =>
    postToken(entra.tokenEndpoint(), {
      grant_type: 'refresh_token',
      client_id: IDS.api,
      client_secret: IDS.apiSecret,
      refresh_token: refreshToken,
      scope: `${IDS.api}/tools.read offline_access`,
    });

  it.each([
    [70043, 'invalid_grant', false],
    [50076, 'interaction_required', true],
    [50079, 'interaction_required', true],
  ] as const)('AADSTS%s: %s for sign-ins before the switch, not after', async (code, error, claims) => {
    const before = String((await userTokenForApi(entra, 'bob')).refresh_token);
    const alice = String((await userTokenForApi(entra, 'alice')).refresh_token);
    entra.setRefreshRefusal(['bob'], code);
    try {
      const refused = await refreshWith(before);
      expect(refused.status).toBe(400);
      expectAadstsShape(refused.body, code, error);
      if (claims) expect(JSON.parse(String(refused.body.claims))).toHaveProperty('access_token.capolids');
      else expect(refused.body.claims).toBeUndefined();
      // Users not listed are not concerned; a new sign-in satisfies the policy.
      expect((await refreshWith(alice)).status).toBe(200);
      const after = String((await userTokenForApi(entra, 'bob')).refresh_token);
      expect((await refreshWith(after)).status).toBe(200);
    } finally {
      entra.setRefreshRefusal([]);
    }
    expect((await refreshWith(before)).status).toBe(200);
  });

  it('refuses an unknown code', () => {
    expect(() => entra.setSwitches({ refreshRefusalCode: 50000 as never })).toThrow(
      'refreshRefusalCode must be one of 70043, 50076, 50079',
    );
  });
});
