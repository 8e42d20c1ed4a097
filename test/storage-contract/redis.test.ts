import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { createRedisEphemeralStore } from '../../src/storage/redis/index.js';
import { describeEphemeralContract } from './contract-suite.js';

const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `gatehouse-test:${randomBytes(6).toString('hex')}:`;

// Removes this run's keys only; other data in the same Redis is left alone.
afterAll(async () => {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
});

describeEphemeralContract('redis', {
  async open() {
    const store = createRedisEphemeralStore({ url, keyPrefix });
    // No skip when Redis is down: this fails, and so does every test of the suite.
    await store.ping();
    return { store, dispose: () => store.close() };
  },
  unreachable: {
    open: () => createRedisEphemeralStore({ url: 'redis://:hunter2-secret@127.0.0.1:1' }),
    variable: 'REDIS_URL',
    secret: 'hunter2-secret',
  },
});
