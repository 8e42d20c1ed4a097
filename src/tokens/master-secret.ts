import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatehouseConfig } from '../config/index.js';
import { GatehouseError } from '../errors/index.js';
import type { MasterSecret } from './secret-box.js';

/** The file, in GATEHOUSE_DATA_DIR, that keeps development mode's generated master secret. */
export const DEVELOPMENT_SECRET_FILE = 'signing-key.secret';

/**
 * The secret that secrets at rest are encrypted under: GATEHOUSE_ENCRYPTION_KEY when set, else
 * MCP_AZURE_JWT_SIGNING_KEY. With neither (never in production: the configuration refuses that),
 * a random one generated on first start and kept in GATEHOUSE_DATA_DIR, so that keys survive a
 * restart; `say` gets one line telling where it is.
 */
export function resolveMasterSecret(
  config: Pick<GatehouseConfig, 'secrets'>,
  say: (line: string) => void,
): MasterSecret {
  const { encryptionKey, jwtSigningKey, dataDir } = config.secrets;
  if (encryptionKey !== undefined) return { value: encryptionKey, source: 'GATEHOUSE_ENCRYPTION_KEY' };
  if (jwtSigningKey !== undefined) return { value: jwtSigningKey, source: 'MCP_AZURE_JWT_SIGNING_KEY' };

  const file = path.join(dataDir, DEVELOPMENT_SECRET_FILE);
  let created: boolean;
  let value: string;
  try {
    created = createOnce(file, randomBytes(48).toString('base64'));
    value = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new GatehouseError(
      'GH_CONFIG_INVALID',
      `Development mode keeps its generated secret in ${file}, which cannot be written or read (${(error as NodeJS.ErrnoException).code ?? 'error'}): ` +
        'set GATEHOUSE_DATA_DIR to a writable folder, or set MCP_AZURE_JWT_SIGNING_KEY (e.g. `openssl rand -base64 48`).',
      { cause: error },
    );
  }
  if (value.length < 32) {
    throw new GatehouseError(
      'GH_CONFIG_INVALID',
      `${file} holds no usable secret (fewer than 32 characters): set MCP_AZURE_JWT_SIGNING_KEY to the secret the stored keys were made with, or delete the file and the database to start over.`,
    );
  }
  say(
    `Signing keys: ${created ? 'generated a development secret in' : 'using the development secret in'} ${file}; ` +
      'in production set MCP_AZURE_JWT_SIGNING_KEY instead (e.g. `openssl rand -base64 48`)',
  );
  return { value, source: 'the development secret file' };
}

/**
 * Writes the file only when it does not exist, complete or not at all: a second process starting at
 * the same time reads the first one's secret, never a half-written file. True when this call wrote it.
 */
function createOnce(file: string, content: string): boolean {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, `${content}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}
