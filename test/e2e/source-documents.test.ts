import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { IDS, mcpPost, vscodeToken } from '../helpers/auth-fixture.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { HttpBrowser, signInForTokens } from '../helpers/oauth-http-flow.js';
import { freePort } from '../helpers/ports.js';
import { callTool } from '../helpers/test-app.js';

/**
 * Gatehouse started with each source document's own .env — its variable names and its kind of
 * values, pointed at the Entra emulator instead of login.microsoftonline.com — must sign a user in
 * and serve a tool call. Only PORT, GATEHOUSE_DATA_DIR and LOG_LEVEL are added by the harness.
 */

let entra: DevEntra;
const running: { gatehouse: RunningGatehouse; dataDir: string }[] = [];

beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
});
afterAll(async () => {
  for (const { gatehouse, dataDir } of running) {
    await gatehouse.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  await entra?.close();
});

async function start(documentEnv: Record<string, string>): Promise<RunningGatehouse> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-source-doc-'));
  const config = loadConfig({
    env: { PORT: String(await freePort()), GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...documentEnv },
  });
  const gatehouse = await startGatehouse(config, { logger: createLogger(config) });
  running.push({ gatehouse, dataDir });
  return gatehouse;
}

describe('each source document’s own settings, as written', () => {
  it('the on-behalf-of/Graph document: AZURE_AUTHORITY, AZURE_CLIENT_ID/SECRET, AZURE_SCOPE, OAUTH_SCOPES, TOKEN_AUDIENCE', async () => {
    // Its .env (authority and secret pointed at the emulator):
    const documentEnv = {
      AZURE_AUTHORITY: `${entra.url}/${IDS.tenant}`,
      AZURE_CLIENT_ID: IDS.api,
      AZURE_CLIENT_SECRET: IDS.apiSecret,
      AZURE_SCOPE: `api://${IDS.api}/tools.execute`,
      OAUTH_SCOPES: 'User.Read profile openid email',
      TOKEN_AUDIENCE: `api://${IDS.api}`,
      MCP_AZURE_JWT_SIGNING_KEY: 'source-document-signing-key-0123456789-abcdefghijklmnop',
    };
    const gatehouse = await start(documentEnv);
    const browser = new HttpBrowser(gatehouse.url);
    const { steps, tokens } = await signInForTokens(browser, { user: 'bob' });
    // The sign-in went to the emulator's tenant and asked for the extra delegated scopes too.
    const toEntra = new URL(steps.decision.location as string);
    expect(toEntra.origin + toEntra.pathname).toBe(`${entra.url}/${IDS.tenant}/oauth2/v2.0/authorize`);
    expect(toEntra.searchParams.get('scope')?.split(' ')).toEqual(
      expect.arrayContaining(['User.Read', 'email', 'openid', 'profile', `${IDS.api}/tools.execute`]),
    );
    const who = await mcpPost(`${gatehouse.url}/mcp`, callTool('whoami'), tokens.access_token);
    expect(who.status).toBe(200);
    expect(who.body.result.structuredContent).toMatchObject({ name: 'Bob User', tenantId: IDS.tenant });
  });

  it('the landing-page document: AZURE_TENANT_ID/CLIENT_ID/CLIENT_SECRET, TOKEN_EXPIRY_SECONDS, A0_SET_SSO_AUTO_ASSIGN, MCP_AZURE_JWT_SIGNING_KEY', async () => {
    const documentEnv = {
      AZURE_TENANT_ID: IDS.tenant,
      AZURE_CLIENT_ID: IDS.api,
      AZURE_CLIENT_SECRET: IDS.apiSecret,
      TOKEN_EXPIRY_SECONDS: '3600',
      A0_SET_SSO_AUTO_ASSIGN: 'true',
      MCP_AZURE_JWT_SIGNING_KEY: 'landing-page-document-signing-key-0123456789-abcdefgh',
      // Not the document's: where its authority (login.microsoftonline.com) is, the emulator is.
      MCP_AZURE_AUTHORITY_HOST: entra.url,
    };
    const gatehouse = await start(documentEnv);
    const { tokens } = await signInForTokens(new HttpBrowser(gatehouse.url), { user: 'alice' });
    // TOKEN_EXPIRY_SECONDS is the lifetime of the access token Gatehouse issued.
    expect(tokens.expires_in).toBe(3600);
    const claims = decodeJwt(tokens.access_token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    const sum = await mcpPost(
      `${gatehouse.url}/mcp`,
      callTool('calculate_sum', { numbers: [2, 3] }),
      tokens.access_token,
    );
    expect(sum.body.result.structuredContent).toEqual({ sum: 5 });
  });

  it('the chat document: ENABLE_AUTH, AZURE_TENANT_ID, AZURE_CLIENT_ID, TOKEN_AUDIENCE, TOKEN_ISSUER, AZURE_CLOCK_SKEW, AZURE_TOKEN_CACHE_TTL and a chat backend', async () => {
    const fake = await new FakeOpenAI({ key: 'sk-source-document' }).start();
    try {
      const documentEnv = {
        ENABLE_AUTH: 'true',
        AZURE_TENANT_ID: IDS.tenant,
        AZURE_CLIENT_ID: IDS.api,
        TOKEN_AUDIENCE: `api://${IDS.api}`,
        TOKEN_ISSUER: `${entra.url}/{tenantid}/v2.0`,
        AZURE_CLOCK_SKEW: '60',
        AZURE_TOKEN_CACHE_TTL: '300',
        MCP_AZURE_AUTHORITY_HOST: entra.url,
        CHAT_COMPLETIONS_URL: fake.url,
        CHAT_API_KEY: 'sk-source-document',
        CHAT_MODEL: 'gpt-4o-mini',
      };
      const gatehouse = await start(documentEnv);
      // No client secret: clients bring Entra tokens themselves (VS Code).
      const token = await vscodeToken(
        entra,
        'alice',
        `api://${IDS.api}/tools.execute api://${IDS.api}/chat openid profile offline_access`,
      );
      const answer = await mcpPost(
        `${gatehouse.url}/mcp`,
        callTool('send_message', { message: 'Hi' }),
        token,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.result.structuredContent).toMatchObject({
        answer: 'You said "Hi". I have seen 1 message.',
        messageCount: 2,
      });
    } finally {
      await fake.close();
    }
  });
});
