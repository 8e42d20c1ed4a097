import { describe, expect, it } from 'vitest';
import { SessionManager } from '../../src/mcp/sessions.js';
import { createSqliteStore } from '../../src/storage/sqlite/index.js';

describe('SessionManager', () => {
  it('notices within seconds a session ended by another instance, without a store read per request', async () => {
    const durable = createSqliteStore({ file: ':memory:' });
    await durable.migrate();
    let now = 1_000_000;
    const clock = () => now;
    const instanceA = new SessionManager(durable.ephemeral, 3_600_000, clock);
    const instanceB = new SessionManager(durable.ephemeral, 3_600_000, clock);
    const session = await instanceA.create('user-1', '2025-11-25', 'client');

    expect(await instanceB.find(session.id, 'user-1')).toMatchObject({ id: session.id });
    expect(await instanceB.end(session.id)).toBe(true);

    // Within the revalidation window A still trusts its cache; after it, A asks the store.
    now += 1_000;
    expect(await instanceA.find(session.id, 'user-1')).toBeDefined();
    now += 5_000;
    expect(await instanceA.find(session.id, 'user-1')).toBeUndefined();
    await durable.close();
  });

  it('never hands a session to another user', async () => {
    const durable = createSqliteStore({ file: ':memory:' });
    await durable.migrate();
    const sessions = new SessionManager(durable.ephemeral, 60_000);
    const session = await sessions.create('alice', '2025-11-25', null);
    expect(await sessions.find(session.id, 'bob')).toBeUndefined();
    expect(await new SessionManager(durable.ephemeral, 60_000).find(session.id, 'bob')).toBeUndefined();
    expect(await sessions.find(session.id, 'alice')).toBeDefined();
    await durable.close();
  });
});
