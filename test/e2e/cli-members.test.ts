import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openStores, type Stores } from '../../src/http/storage-selection.js';
import type { UserRecord } from '../../src/storage/contract.js';
import { createTestDatabase } from '../helpers/services.js';

// `gatehouse members` through the built program, on SQLite and on PostgreSQL: users named by id,
// by tenantId/objectId and by username; an ambiguous username and an unknown user refused with
// what to do instead; the changes visible to the server's own storage.

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const bin = path.join(root, 'dist/src/cli/main.js');
const TENANT = '11111111-2222-3333-4444-555555555555';
const OTHER_TENANT = '99999999-8888-7777-6666-555555555555';

beforeAll(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first (npm test does).`);
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`gatehouse members on ${backend}`, { timeout: 180_000 }, () => {
    let env: Record<string, string>;
    let dataDir: string;
    let drop: (() => Promise<void>) | undefined;
    let stores: Stores;
    let alice: UserRecord;
    let bob: UserRecord;

    beforeAll(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-members-'));
      env = { GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
      if (backend === 'postgres') {
        const database = await createTestDatabase();
        env.DATABASE_URL = database.url;
        drop = database.drop;
      }
      stores = openStores(loadConfig({ env }));
      await stores.durable.migrate();
      // As their first sign-ins would have created them.
      alice = await stores.durable.users.upsert({
        tenantId: TENANT,
        objectId: 'aaaaaaaa-0000-0000-0000-000000000001',
        preferredUsername: 'alice@contoso.example',
        displayName: 'Alice',
      });
      bob = await stores.durable.users.upsert({
        tenantId: TENANT,
        objectId: 'bbbbbbbb-0000-0000-0000-000000000002',
        preferredUsername: 'bob@contoso.example',
      });
      await stores.durable.users.upsert({
        tenantId: OTHER_TENANT,
        objectId: 'bbbbbbbb-0000-0000-0000-000000000003',
        preferredUsername: 'BOB@contoso.example',
      });
    });
    afterAll(async () => {
      await stores?.close();
      await drop?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    function members(...args: string[]) {
      return spawnSync(process.execPath, [bin, 'members', ...args], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    }

    it('adds memberships by username, by tenantId/objectId and by id, and lists them', async () => {
      const byName = members('add', 'ALICE@contoso.example', 'contoso', 'admin', '--team', 'platform');
      expect(byName.stderr).not.toContain('GH_');
      expect(byName.status).toBe(0);
      expect(byName.stdout).toContain('alice@contoso.example is admin in team platform of contoso.');
      const byIdentity = members('add', `${TENANT}/${alice.objectId}`, 'contoso', 'member');
      expect(byIdentity.status).toBe(0);
      expect(byIdentity.stdout).toContain('is member in organization contoso.');
      expect(members('add', bob.id, 'fabrikam', 'user', '--team=sales').status).toBe(0);

      expect(await stores.durable.memberships.listForUser(alice.id)).toMatchObject([
        { org: 'contoso', team: 'platform', role: 'admin' },
        { org: 'contoso', team: null, role: 'member' },
      ]);

      const all = members('list', '--json');
      expect(all.status).toBe(0);
      const rows = JSON.parse(all.stdout) as Record<string, unknown>[];
      expect(rows).toHaveLength(3);
      expect(rows).toContainEqual(
        expect.objectContaining({
          userId: bob.id,
          username: 'bob@contoso.example',
          tenantId: TENANT,
          org: 'fabrikam',
          team: 'sales',
          role: 'user',
        }),
      );
      const one = members('list', 'alice@contoso.example');
      expect(one.status).toBe(0);
      const lines = one.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^USER\s+USERNAME\s+TENANT\/OBJECT\s+ORG\s+TEAM\s+ROLE\s+SINCE$/);
      expect(lines).toHaveLength(3);
      expect(lines[1]).toMatch(/alice@contoso\.example .*contoso\s+platform\s+admin/);
      expect(lines[2]).toMatch(/contoso\s+\(organization\)\s+member/);
    });

    it('removes a membership, and says so when there is none to remove', async () => {
      const removed = members('remove', alice.id, 'contoso', 'admin', '--team', 'platform');
      expect(removed.status).toBe(0);
      expect(removed.stdout).toContain('is no longer admin in team platform of contoso.');
      expect(await stores.durable.memberships.listForUser(alice.id)).toMatchObject([
        { org: 'contoso', team: null, role: 'member' },
      ]);
      const again = members('remove', alice.id, 'contoso', 'admin', '--team', 'platform');
      expect(again.status).toBe(1);
      expect(again.stderr).toContain('GH_MEMBERS_NOT_FOUND');
      expect(again.stderr).toContain(`gatehouse members list ${alice.id}`);
    });

    it('refuses an ambiguous username and an unknown user with what to use instead', async () => {
      const ambiguous = members('add', 'bob@contoso.example', 'contoso', 'admin');
      expect(ambiguous.status).toBe(1);
      expect(ambiguous.stderr).toContain('GH_MEMBERS_USER_AMBIGUOUS');
      expect(ambiguous.stderr).toContain(`${TENANT}/${bob.objectId}`);
      expect(ambiguous.stderr).toContain(`${OTHER_TENANT}/bbbbbbbb-0000-0000-0000-000000000003`);
      const unknown = members('add', 'carol@contoso.example', 'contoso', 'admin');
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toContain('GH_MEMBERS_USER_NOT_FOUND');
      expect(unknown.stderr).toContain('first sign-in');
      expect((await stores.durable.memberships.listAll()).filter((m) => m.role === 'admin')).toEqual([]);
    });

    it('answers a wrong command line with the usage and exit code 2', () => {
      const wrong = members('add', 'alice@contoso.example', 'contoso');
      expect(wrong.status).toBe(2);
      expect(wrong.stderr).toContain('add needs <user> <org> <role>');
      expect(wrong.stderr).toContain('Usage: gatehouse members list');
      expect(members('rename').status).toBe(2);
    });
  });
}
