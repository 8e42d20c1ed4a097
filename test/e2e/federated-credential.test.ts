import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/http/logger.js';
import { startGatehouse } from '../../src/http/server.js';
import { IDS } from '../dev-entra/helpers.js';
import { emulatorBackedConfig } from '../helpers/auth-fixture.js';
import { type ExternalIssuer, startExternalIssuer, WORKLOAD_SUBJECT } from '../helpers/external-issuer.js';
import {
  browserSignIn,
  launchBrowser,
  type OAuthFixture,
  signInAndWhoami,
  startOAuthFixture,
  TEST_MASTER_SECRET,
} from '../helpers/oauth-fixture.js';

// Entra ID client authentication with a federated credential (workload identity): Gatehouse holds
// no secret; it presents the token its platform writes to a file (here, from a stand-in Kubernetes
// service-account issuer), and Entra trusts that issuer for this subject through the API app's
// federated identity credential.
describe('the Entra leg with a federated credential (MCP_AZURE_FEDERATED_TOKEN_FILE)', () => {
  let f: OAuthFixture;
  let browser: Browser;
  let workload: ExternalIssuer;
  let tokenFile: string;
  const writeToken = (token: string) => writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

  beforeAll(async () => {
    workload = await startExternalIssuer();
    tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-wi-')), 'azure-identity-token');
    writeToken(await workload.token());
    f = await startOAuthFixture({ MCP_AZURE_CLIENT_SECRET: '', MCP_AZURE_FEDERATED_TOKEN_FILE: tokenFile });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
    await workload?.close();
    rmSync(path.dirname(tokenFile), { recursive: true, force: true });
  });

  async function signInError(user: 'alice' | 'bob'): Promise<string> {
    const { provider } = await browserSignIn(f, browser, user);
    const landed = new URL(provider.visited.at(-1)!);
    expect(landed.searchParams.get('error')).toBe('access_denied');
    return landed.searchParams.get('error_description') ?? '';
  }

  it('refuses the sign-in while Entra does not trust the issuer, with Entra’s error', async () => {
    const description = await signInError('bob');
    expect(description).toContain('AADSTS700211');
    expect(description).toContain(workload.issuer);
  });

  it('signs in once the API app has a federated credential for the workload', async () => {
    f.entra.addFederatedIdentityCredential(IDS.api, {
      name: 'gatehouse-workload',
      issuer: workload.issuer,
      subject: WORKLOAD_SUBJECT,
    });
    expect(await signInAndWhoami(f, browser, 'bob')).toMatchObject({
      objectId: IDS.bob,
      authKind: 'gatehouse',
    });
  });

  it("acts on the user's behalf toward Graph with the same federated credential (on-behalf-of)", async () => {
    const before = f.entra.tokenRequestCount('on_behalf_of');
    expect(await signInAndWhoami(f, browser, 'bob', 'get_graph_user_details')).toMatchObject({
      success: true,
      id: IDS.bob,
      userPrincipalName: 'bob@gatehousedev.onmicrosoft.com',
    });
    expect(f.entra.tokenRequestCount('on_behalf_of')).toBe(before + 1);
  });

  it('reads the file again for every request: a renewed token for another subject is refused', async () => {
    writeToken(await workload.token({ sub: 'system:serviceaccount:default:intruder' }));
    expect(await signInError('bob')).toContain('AADSTS700213');
    writeToken(await workload.token());
  });

  it('an expired token in the file fails the sign-in without showing the client the server’s path', async () => {
    writeToken(await workload.token({ exp: Math.floor(Date.now() / 1000) - 60 }));
    const description = await signInError('alice');
    expect(description).toContain('Gatehouse could not authenticate to Entra ID');
    expect(description).not.toContain(tokenFile);
    writeToken(await workload.token());
  });

  it('stops at start, naming the variable, when the file cannot be read', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-wi-'));
    try {
      const config = await emulatorBackedConfig(f.entra, dataDir, {
        MCP_AZURE_FEDERATED_TOKEN_FILE: path.join(dataDir, 'missing-token'),
        MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
      });
      await expect(startGatehouse(config, { logger: createLogger(config) })).rejects.toThrow(
        /MCP_AZURE_FEDERATED_TOKEN_FILE: cannot read .*missing-token \(ENOENT\)/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
