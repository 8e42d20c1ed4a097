import type { ChatSettings } from './config.js';
import type { VariableName, VariableValue } from './variables.js';

type Read = <N extends VariableName>(name: N) => VariableValue<N> | undefined;

const AZURE_OPENAI_HOST = /\.(openai\.azure\.com|cognitiveservices\.azure\.com|openai\.azure\.us)$/i;

/**
 * The chat tools' backend from CHAT_*: undefined when CHAT_COMPLETIONS_URL is unset. Settings that
 * cannot apply (a key with CHAT_AUTH=entra or none, entra without an Entra credential, any CHAT_*
 * without the URL) are problems, not silently ignored.
 */
export function readChatSettings(
  read: Read,
  problems: string[],
  context: { hasEntraCredential: boolean },
): ChatSettings | undefined {
  const url = read('CHAT_COMPLETIONS_URL');
  const apiKey = read('CHAT_API_KEY');
  const model = read('CHAT_MODEL');
  const auth = read('CHAT_AUTH');
  const entraScope = read('CHAT_ENTRA_SCOPE');
  const systemPrompt = read('CHAT_SYSTEM_PROMPT');
  const timeout = read('CHAT_TIMEOUT');
  if (url === undefined) {
    const stray = (
      [
        ['CHAT_API_KEY', apiKey],
        ['CHAT_MODEL', model],
        ['CHAT_AUTH', auth],
        ['CHAT_ENTRA_SCOPE', entraScope],
        ['CHAT_SYSTEM_PROMPT', systemPrompt],
        ['CHAT_TIMEOUT', timeout],
      ] as const
    )
      .filter(([, value]) => value !== undefined)
      .map(([name]) => name);
    if (stray.length > 0) {
      problems.push(
        `${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set but CHAT_COMPLETIONS_URL is not: set CHAT_COMPLETIONS_URL to the chat completions endpoint to serve the chat tools, or unset ${stray.length > 1 ? 'them' : 'it'}.`,
      );
    }
    return undefined;
  }
  const mode = auth ?? (apiKey === undefined ? 'none' : 'key');
  if (mode === 'key' && apiKey === undefined) {
    problems.push('CHAT_AUTH is key but CHAT_API_KEY is not set: set the key, or CHAT_AUTH=entra or none.');
  }
  if (mode !== 'key' && apiKey !== undefined) {
    problems.push(
      `CHAT_API_KEY is set but CHAT_AUTH is ${mode}: unset CHAT_API_KEY, or set CHAT_AUTH=key to send it.`,
    );
  }
  if ((mode === 'entra' || mode === 'on-behalf-of') && !context.hasEntraCredential) {
    problems.push(
      `CHAT_AUTH is ${mode} but Gatehouse has no Entra credential: set MCP_AZURE_CLIENT_SECRET (or MCP_AZURE_CLIENT_CERTIFICATE_PATH or MCP_AZURE_FEDERATED_TOKEN_FILE) with MCP_AZURE_TENANT_ID and MCP_AZURE_CLIENT_ID.`,
    );
  }
  if (mode !== 'entra' && mode !== 'on-behalf-of' && entraScope !== undefined) {
    problems.push(
      `CHAT_ENTRA_SCOPE is set but CHAT_AUTH is ${mode}: set CHAT_AUTH=entra or on-behalf-of, or unset it.`,
    );
  }
  return {
    url,
    auth: mode,
    apiKey,
    apiKeyHeader: AZURE_OPENAI_HOST.test(new URL(url).hostname) ? 'api-key' : 'authorization',
    model,
    entraScope: entraScope ?? 'https://cognitiveservices.azure.com/.default',
    systemPrompt,
    timeoutMs: (timeout ?? 120) * 1000,
  };
}
