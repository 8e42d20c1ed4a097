import { Redis, type RedisOptions } from 'ioredis';
import { StorageUnavailableError } from '../../errors/index.js';
import type { EphemeralStore } from '../contract.js';
import { addressOf, describeNetworkFailure, type ServerEndpoint } from '../sql/connection-failure.js';
import { assertTtl } from '../sql/ttl.js';

export interface RedisEphemeralStoreOptions {
  /** A redis:// or rediss:// URL (REDIS_URL). */
  url: string;
  /** Prepended to every key, so several deployments or runs can share one Redis. */
  keyPrefix?: string;
}

/**
 * INCR and the window's expiry in one step: the first increment sets the TTL, later ones keep
 * it. A key left without a TTL (which this store never writes) gets one rather than living forever.
 */
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

type ScriptedRedis = Redis & {
  gatehouseIncrement(key: string, ttlMs: number): Promise<[number, number]>;
};

const CONNECT_TIMEOUT_MS = 5_000;

/** The ephemeral store on Redis, and its connection (rate limits count in the same Redis, under the same prefix). */
export function createRedisEphemeralStore(
  options: RedisEphemeralStoreOptions,
): EphemeralStore & { readonly client: Redis } {
  const endpoint: ServerEndpoint = {
    product: 'Redis',
    address: addressOf(options.url, 6379),
    variable: 'REDIS_URL',
  };
  const clientOptions: RedisOptions = {
    keyPrefix: options.keyPrefix,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A command waits for at most one reconnection attempt, then fails: a request that needs
    // Redis gets a prompt 503 instead of hanging while the server is away.
    maxRetriesPerRequest: 1,
  };
  const client = new Redis(options.url, clientOptions) as ScriptedRedis;
  client.defineCommand('gatehouseIncrement', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });

  // ioredis reports connection failures as events, then fails the queued commands with a
  // generic error; the last event says what actually went wrong.
  let lastConnectionError: unknown;
  client.on('error', (error) => {
    lastConnectionError = error;
  });
  client.on('ready', () => {
    lastConnectionError = undefined;
  });

  const run = async <T>(command: () => Promise<T>): Promise<T> => {
    try {
      return await command();
    } catch (error) {
      throw redisUnavailable(error, lastConnectionError, endpoint) ?? error;
    }
  };

  return {
    backend: 'redis',
    client,

    ping: () => run(async () => void (await client.ping())),

    set: async (key, value, ttlMs) => {
      assertTtl(ttlMs);
      await run(() => client.set(key, value, 'PX', ttlMs));
    },

    setIfAbsent: async (key, value, ttlMs) => {
      assertTtl(ttlMs);
      return (await run(() => client.set(key, value, 'PX', ttlMs, 'NX'))) === 'OK';
    },

    get: async (key) => (await run(() => client.get(key))) ?? undefined,

    take: async (key) => (await run(() => client.getdel(key))) ?? undefined,

    delete: async (key) => (await run(() => client.del(key))) > 0,

    increment: async (key, ttlMs) => {
      assertTtl(ttlMs);
      const [count, remainingMs] = await run(() => client.gatehouseIncrement(key, ttlMs));
      return { count, resetAt: Date.now() + remainingMs };
    },

    touch: async (key, ttlMs) => {
      assertTtl(ttlMs);
      return (await run(() => client.pexpire(key, ttlMs))) === 1;
    },

    close: async () => {
      if (client.status === 'ready') {
        await client.quit().catch(() => client.disconnect());
      } else {
        client.disconnect();
      }
    },
  };
}

const CONNECTION_LOST =
  /Connection is closed|max retries per request|Stream isn't writeable|Command timed out/i;

function redisUnavailable(
  error: unknown,
  connectionError: unknown,
  at: ServerEndpoint,
): StorageUnavailableError | undefined {
  const text = error instanceof Error ? error.message : '';
  if (/^(NOAUTH|WRONGPASS)/.test(text)) {
    return new StorageUnavailableError(
      `Redis at ${at.address} rejected the credentials (REDIS_URL): check the user name and password in the URL.`,
      error,
    );
  }
  const direct = describeNetworkFailure(error, at);
  if (direct !== undefined) return new StorageUnavailableError(direct, error);
  if (!CONNECTION_LOST.test(text)) return undefined;
  const message =
    describeNetworkFailure(connectionError, at) ??
    `Redis at ${at.address} is not connected (REDIS_URL): is the server running and reachable?`;
  return new StorageUnavailableError(message, connectionError ?? error);
}
