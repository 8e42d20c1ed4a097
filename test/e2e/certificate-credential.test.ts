import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertifiedKey, createClientCertificate } from '../../dev-entra/index.js';
import { IDS } from '../dev-entra/helpers.js';
import {
  browserSignIn,
  launchBrowser,
  type OAuthFixture,
  signInAndWhoami,
  startOAuthFixture,
} from '../helpers/oauth-fixture.js';

// Entra ID client authentication with a certificate (private_key_jwt, RFC 7523; RS256 + x5t as Entra
// documents) instead of a client secret.
describe('the Entra leg with a certificate credential', () => {
  let f: OAuthFixture;
  let browser: Browser;
  let certificate: CertifiedKey;
  beforeAll(async () => {
    certificate = await createClientCertificate('Gatehouse API');
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-cert-'));
    const file = path.join(dir, 'gatehouse-api.pem');
    writeFileSync(file, `${certificate.pem}\n${certificate.privateKeyPem}\n`, { mode: 0o600 });
    f = await startOAuthFixture({ MCP_AZURE_CLIENT_SECRET: '', MCP_AZURE_CLIENT_CERTIFICATE_PATH: file });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  it('refuses the sign-in while Entra does not know the certificate, with Entra’s error', async () => {
    const { provider } = await browserSignIn(f, browser, 'bob');
    const landed = new URL(provider.visited.at(-1)!);
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('error_description')).toContain('AADSTS700027');
    expect(landed.searchParams.get('error_description')).toContain('not registered on application');
  });

  it('signs in once the certificate is registered on the API app', async () => {
    f.entra.addClientCertificate(IDS.api, certificate.pem);
    expect(await signInAndWhoami(f, browser, 'bob')).toMatchObject({
      objectId: IDS.bob,
      authKind: 'gatehouse',
    });
  });

  it("acts on the user's behalf toward Graph with the same certificate (on-behalf-of)", async () => {
    const before = f.entra.tokenRequestCount('on_behalf_of');
    expect(await signInAndWhoami(f, browser, 'bob', 'get_graph_user_details')).toMatchObject({
      success: true,
      id: IDS.bob,
      userPrincipalName: 'bob@gatehousedev.onmicrosoft.com',
    });
    expect(f.entra.tokenRequestCount('on_behalf_of')).toBe(before + 1);
  });
});
