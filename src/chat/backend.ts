import type { GatehouseConfig } from '../config/index.js';
import { delegationFor } from '../mcp/tools/graph-access.js';
import { AppTokenSource } from './app-token.js';
import { ChatCompletions, type CredentialHeader } from './completions.js';

/** The chat backend as CHAT_* configures it; undefined when the chat tools are off. */
export function createChatBackend(config: GatehouseConfig): ChatCompletions | undefined {
  const chat = config.chat;
  if (chat === undefined) return undefined;
  let credential: CredentialHeader;
  if (chat.auth === 'entra') {
    const entra = config.auth.entra;
    const entraCredential = config.auth.entraCredential;
    // The config refuses CHAT_AUTH=entra without both, so this is a programming error.
    if (entra === undefined || entraCredential === undefined) throw new Error('CHAT_AUTH=entra needs Entra');
    const tokens = new AppTokenSource({
      authorityHost: entra.authorityHost,
      tenant: entra.tenant,
      clientId: entra.clientId,
      credential: entraCredential,
      scope: chat.entraScope,
    });
    credential = async () => ({ authorization: `Bearer ${await tokens.token()}` });
  } else if (chat.auth === 'on-behalf-of') {
    // The user's own delegated token: the backend sees (and may refuse) the person, not Gatehouse.
    credential = async (context) => {
      const { delegated, subject } = await delegationFor(context);
      return {
        authorization: `Bearer ${await delegated.token(subject, chat.entraScope, context.caller.kind)}`,
      };
    };
  } else if (chat.auth === 'key' && chat.apiKey !== undefined) {
    const header: Record<string, string> =
      chat.apiKeyHeader === 'api-key'
        ? { 'api-key': chat.apiKey }
        : { authorization: `Bearer ${chat.apiKey}` };
    credential = async () => header;
  } else {
    credential = async () => ({});
  }
  return new ChatCompletions(chat, credential);
}

/** The start-up line about the chat tools: how they are reached, or how to turn them on. */
export function chatStatusLine(config: GatehouseConfig): string {
  const chat = config.chat;
  if (chat === undefined) {
    return 'Chat tools: off (send_message and finish_chat are not served; set CHAT_COMPLETIONS_URL, with CHAT_API_KEY and CHAT_MODEL or CHAT_AUTH=entra, to serve them: docs/chat.md)';
  }
  const how =
    chat.auth === 'entra'
      ? `an Entra ID app token for ${chat.entraScope}`
      : chat.auth === 'on-behalf-of'
        ? `the caller's own Entra ID token for ${chat.entraScope} (on-behalf-of)`
        : chat.auth === 'key'
          ? 'CHAT_API_KEY'
          : 'no credential';
  return `Chat tools: send_message, finish_chat → ${new URL(chat.url).origin} (${chat.model ?? 'model named by the URL'}, with ${how})`;
}
