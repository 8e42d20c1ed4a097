import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, loadSeed, normalizeSeed, startDevEntra } from '../../dev-entra/index.js';
import {
  type ExternalIssuer,
  startExternalIssuer,
  TOKEN_EXCHANGE_AUDIENCE,
  WORKLOAD_SUBJECT,
} from '../helpers/external-issuer.js';
import { decodePart, expectAadstsShape, IDS, postToken } from './helpers.js';

// Workload identity federation: the daemon app trusts an external issuer's tokens for one subject
// and audience, and presents such a token as its client assertion instead of a secret.
let entra: DevEntra;
let workload: ExternalIssuer;
beforeAll(async () => {
  [entra, workload] = await Promise.all([startDevEntra({ port: 0 }), startExternalIssuer()]);
});
afterAll(async () => {
  await Promise.all([entra?.close(), workload?.close()]);
});

function clientCredentials(assertion: string) {
  return postToken(entra.tokenEndpoint(), {
    grant_type: 'client_credentials',
    client_id: IDS.daemon,
    scope: `api://${IDS.api}/.default`,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  });
}

async function expectRefused(assertion: string, code: number, error: string, status: number) {
  const r = await clientCredentials(assertion);
  expect(r.status).toBe(status);
  expectAadstsShape(r.body, code, error);
  return String(r.body.error_description);
}

describe('federated identity credentials (workload identity)', () => {
  it('700211 while the app has no federated credential for the issuer', async () => {
    const description = await expectRefused(await workload.token(), 700211, 'invalid_client', 401);
    expect(description).toContain(`presented assertion issuer '${workload.issuer}'`);
  });

  it('issues an app-only token once the credential is added, marked as a certificate-strength client', async () => {
    entra.addFederatedIdentityCredential(IDS.daemon, {
      name: 'gatehouse-aks',
      issuer: workload.issuer,
      subject: WORKLOAD_SUBJECT,
    });
    const r = await clientCredentials(await workload.token());
    expect(r.status).toBe(200);
    const claims = decodePart(String(r.body.access_token), 1);
    expect(claims).toMatchObject({ azp: IDS.daemon, azpacr: '2', roles: ['user'] });
  });

  it('700213 for another subject (matched case-sensitively)', async () => {
    const other = await expectRefused(
      await workload.token({ sub: 'system:serviceaccount:default:other' }),
      700213,
      'invalid_client',
      401,
    );
    expect(other).toContain("subject 'system:serviceaccount:default:other'");
    await expectRefused(
      await workload.token({ sub: WORKLOAD_SUBJECT.toUpperCase() }),
      700213,
      'invalid_client',
      401,
    );
  });

  it('700212 for another audience', async () => {
    const description = await expectRefused(
      await workload.token({ aud: 'api://SomethingElse' }),
      700212,
      'invalid_client',
      401,
    );
    expect(description).toContain("audience 'api://SomethingElse'");
  });

  it('700211 for the issuer written differently (a trailing slash)', async () => {
    await expectRefused(await workload.token({ iss: `${workload.issuer}/` }), 700211, 'invalid_client', 401);
  });

  it('700024 for an expired token', async () => {
    const exp = Math.floor(Date.now() / 1000) - 900;
    await expectRefused(await workload.token({ exp }), 700024, 'invalid_client', 401);
  });

  it('700027 for a token signed with a key the issuer does not publish', async () => {
    const description = await expectRefused(await workload.forgedToken(), 700027, 'invalid_client', 401);
    expect(description).toContain(workload.issuer);
  });

  it('50166 when the issuer’s discovery document cannot be fetched', async () => {
    const gone = await startExternalIssuer();
    const token = await gone.token();
    await gone.close();
    entra.addFederatedIdentityCredential(IDS.daemon, {
      name: 'gone',
      issuer: gone.issuer,
      subject: WORKLOAD_SUBJECT,
    });
    const description = await expectRefused(token, 50166, 'invalid_request', 400);
    expect(description).toContain(`${gone.issuer}/.well-known/openid-configuration`);
  });

  it('refuses a non-loopback http issuer without fetching it', async () => {
    const issuer = 'http://workload-issuer.invalid';
    entra.addFederatedIdentityCredential(IDS.daemon, { name: 'plain', issuer, subject: WORKLOAD_SUBJECT });
    const description = await expectRefused(
      await workload.token({ iss: issuer }),
      50166,
      'invalid_request',
      400,
    );
    expect(description).toContain('must be an https URL');
  });

  it('a seed credential takes exactly one audience, defaulting to api://AzureADTokenExchange', () => {
    const base = loadSeed();
    const withCredential = (audiences?: string[]) =>
      normalizeSeed({
        ...base,
        applications: base.applications.map((a) =>
          a.appId === IDS.daemon
            ? {
                ...a,
                federatedIdentityCredentials: [
                  {
                    name: 'ci',
                    issuer: 'https://token.example',
                    subject: 'repo:x',
                    ...(audiences && { audiences }),
                  },
                ],
              }
            : a,
        ),
      });
    const daemon = withCredential().applications.find((a) => a.appId === IDS.daemon);
    expect(daemon?.federatedIdentityCredentials[0]?.audiences).toEqual([TOKEN_EXCHANGE_AUDIENCE]);
    expect(() => withCredential(['a', 'b'])).toThrow(/exactly one audience/);
  });
});
