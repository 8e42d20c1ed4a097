import type { DurableStore } from '../../src/storage/contract.js';
import { createSecretBox } from '../../src/tokens/secret-box.js';
import { TEST_MASTER_SECRET } from './oauth-fixture.js';

// The test master secret opens the sealed Entra tokens kept with a user's sign-in, as Gatehouse does.
const box = createSecretBox(
  { value: TEST_MASTER_SECRET, source: 'MCP_AZURE_JWT_SIGNING_KEY' },
  'gatehouse/entra-tokens',
);

/** The Entra tokens Gatehouse keeps for a user, opened from a sealed value. */
export function openEntraTokens(sealed: string, userId: string): { accessTokenExpiresAt: number } {
  return JSON.parse(box.open(sealed, userId)) as { accessTokenExpiresAt: number };
}

/** Makes the Entra access token kept for the user about to expire (in a minute), as an hour would. */
export async function ageEntraTokens(store: DurableStore, userId: string): Promise<void> {
  const session = (await store.entraSessions.find(userId))!;
  const tokens = {
    ...openEntraTokens(session.sealedTokens, userId),
    accessTokenExpiresAt: Math.floor(Date.now() / 1000) + 60,
  };
  await store.entraSessions.save({ ...session, sealedTokens: box.seal(JSON.stringify(tokens), userId) });
}
