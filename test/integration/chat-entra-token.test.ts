import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { emulatorBackedConfig, IDS, mcpPost, vscodeToken } from '../helpers/auth-fixture.js';
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
