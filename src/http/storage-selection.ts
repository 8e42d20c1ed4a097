import type { Redis } from 'ioredis';
import type { GatehouseConfig } from '../config/index.js';
import type { DurableStore, EphemeralStore } from '../storage/contract.js';
import { createPostgresStore } from '../storage/postgres/index.js';
import { createRedisEphemeralStore } from '../storage/redis/index.js';
import { createSqliteStore } from '../storage/sqlite/index.js';

export interface Stores {
  durable: DurableStore;
  ephemeral: EphemeralStore;
  /** The Redis connection behind `ephemeral` when REDIS_URL is set (rate-limit counters share it). */
  redis?: Redis;
  close(): Promise<void>;
}

/** PostgreSQL when DATABASE_URL is set, else a SQLite file; Redis for short-lived state when REDIS_URL is set. */
export function openStores(config: Pick<GatehouseConfig, 'storage'>): Stores {
  const { storage } = config;
  const durable =
    storage.databaseUrl !== undefined
      ? createPostgresStore({
          url: storage.databaseUrl,
          ...(storage.databaseSchema ? { schema: storage.databaseSchema } : {}),
        })
      : createSqliteStore({ file: storage.sqliteFile });
  const redis =
    storage.redisUrl !== undefined
      ? createRedisEphemeralStore({ url: storage.redisUrl, keyPrefix: storage.redisKeyPrefix })
      : undefined;
  return {
    durable,
    ephemeral: redis ?? durable.ephemeral,
    ...(redis ? { redis: redis.client } : {}),
    async close() {
      await Promise.allSettled([redis?.close(), durable.close()]);
    },
  };
}
