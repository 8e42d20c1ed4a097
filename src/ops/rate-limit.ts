import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { GatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import type { AuditSink } from './audit.js';
import {
  type IpScope,
  ipScopeOf,
  type Limit,
  limitedMessage,
  type RateLimitScope,
} from './rate-limit-policy.js';

export type { IpScope, Limit, RateLimitScope } from './rate-limit-policy.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Counts the route's requests per IP address under this limit (the break-glass login form: 'login'). */
    gatehouseRateLimit?: IpScope;
  }
}

export interface RateLimitSettings {
  /** Per caller on the MCP endpoints (RATE_LIMIT_MCP_PER_MINUTE). */
  mcp: Limit;
  /** Per caller and tool, for the tools whose policy has a "rateLimit", by the name /mcp serves them under. */
  tools: Readonly<Record<string, Limit>>;
  /** Per IP address, by route family. */
  perIp: Readonly<Record<IpScope, Limit>>;
}

export interface RateLimitOptions {
  settings: RateLimitSettings;
  /** When set, counters live in this Redis (atomic, shared by every instance); in memory otherwise. */
  redis?: Redis;
  audit: AuditSink;
  /** Told of every refused request (the metrics counter). */
  onLimited?(scope: RateLimitScope): void;
}

/** What the MCP transports ask after authenticating a request. */
export interface McpRateLimits {
  /**
   * Counts one request of the caller. Resolves when it may proceed; rejects with GH_RATE_LIMITED
   * (the reply already carries Retry-After and the RateLimit headers) past the limit.
   * Undefined when it may proceed at once (no limit applies, or it was counted in memory), so the
   * caller has nothing to await.
   */
  admit(request: FastifyRequest, reply: FastifyReply, caller: Caller): Promise<void> | undefined;
  /** Counts the tools/call messages of a request against their tools' own limits; undefined when none has one. */
  admitTools(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    messages: readonly { method: string; params?: Record<string, unknown> | undefined }[],
  ): Promise<void> | undefined;
}

type Check = ReturnType<FastifyInstance['createRateLimit']>;
type CheckResult = Awaited<ReturnType<Check>>;

/** Where the MCP limiters find the caller a request was authenticated as (set just before counting). */
const CALLER_KEY = Symbol('gatehouse.rateLimitCaller');
const STORE_WARNING_INTERVAL_MS = 60_000;

/**
 * Rate limits with @fastify/rate-limit: its memory store on one instance, its Redis store (one
 * atomic Lua script per request) when Redis is configured. On one instance, the per-caller MCP and
 * tool limits, which count every MCP request, are fixed windows in memory (WindowCounter) counted
 * without a promise. Each limit is a registration of the
 * plugin of its own, so its counters have their own namespace (`rate-limit:{scope}:{key}` under
 * REDIS_KEY_PREFIX). Per-IP limits are attached to the routes they guard as they are declared
 * (so call this before declaring them); the MCP limits are asked by the transports after
 * authentication, since they count callers, not addresses.
 *
 * A counter store that fails (Redis away) lets requests through and logs a warning: a limit is a
 * protection against abuse, not a reason to refuse every tool call while Redis restarts.
 */
export async function installRateLimits(
  app: FastifyInstance,
  options: RateLimitOptions,
): Promise<McpRateLimits> {
  const { settings } = options;
  const onLimited = options.onLimited ?? (() => {});
  app.decorateRequest(CALLER_KEY, '');
  const callerKey = (request: FastifyRequest) =>
    (request as unknown as Record<symbol, string>)[CALLER_KEY] ?? '';

  let lastStoreWarning = 0;
  const storeFailed = (request: FastifyRequest, scope: string, error: unknown) => {
    const now = Date.now();
    if (now - lastStoreWarning < STORE_WARNING_INTERVAL_MS) return;
    lastStoreWarning = now;
    request.log.warn({ err: error, scope }, 'rate-limit counters unavailable; requests are let through');
  };

  async function limiter(scope: string, limit: Limit, perCaller: boolean): Promise<Check | undefined> {
    if (limit.max <= 0) return undefined;
    let check: Check | undefined;
    await app.register(async (context) => {
      await context.register(rateLimit, {
        global: false,
        max: limit.max,
        timeWindow: limit.windowMs,
        cache: CALLER_CAPACITY,
        ...(perCaller ? { keyGenerator: callerKey } : {}),
        ...(options.redis ? { redis: options.redis, nameSpace: `rate-limit:${scope}:` } : {}),
      });
      check = context.createRateLimit();
    });
    return check;
  }

  /** Audits and counts a refusal, and sets the headers a limited response carries. */
  function refused(
    request: FastifyRequest,
    reply: FastifyReply,
    scope: RateLimitScope,
    result: { max: number; timeWindow: number; ttlInSeconds: number },
    userId: string | null,
  ): number {
    const retryAfter = Math.max(1, result.ttlInSeconds);
    reply.header('ratelimit-limit', result.max);
    reply.header('ratelimit-remaining', 0);
    reply.header('ratelimit-reset', retryAfter);
    reply.header('retry-after', retryAfter);
    options.audit.emit({
      type: 'rate.limited',
      at: new Date().toISOString(),
      requestId: request.id,
      userId,
      ip: request.ip,
      scope,
      limit: { max: result.max, windowMs: result.timeWindow },
    });
    onLimited(scope);
    return retryAfter;
  }

  // Per IP: attached to each guarded route as it is declared.
  const ipChecks = new Map<IpScope, { check: Check; limit: Limit }>();
  for (const [scope, limit] of Object.entries(settings.perIp) as [IpScope, Limit][]) {
    const check = await limiter(scope, limit, false);
    if (check !== undefined) ipChecks.set(scope, { check, limit });
  }
  app.addHook('onRoute', (route: RouteOptions) => {
    const scope = route.config?.gatehouseRateLimit ?? ipScopeOf(route.url);
    const entry = scope === undefined ? undefined : ipChecks.get(scope);
    if (scope === undefined || entry === undefined) return;
    const hook = async (request: FastifyRequest, reply: FastifyReply) => {
      // Preflights cost nothing; only new registrations are limited on /register (not reads of one).
      if (request.method === 'OPTIONS' || (scope === 'register' && request.method !== 'POST')) return;
      let result: CheckResult;
      try {
        result = await entry.check(request);
      } catch (error) {
        storeFailed(request, scope, error);
        return;
      }
      if (result.isAllowed) return;
      if (!result.isExceeded) {
        reply.raw.setHeader('ratelimit-limit', result.max);
        reply.raw.setHeader('ratelimit-remaining', result.remaining);
        reply.raw.setHeader('ratelimit-reset', result.ttlInSeconds);
        return;
      }
      const retryAfter = refused(request, reply, scope, result, null);
      const message = limitedMessage(scope, entry.limit, retryAfter, request.routeOptions.url ?? request.url);
      if (isOAuthEndpoint(request.routeOptions.url)) {
        // The authorization server's endpoints answer in OAuth's error form (RFC 6749 §5.2).
        return reply
          .code(429)
          .header('cache-control', 'no-store')
          .send({ error: 'too_many_requests', error_description: message, code: 'GH_RATE_LIMITED' });
      }
      // Pages (sign-in, consent, login) answer through their own error handler, as HTML.
      throw new GatehouseError('GH_RATE_LIMITED', message);
    };
    route.onRequest = route.onRequest === undefined ? [hook] : [...[route.onRequest].flat(), hook];
  });

  // Per caller on MCP, and per caller and tool: counted on every MCP request, so without Redis they
  // are plain in-memory windows (WindowCounter) rather than the plugin's store and its promises.
  async function callerLimiter(scope: string, limit: Limit): Promise<CallerLimit | undefined> {
    if (limit.max <= 0) return undefined;
    if (options.redis === undefined) return { limit, memory: new WindowCounter(limit, CALLER_CAPACITY) };
    const check = await limiter(scope, limit, true);
    return check === undefined ? undefined : { limit, check };
  }
  const mcpLimit = await callerLimiter('mcp', settings.mcp);
  const toolLimits = new Map<string, CallerLimit>();
  for (const [tool, limit] of Object.entries(settings.tools)) {
    const entry = await callerLimiter(`tool:${tool}`, limit);
    if (entry !== undefined) toolLimits.set(tool, entry);
  }

  /** Counts one request of the caller under `entry`: undefined when it may proceed at once. */
  function admitOne(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    scope: RateLimitScope,
    entry: CallerLimit,
  ): Promise<void> | undefined {
    if (entry.memory === undefined) {
      (request as unknown as Record<symbol, string>)[CALLER_KEY] = caller.userId;
      return count(request, reply, caller, scope, entry.check, entry.limit);
    }
    const ttlMs = entry.memory.hit(caller.userId);
    if (ttlMs === undefined) return undefined;
    const result = {
      max: entry.limit.max,
      timeWindow: entry.limit.windowMs,
      ttlInSeconds: Math.ceil(ttlMs / 1000),
    };
    const retryAfter = refused(request, reply, scope, result, caller.userId);
    return Promise.reject(
      new GatehouseError('GH_RATE_LIMITED', limitedMessage(scope, entry.limit, retryAfter), {
        data: { retryAfter },
      }),
    );
  }

  async function count(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    scope: RateLimitScope,
    check: Check,
    limit: Limit,
  ): Promise<void> {
    let result: CheckResult;
    try {
      result = await check(request);
    } catch (error) {
      storeFailed(request, scope, error);
      return;
    }
    if (result.isAllowed || !result.isExceeded) return;
    const retryAfter = refused(request, reply, scope, result, caller.userId);
    throw new GatehouseError('GH_RATE_LIMITED', limitedMessage(scope, limit, retryAfter), {
      data: { retryAfter },
    });
  }

  return {
    admit(request, reply, caller) {
      // Development mode authenticates nobody: every request is the one local user, not a caller to limit.
      if (mcpLimit === undefined || caller.kind === 'development') return undefined;
      return admitOne(request, reply, caller, 'mcp', mcpLimit);
    },
    admitTools(request, reply, caller, messages) {
      if (toolLimits.size === 0 || caller.kind === 'development') return undefined;
      const pending: Promise<void>[] = [];
      const server = (request.params as { server?: string } | undefined)?.server;
      for (const message of messages) {
        if (message.method !== 'tools/call' || typeof message.params?.name !== 'string') continue;
        // /mcp/{server} serves a server's tools under their own names; limits name them as /mcp does.
        const name = server === undefined ? message.params.name : `${server}__${message.params.name}`;
        const entry = toolLimits.get(name);
        if (entry === undefined) continue;
        const admitted = admitOne(request, reply, caller, `tool:${name}`, entry);
        if (admitted !== undefined) pending.push(admitted);
      }
      return pending.length === 0 ? undefined : Promise.all(pending).then(() => undefined);
    },
  };
}

/** Callers (or addresses) a limit keeps counters for on one instance: every one active within a window, many times over. */
const CALLER_CAPACITY = 10_000;

/** A per-caller limit: counted in memory on one instance, or by the plugin's Redis store when shared. */
type CallerLimit =
  | { limit: Limit; memory: WindowCounter; check?: undefined }
  | { limit: Limit; check: Check; memory?: undefined };

/**
 * Fixed windows per key, as the plugin's memory store counts them: a key's window starts with its
 * first request and lasts windowMs; requests past max within it are refused until it ends. At
 * capacity, the key whose window began longest ago is forgotten to make room.
 */
export class WindowCounter {
  readonly #windows = new Map<string, { count: number; start: number }>();

  constructor(
    private readonly limit: Limit,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `key`: undefined within the limit, else the milliseconds until its window ends. */
  hit(key: string): number | undefined {
    const now = this.now();
    let window = this.#windows.get(key);
    if (window === undefined || now - window.start >= this.limit.windowMs) {
      // A new window goes to the end of the map, so the map's order is the windows' start order.
      if (window !== undefined) this.#windows.delete(key);
      else if (this.#windows.size >= this.capacity) this.#windows.delete(this.#windows.keys().next().value!);
      window = { count: 0, start: now };
      this.#windows.set(key, window);
    }
    window.count++;
    return window.count > this.limit.max ? window.start + this.limit.windowMs - now : undefined;
  }

  get size(): number {
    return this.#windows.size;
  }
}

function isOAuthEndpoint(url: string | undefined): boolean {
  return url === '/register' || url === '/token' || url === '/authorize' || url === '/authorize/:uid';
}
