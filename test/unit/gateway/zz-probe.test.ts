import { it, expect } from 'vitest';
import pino from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServerRegistry } from '../../../src/gateway/registry.js';
import { createSqliteStore } from '../../../src/storage/sqlite/index.js';
import { createSecretBox } from '../../../src/tokens/secret-box.js';
it('probe', async () => {
  const store = createSqliteStore({ file: path.join(mkdtempSync(path.join(tmpdir(), 'p-')), 'x.db') });
  await store.migrate();
  const r = new ServerRegistry([], {}, store.upstreamServers, createSecretBox({ value: 'test-secret-of-enough-length', source: 'GATEHOUSE_ENCRYPTION_KEY' }, 'gatehouse/upstream-secrets'), { logger: pino({ level: 'silent' }), allowRuntimeStdio: false, builtInNames: new Set() });
  const s = r.sync();
  try { console.log(await r.create('github', { url: 'https://h/mcp' }, null)); } catch (e) { console.log('ERR', (e as any).code, (e as Error).message); }
  await s;
  console.log(r.servers().map((x) => x.name));
  await store.close();
});
