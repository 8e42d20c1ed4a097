/**
 * Which requests are counted under which limit, and what a refusal says: pure decisions, no I/O.
 * The counting itself is @fastify/rate-limit's (rate-limit.ts).
 */

/** Requests per window; max 0 turns the limit off. */
export interface Limit {
  readonly max: number;
  readonly windowMs: number;
}

/** Limits counted per IP address, by the family of routes they guard. */
export type IpScope = 'register' | 'token' | 'authorize' | 'auth' | 'login';

/** Every limit a refusal can name: per IP, per caller on MCP, or per caller and tool (`tool:{name}`). */
export type RateLimitScope = IpScope | 'mcp' | `tool:${string}`;

/**
 * The per-IP limit a route falls under, by its path: the authorization server's registration,
 * token and authorization endpoints (with its sign-in and consent pages under /interaction, part
 * of the same sign-in), and Gatehouse's own browser sign-in under /auth/. The break-glass login
 * form names its limit in its route config instead (`gatehouseRateLimit: 'login'`).
 */
export function ipScopeOf(url: string | undefined): IpScope | undefined {
  if (url === undefined) return undefined;
  if (url === '/register') return 'register';
  if (url === '/token') return 'token';
  if (url === '/authorize' || url.startsWith('/authorize/') || url.startsWith('/interaction/'))
    return 'authorize';
  if (url.startsWith('/auth/')) return 'auth';
  return undefined;
}

/** The wire message of a refusal: what was used up and when to come back. */
export function limitedMessage(scope: RateLimitScope, limit: Limit, retryAfter: number, path = ''): string {
  const window = windowText(limit.windowMs);
  switch (scope) {
    case 'register':
      return `This address registered ${limit.max} clients within ${window}; try again in ${retryAfter} s, or reuse the client you registered.`;
    case 'mcp':
      return `Rate limit: you made ${limit.max} MCP requests within ${window} (RATE_LIMIT_MCP_PER_MINUTE); try again in ${retryAfter} s.`;
    case 'token':
    case 'authorize':
    case 'auth':
    case 'login':
      return `Too many requests to ${path || scope} from this address (${limit.max} within ${window}); try again in ${retryAfter} s.`;
    default:
      return `Rate limit: you called ${scope.slice('tool:'.length)} ${limit.max} times within ${window} (its "rateLimit" in the config file); try again in ${retryAfter} s.`;
  }
}

function windowText(ms: number): string {
  if (ms % 60_000 === 0) return ms === 60_000 ? '1 minute' : `${ms / 60_000} minutes`;
  return `${Math.ceil(ms / 1000)} seconds`;
}

/** The limits a configuration asks for. */
export function rateLimitSettings(
  config: {
    limits: {
      mcpPerMinute: number;
      tokenPerMinute: number;
      authorizePerMinute: number;
      authPerMinute: number;
      loginPerMinute: number;
    };
    auth: { registrationsPerHour: number };
  },
  toolPolicies: Readonly<
    Record<string, { rateLimit?: { readonly max: number; readonly windowSeconds: number } }>
  > = {},
): {
  mcp: Limit;
  tools: Record<string, Limit>;
  perIp: Record<IpScope, Limit>;
} {
  const minute = (max: number): Limit => ({ max, windowMs: 60_000 });
  const tools: Record<string, Limit> = {};
  for (const [name, policy] of Object.entries(toolPolicies))
    if (policy.rateLimit !== undefined)
      tools[name] = { max: policy.rateLimit.max, windowMs: policy.rateLimit.windowSeconds * 1000 };
  return {
    mcp: minute(config.limits.mcpPerMinute),
    tools,
    perIp: {
      register: { max: config.auth.registrationsPerHour, windowMs: 60 * 60_000 },
      token: minute(config.limits.tokenPerMinute),
      authorize: minute(config.limits.authorizePerMinute),
      auth: minute(config.limits.authPerMinute),
      login: minute(config.limits.loginPerMinute),
    },
  };
}
