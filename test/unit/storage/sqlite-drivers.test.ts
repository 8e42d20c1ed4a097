import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteDriver } from '../../../src/storage/sqlite/driver.js';
import { sqliteResultCodeName } from '../../../src/storage/sqlite/result-codes.js';
import { ALL_SQLITE_DRIVERS, loadableSqliteDrivers } from '../../helpers/sqlite-drivers.js';

const drivers = loadableSqliteDrivers();
const root = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-driver-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('SQLite result code names', () => {
  it('names primary and extended codes as better-sqlite3 does', () => {
    expect(sqliteResultCodeName(5)).toBe('SQLITE_BUSY');
    expect(sqliteResultCodeName(14)).toBe('SQLITE_CANTOPEN');
    expect(sqliteResultCodeName(26)).toBe('SQLITE_NOTADB');
    expect(sqliteResultCodeName(787)).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
    expect(sqliteResultCodeName(2067)).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(sqliteResultCodeName(1555)).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(sqliteResultCodeName(517)).toBe('SQLITE_BUSY_SNAPSHOT');
    expect(sqliteResultCodeName(516)).toBe('SQLITE_ABORT_ROLLBACK');
    expect(sqliteResultCodeName(8714)).toBe('SQLITE_IOERR_IN_PAGE');
  });

  it('falls back to the primary name for an extended code it does not know', () => {
    expect(sqliteResultCodeName(19 | (60 << 8))).toBe('SQLITE_CONSTRAINT');
    expect(sqliteResultCodeName(10 | (200 << 8))).toBe('SQLITE_IOERR');
  });
});

for (const driver of drivers) {
  describe(`${driver} as kysely's SQLite database`, () => {
    async function open() {
      const opened = await openSqliteDriver(driver, ':memory:');
      opened.exec('pragma foreign_keys = ON');
      opened.exec(
        'create table parent (id text primary key); ' +
          'create table child (id integer primary key, parent text references parent(id), name text unique)',
      );
      return opened;
    }

    it('reads rows from queries and RETURNING, counts changes of writes', async () => {
      const { database } = await open();
      try {
        database.prepare('insert into parent (id) values (?)').run(['p']);
        const insert = database.prepare('insert into child (parent, name) values (?, ?)');
        expect(insert.reader).toBe(false);
        expect(insert.run(['p', 'a'])).toMatchObject({ changes: 1, lastInsertRowid: 1 });
        const returning = database.prepare('insert into child (parent, name) values (?, ?) returning id');
        expect(returning.reader).toBe(true);
        expect(returning.all(['p', 'b'])).toEqual([{ id: 2 }]);
        const select = database.prepare('select name from child where parent = ? order by id');
        expect(select.reader).toBe(true);
        expect(select.all(['p']).map((row) => ({ ...(row as object) }))).toEqual([
          { name: 'a' },
          { name: 'b' },
        ]);
        expect([...select.iterate(['p'])]).toHaveLength(2);
      } finally {
        database.close();
      }
    });

    it('names constraint failures with the SQLITE_… code Gatehouse matches on', async () => {
      const { database } = await open();
      try {
        const insert = database.prepare('insert into child (parent, name) values (?, ?)');
        expect(() => insert.run(['nobody', 'x'])).toThrow(
          expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }),
        );
        insert.run([null, 'x']);
        expect(() => insert.run([null, 'x'])).toThrow(
          expect.objectContaining({
            code: 'SQLITE_CONSTRAINT_UNIQUE',
            message: expect.stringContaining('UNIQUE'),
          }),
        );
      } finally {
        database.close();
      }
    });

    it('names a file it cannot open SQLITE_CANTOPEN', async () => {
      // A directory where the file should be (a missing directory is created before opening).
      await expect(openSqliteDriver(driver, root)).rejects.toMatchObject({
        code: 'SQLITE_CANTOPEN',
      });
    });
  });
}

for (const driver of ALL_SQLITE_DRIVERS.filter((candidate) => !drivers.includes(candidate))) {
  it(`refuses ${driver}, which this Node.js cannot load, saying what to do`, async () => {
    const refusal = openSqliteDriver(driver, ':memory:');
    await expect(refusal).rejects.toMatchObject({ code: 'SQLITE_DRIVER_MISSING' });
    await expect(refusal).rejects.toThrow(
      driver === 'node:sqlite' ? /needs 22\.16\+ or 24/ : /npm rebuild better-sqlite3/,
    );
  });
}
