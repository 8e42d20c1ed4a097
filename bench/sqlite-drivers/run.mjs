// Gatehouse's SQLite store through the driver each Node.js uses: better-sqlite3 on Node 20,
// node:sqlite on 22 and 24. Run it with each runtime from a built tree (npm run build):
//   node bench/sqlite-drivers/run.mjs
//   npx -y node@22 bench/sqlite-drivers/run.mjs
//   npx -y node@24 bench/sqlite-drivers/run.mjs
// Each prints one JSON line: operations per second for note writes, key-value reads and writes,
// on a WAL file in a temporary directory. Compare lines from runs made one after the other.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore, defaultSqliteDriver } from '../../dist/src/storage/sqlite/index.js';

const N = Number(process.env.N ?? 3000);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-sqlite-'));
const store = createSqliteStore({ file: join(dir, 'gatehouse.db') });

async function rate(count, operation) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await operation(i);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(count / seconds);
}

try {
  await store.migrate();
  const user = await store.users.upsert({ tenantId: 'bench', objectId: 'bench' });
  await rate(200, (i) => store.ephemeral.set(`warm-${i}`, 'v', 60_000));
  const result = {
    node: process.versions.node,
    driver: defaultSqliteDriver(),
    noteCreatePerS: await rate(N, (i) => store.notes.create(user.id, `note ${i}`)),
    kvSetPerS: await rate(N, (i) => store.ephemeral.set(`key-${i}`, `value-${i}`, 60_000)),
    kvGetPerS: await rate(N, (i) => store.ephemeral.get(`key-${i}`)),
  };
  console.log(JSON.stringify(result));
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
