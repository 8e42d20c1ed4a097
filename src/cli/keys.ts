import { isGatehouseError } from '../errors/index.js';
import { openStores } from '../http/storage-selection.js';
import { LONGEST_ACCESS_TOKEN_LIFETIME_MS, rotateSigningKeys } from '../tokens/key-store.js';
import { resolveMasterSecret } from '../tokens/master-secret.js';
import { createSecretBox } from '../tokens/secret-box.js';
import { loadConfigOrExplain } from './config-errors.js';
import type { Command } from './run.js';

const HELP = `Usage: gatehouse keys rotate

Manages Gatehouse's own token-signing keys, stored encrypted (under MCP_AZURE_JWT_SIGNING_KEY, or
GATEHOUSE_ENCRYPTION_KEY when set) in the configured database.

  rotate   Adds a new key that signs from now on. The previous keys stay published, and keep
           verifying the tokens they signed, for ${LONGEST_ACCESS_TOKEN_LIFETIME_MS / 60_000} minutes (the longest access-token lifetime).
           A running server signs with the new key within 5 minutes (no restart needed).

Run it with the same settings as the server (DATABASE_URL or GATEHOUSE_DATA_DIR, and the secret).`;

export const keysCommand: Command = {
  name: 'keys',
  summary: 'Rotate the token-signing keys (keys rotate).',
  help: HELP,
  async run(argv) {
    if (argv.length !== 1 || argv[0] !== 'rotate') {
      console.error(`gatehouse keys: expected 'rotate' (got: ${argv.join(' ') || 'nothing'}).\n\n${HELP}`);
      return 2;
    }
    const config = loadConfigOrExplain();
    if (config === undefined) return 1;
    const stores = openStores(config);
    try {
      await stores.durable.migrate();
      const box = createSecretBox(
        resolveMasterSecret(config, (line) => console.error(line)),
        'gatehouse/signing-keys',
      );
      const { current, stillPublished } = await rotateSigningKeys({ keys: stores.durable.signingKeys, box });
      console.log(`New signing key ${current.kid} (${current.alg}) signs from now on.`);
      console.log('Running servers sign with it within 5 minutes; no restart is needed.');
      if (stillPublished.length === 0) console.log('No previous key is published.');
      else {
        console.log('Still published, so tokens they signed keep verifying:');
        for (const key of stillPublished)
          console.log(`  ${key.kid}  until ${key.retireAfter?.toISOString() ?? 'further notice'}`);
      }
      return 0;
    } catch (error) {
      if (isGatehouseError(error)) {
        console.error(`Key rotation failed: ${error.message} (${error.code})`);
        return 1;
      }
      throw error;
    } finally {
      await stores.close();
    }
  },
};
