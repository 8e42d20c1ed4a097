import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { GatehouseError } from '../../src/errors/index.js';

const TENANT = 'aad59afb-4251-4c23-8403-b51da0a099c5';
const CLIENT = '829cba28-25a8-434b-aad5-d7be2331ceba';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return (error as GatehouseError).message;
  }
  throw new Error('expected loadConfig to fail');
}

describe('the chat backend settings (CHAT_*)', () => {
  it('are off without CHAT_COMPLETIONS_URL', () => {
    expect(loadConfig({ env: {} }).chat).toBeUndefined();
  });

  it('send a key as Authorization: Bearer, or as api-key to Azure OpenAI hosts', () => {
    expect(
      loadConfig({
        env: {
          CHAT_COMPLETIONS_URL: 'https://api.openai.com/v1/chat/completions',
          CHAT_API_KEY: 'sk-1',
          CHAT_MODEL: 'gpt-4o-mini',
        },
      }).chat,
    ).toEqual({
      url: 'https://api.openai.com/v1/chat/completions',
      auth: 'key',
      apiKey: 'sk-1',
      apiKeyHeader: 'authorization',
      model: 'gpt-4o-mini',
      entraScope: 'https://cognitiveservices.azure.com/.default',
      systemPrompt: undefined,
      timeoutMs: 120_000,
    });
    const azure = loadConfig({
      env: {
        CHAT_COMPLETIONS_URL:
          'https://contoso.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21',
        CHAT_API_KEY: 'k',
        CHAT_TIMEOUT: '30',
      },
    }).chat;
    expect(azure).toMatchObject({ apiKeyHeader: 'api-key', model: undefined, timeoutMs: 30_000 });
  });

  it('take CHAT_AUTH=entra only with an Entra credential, and never with a key', () => {
    const app = { MCP_AZURE_TENANT_ID: TENANT, MCP_AZURE_CLIENT_ID: CLIENT };
    const url = 'https://contoso.openai.azure.com/openai/deployments/d/chat/completions?api-version=1';
    expect(
      loadConfig({
        env: { ...app, MCP_AZURE_CLIENT_SECRET: 's', CHAT_COMPLETIONS_URL: url, CHAT_AUTH: 'entra' },
      }).chat,
    ).toMatchObject({ auth: 'entra', apiKey: undefined });
    expect(problemsOf({ ...app, CHAT_COMPLETIONS_URL: url, CHAT_AUTH: 'entra' })).toContain(
      'CHAT_AUTH is entra but Gatehouse has no Entra credential: set MCP_AZURE_CLIENT_SECRET',
    );
    expect(
      problemsOf({
        ...app,
        MCP_AZURE_CLIENT_SECRET: 's',
        CHAT_COMPLETIONS_URL: url,
        CHAT_AUTH: 'entra',
        CHAT_API_KEY: 'k',
      }),
    ).toContain('CHAT_API_KEY is set but CHAT_AUTH is entra');
    expect(problemsOf({ CHAT_COMPLETIONS_URL: url, CHAT_AUTH: 'key' })).toContain(
      'CHAT_AUTH is key but CHAT_API_KEY is not set',
    );
    expect(problemsOf({ CHAT_COMPLETIONS_URL: url, CHAT_ENTRA_SCOPE: 'x/.default' })).toContain(
      'CHAT_ENTRA_SCOPE is set but CHAT_AUTH is none',
    );
  });

  it('refuse CHAT_* settings without CHAT_COMPLETIONS_URL instead of ignoring them', () => {
    expect(problemsOf({ CHAT_API_KEY: 'k', CHAT_MODEL: 'gpt' })).toContain(
      'CHAT_API_KEY, CHAT_MODEL are set but CHAT_COMPLETIONS_URL is not',
    );
    expect(problemsOf({ CHAT_COMPLETIONS_URL: 'ftp://x' })).toContain('CHAT_COMPLETIONS_URL');
  });
});
