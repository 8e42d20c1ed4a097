import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import {
  type AuthFixture,
  emulatorBackedConfig,
  IDS,
  mcpPost,
  startAuthFixture,
  vscodeToken,
} from '../helpers/auth-fixture.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { callTool } from '../helpers/test-app.js';

// Azure OpenAI with Entra ID: Gatehouse's own app token (client credentials with its secret), not a key.
describe('the chat backend with CHAT_AUTH=entra', () => {
  let entra: DevEntra;
  let fake: FakeOpenAI;
  let gatehouse: RunningGatehouse;
  let dataDir: string;
  const presented: string[] = [];
  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
    fake = await new FakeOpenAI({
      accepts: (credential) => {
        if (credential === undefined) return false;
        presented.push(credential);
        const claims = decodeJwt(credential);
        // An app-only token of the Gatehouse API app for the configured scope's resource.
        return (
          claims.aud === IDS.api &&
          claims.azp === IDS.api &&
          claims.idtyp === 'app' &&
          claims.scp === undefined
        );
      },
    }).start();
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-chat-entra-'));
    const config = await emulatorBackedConfig(entra, dataDir, {
      MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
      MCP_AZURE_JWT_SIGNING_KEY: 'chat-entra-test-signing-key-0123456789-abcdefghijklmnop',
      CHAT_COMPLETIONS_URL: fake.url,
      CHAT_AUTH: 'entra',
      CHAT_ENTRA_SCOPE: `${IDS.api}/.default`,
    });
    gatehouse = await startGatehouse(config, { logger: createLogger(config) });
  });
  afterAll(async () => {
    await gatehouse?.close();
    await fake?.close();
    await entra?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends an Entra app token for CHAT_ENTRA_SCOPE, fetched once and reused', async () => {
    const token = await vscodeToken(
      entra,
      'bob',
      `api://${IDS.api}/tools.execute api://${IDS.api}/chat openid profile offline_access`,
    );
    for (const message of ['one', 'two']) {
      const result = (await mcpPost(`${gatehouse.url}/mcp`, callTool('send_message', { message }), token))
        .body.result;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      expect(result.structuredContent.answer).toBe(`You said "${message}". I have seen 1 message.`);
    }
    expect(presented).toHaveLength(2);
    expect(presented[1]).toBe(presented[0]);
    expect(fake.requests.map((request) => request.headers['api-key'])).toEqual([undefined, undefined]);
  });
});

// Azure OpenAI that authorizes the person: each user's own delegated token (on-behalf-of), cached per user.
describe('the chat backend with CHAT_AUTH=on-behalf-of', () => {
  const DOWNSTREAM = `api://${IDS.downstream}`;
  let fixture: AuthFixture;
  let fake: FakeOpenAI;
  const presented: Record<string, unknown>[] = [];
  beforeAll(async () => {
    fake = await new FakeOpenAI({
      accepts: (credential) => {
        if (credential === undefined) return false;
        const claims = decodeJwt(credential);
        presented.push(claims);
        // A delegated token of the calling user for the backend's own API (v1, as that API accepts),
        // obtained by Gatehouse's app.
        return claims.aud === DOWNSTREAM && claims.appid === IDS.api && claims.scp === 'access_as_user';
      },
    }).start();
    fixture = await startAuthFixture({
      MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
      CHAT_COMPLETIONS_URL: fake.url,
      CHAT_AUTH: 'on-behalf-of',
      CHAT_ENTRA_SCOPE: `${DOWNSTREAM}/access_as_user`,
    });
  });
  afterAll(async () => {
    await fixture?.close();
    await fake?.close();
  });

  it("sends each caller's own token for CHAT_ENTRA_SCOPE, exchanged once per user and reused", async () => {
    const before = fixture.entra.tokenRequestCount('on_behalf_of');
    for (const user of ['bob', 'alice', 'bob'] as const) {
      const token = await fixture.userToken(user, ['tools.execute', 'chat']);
      const result = (
        await mcpPost(fixture.mcpUrl, callTool('send_message', { message: `from ${user}` }), token)
      ).body.result;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      expect(result.structuredContent.answer).toBe(`You said "from ${user}". I have seen 1 message.`);
    }
    expect(presented.map((claims) => claims.oid)).toEqual([IDS.bob, IDS.alice, IDS.bob]);
    expect(fixture.entra.tokenRequestCount('on_behalf_of') - before).toBe(2);
  });

  it('refuses an app-only caller with a tool error that says a user must sign in, and asks nothing of the backend', async () => {
    const requests = fake.requests.length;
    const result = (
      await mcpPost(fixture.mcpUrl, callTool('send_message', { message: 'hi' }), await fixture.appToken())
    ).body;
    expect(JSON.stringify(result)).toMatch(/GH_ENTRA_OBO_APP_ONLY|needs a signed-in user/);
    expect(fake.requests.length).toBe(requests);
  });
});
