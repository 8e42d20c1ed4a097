import { isIP } from 'node:net';
import { compileRedirectPattern } from '../auth-server/redirect-policy.js';
import { parsePasswordHash } from '../ops/password-hash.js';
import { apiScopesValue, authorityValue, signInScopesValue } from './source-settings.js';

/**
 * Every configuration variable Gatehouse reads, in one table. docs/configuration.md documents each
 * of them (a test checks the two agree). Parsing turns the raw string into a typed value or
 * returns an error sentence that says what is wrong and what to set.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface VariableSpec<T = unknown> {
  /** Canonical name. */
  name: string;
  /** Older names accepted for the same setting (the canonical name wins when both are set). */
  aliases?: readonly string[];
  description: string;
  /** Shown in the docs; undefined means "not set". */
  defaultText?: string;
  parse(raw: string): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const problem = <T>(text: string): Parsed<T> => ({ ok: false, problem: text });

export function booleanValue(raw: string): Parsed<boolean> {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return ok(true);
  if (['false', '0', 'no', 'off'].includes(value)) return ok(false);
  return problem(`'${raw}' is not a boolean: set true or false`);
}

export function integerValue(min: number, max: number, unit = '') {
  return (raw: string): Parsed<number> => {
    const trimmed = raw.trim();
    if (!/^\d+$/.test(trimmed))
      return problem(`'${raw}' is not a whole number${unit}: set an integer from ${min} to ${max}`);
    const value = Number(trimmed);
    if (value < min || value > max)
      return problem(`${value} is out of range: set an integer from ${min} to ${max}${unit}`);
    return ok(value);
  };
}

export function oneOf<const T extends string>(...choices: T[]) {
  return (raw: string): Parsed<T> => {
    const value = raw.trim().toLowerCase() as T;
    return choices.includes(value)
      ? ok(value)
      : problem(`'${raw}' is not allowed: set one of ${choices.join(', ')}`);
  };
}

export function stringValue(raw: string): Parsed<string> {
  const value = raw.trim();
  return value === '' ? problem('it is empty: unset it or give a value') : ok(value);
}

export function urlValue(protocols: readonly string[]) {
  return (raw: string): Parsed<string> => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      return problem(`'${redactUrl(raw)}' is not a URL: set a full URL such as ${protocols[0]}//host:port`);
    }
    if (!protocols.includes(url.protocol)) {
      return problem(`'${redactUrl(raw)}' has protocol ${url.protocol}: use ${protocols.join(' or ')}`);
    }
    return ok(raw.trim());
  };
}

export function originListValue(raw: string): Parsed<string[]> {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of items) {
    if (!/^https?:\/\/[^/\s]+$/.test(item)) {
      return problem(
        `'${item}' is not an origin: give scheme://host[:port] with no path, e.g. https://app.example.com or http://localhost:*`,
      );
    }
  }
  return ok(items);
}

/** Removes a password from a URL before it is shown anywhere. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@/]+@/, '//$1:***@');
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function guidValue(raw: string): Parsed<string> {
  const value = raw.trim().toLowerCase();
  return GUID.test(value)
    ? ok(value)
    : problem(
        `'${raw}' is not a GUID: use the Directory (tenant) or Application (client) ID from the Azure portal`,
      );
}

/** One MCP_AZURE_REDIRECT_URIS pattern, checked as the authorization server will compile it. */
export function redirectPatternValue(raw: string): Parsed<string> {
  const value = raw.trim();
  const compiled = compileRedirectPattern(value);
  return typeof compiled === 'string' ? problem(compiled) : ok(value);
}

export function tenantValue(raw: string): Parsed<string> {
  const value = raw.trim().toLowerCase();
  if (value === 'common' || value === 'organizations') return ok(value);
  return guidValue(raw);
}

export function listValue(item: (raw: string) => Parsed<string>, example: string) {
  return (raw: string): Parsed<string[]> => {
    const items = raw.split(/[\s,]+/).filter((entry) => entry !== '');
    const values: string[] = [];
    for (const entry of items) {
      const parsed = item(entry);
      if (!parsed.ok) return problem(`${parsed.problem} (a comma-separated list, e.g. ${example})`);
      values.push(parsed.value);
    }
    return values.length === 0
      ? problem('the list is empty: unset it or give at least one value')
      : ok(values);
  };
}

const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An IP address, a CIDR (10.0.0.0/8, fd00::/8) or one of proxy-addr's range names. */
export function trustedProxyValue(raw: string): Parsed<string> {
  if (PROXY_RANGES.has(raw.toLowerCase())) return ok(raw.toLowerCase());
  const [address = '', prefix, ...rest] = raw.split('/');
  const family = isIP(address);
  const bits = prefix === undefined ? undefined : Number(prefix);
  if (
    family === 0 ||
    rest.length > 0 ||
    (bits !== undefined && (!/^\d{1,3}$/.test(prefix as string) || bits > (family === 4 ? 32 : 128)))
  ) {
    return problem(
      `'${raw}' is not an IP address, a CIDR (10.0.0.0/8) or one of loopback, linklocal, uniquelocal`,
    );
  }
  return ok(raw);
}

/** "group=role;role,group2=role" → { group: [role, role], group2: [role] } */
export function groupRolesValue(raw: string): Parsed<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const pair of raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    const [group, roles] = pair.split('=');
    if (!group || !roles)
      return problem(
        `'${pair}' is not group=role: write e.g. 0b5f…-group-id=admin,another-group-id=user;auditor`,
      );
    result[group.trim().toLowerCase()] = roles
      .split(';')
      .map((role) => role.trim())
      .filter(Boolean);
  }
  return ok(result);
}

const SCOPE_KEYS = {
  discover: 'discover',
  'tools.read': 'toolsRead',
  'tools.execute': 'toolsExecute',
  chat: 'chat',
} as const;
export type ScopeRenames = Partial<Record<(typeof SCOPE_KEYS)[keyof typeof SCOPE_KEYS], string>>;

/** "tools.execute=mcp.call discover=mcp.list" → renames of the logical scopes. */
export function scopeRenamesValue(raw: string): Parsed<ScopeRenames> {
  const result: ScopeRenames = {};
  for (const pair of raw.split(/[\s,]+/).filter(Boolean)) {
    const [logical, name] = pair.split('=');
    const key = SCOPE_KEYS[logical as keyof typeof SCOPE_KEYS];
    if (key === undefined || !name || !/^[\w.:/-]+$/.test(name)) {
      return problem(
        `'${pair}' is not logical=name with logical one of ${Object.keys(SCOPE_KEYS).join(', ')} (e.g. tools.execute=mcp.call)`,
      );
    }
    result[key] = name;
  }
  return ok(result);
}

function secretValue(raw: string): Parsed<string> {
  const value = raw.trim();
  return value.length >= 32
    ? ok(value)
    : problem(
        'it is shorter than 32 characters: use a long random value, e.g. from `openssl rand -base64 32`',
      );
}

function masterSecretValue(raw: string): Parsed<string> {
  const value = raw.trim();
  return value.length >= 32
    ? ok(value)
    : problem(
        'it is shorter than 32 characters: make one with `openssl rand -base64 48` and keep it (stored keys and tokens are encrypted under it)',
      );
}

function secretTokenValue(raw: string): Parsed<string> {
  const value = raw.trim();
  return value.length >= 32
    ? ok(value)
    : problem('it is shorter than 32 characters: make one with `openssl rand -base64 48`');
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const VARIABLES = {
  HOST: {
    name: 'HOST',
    description:
      'Address the HTTP server binds to. Development mode (auth off) only allows a loopback address.',
    defaultText: '127.0.0.1',
    parse: stringValue,
  },
  PORT: {
    name: 'PORT',
    description: 'TCP port of the HTTP server (0 picks a free port).',
    defaultText: '8000',
    parse: integerValue(0, 65535),
  },
  NODE_ENV: {
    name: 'NODE_ENV',
    description: 'Set to production in production: development mode then refuses to start.',
    defaultText: 'development',
    parse: oneOf('development', 'production', 'test'),
  },
  MCP_ENABLE_AUTH: {
    name: 'MCP_ENABLE_AUTH',
    aliases: ['ENABLE_AUTH'],
    description:
      'true requires a valid bearer token on every MCP request (needs MCP_AZURE_TENANT_ID and MCP_AZURE_CLIENT_ID). false runs without authentication: development mode, loopback only, never in production.',
    defaultText: 'true when MCP_AZURE_CLIENT_ID is set, otherwise false',
    parse: booleanValue,
  },
  MCP_AZURE_TENANT_ID: {
    name: 'MCP_AZURE_TENANT_ID',
    aliases: ['AZURE_TENANT_ID'],
    description:
      'Directory (tenant) ID of the Entra tenant whose tokens are accepted. common or organizations (multi-tenant apps) needs MCP_AZURE_ALLOWED_TENANTS.',
    parse: tenantValue,
  },
  MCP_AZURE_CLIENT_ID: {
    name: 'MCP_AZURE_CLIENT_ID',
    aliases: ['AZURE_CLIENT_ID'],
    description: 'Application (client) ID of the Gatehouse API app registration; v2 tokens carry it as aud.',
    parse: guidValue,
  },
  MCP_AZURE_CLIENT_SECRET: {
    name: 'MCP_AZURE_CLIENT_SECRET',
    aliases: ['AZURE_CLIENT_SECRET'],
    description:
      "Client secret of the Gatehouse API app (the secret's Value, not its ID). With it Gatehouse is the authorization server MCP clients sign in through, federating the sign-in to Entra ID.",
    parse: stringValue,
  },
  MCP_AZURE_CLIENT_CERTIFICATE_PATH: {
    name: 'MCP_AZURE_CLIENT_CERTIFICATE_PATH',
    aliases: ['AZURE_CLIENT_CERTIFICATE_PATH'],
    description:
      "Instead of MCP_AZURE_CLIENT_SECRET: a PEM file holding the API app's certificate and its private key (PKCS#8); Gatehouse signs a client assertion (RS256, x5t) for Entra ID with it.",
    parse: stringValue,
  },
  MCP_AZURE_FEDERATED_TOKEN_FILE: {
    name: 'MCP_AZURE_FEDERATED_TOKEN_FILE',
    aliases: ['AZURE_FEDERATED_TOKEN_FILE'],
    description:
      "Instead of MCP_AZURE_CLIENT_SECRET: a file holding a token from an identity provider the API app trusts through a federated identity credential (workload identity: the Kubernetes service-account token AKS projects, a CI job's OIDC token). Read again for every request to Entra ID, so the platform's renewals are picked up.",
    parse: stringValue,
  },
  GATEHOUSE_REGISTRATIONS_PER_HOUR: {
    name: 'GATEHOUSE_REGISTRATIONS_PER_HOUR',
    description:
      'Dynamic client registrations one IP address may make per hour (registration is open to anyone); past it, 429.',
    defaultText: '20',
    parse: integerValue(1, 100_000),
  },
  RATE_LIMIT_MCP_PER_MINUTE: {
    name: 'RATE_LIMIT_MCP_PER_MINUTE',
    description:
      'Requests one caller (user, app or path token) may make per minute on the MCP endpoints (/mcp, /mcp/{server}, /sse, /messages), counted after authentication and shared by every instance through Redis when REDIS_URL is set; past it, 429 with Retry-After and a JSON-RPC error GH_RATE_LIMITED. 0 turns the limit off.',
    defaultText: '100',
    parse: integerValue(0, 1_000_000_000),
  },
  RATE_LIMIT_TOKEN_PER_MINUTE: {
    name: 'RATE_LIMIT_TOKEN_PER_MINUTE',
    description:
      'Requests one IP address may make per minute to /token (code exchanges and refreshes; many users behind one NAT share the budget). 0 turns the limit off.',
    defaultText: '300',
    parse: integerValue(0, 1_000_000_000),
  },
  RATE_LIMIT_AUTHORIZE_PER_MINUTE: {
    name: 'RATE_LIMIT_AUTHORIZE_PER_MINUTE',
    description:
      'Requests one IP address may make per minute to /authorize and the sign-in and consent pages under /interaction (a sign-in takes about five). 0 turns the limit off.',
    defaultText: '120',
    parse: integerValue(0, 1_000_000_000),
  },
  RATE_LIMIT_AUTH_PER_MINUTE: {
    name: 'RATE_LIMIT_AUTH_PER_MINUTE',
    description:
      'Requests one IP address may make per minute to the browser sign-in routes under /auth/. 0 turns the limit off.',
    defaultText: '120',
    parse: integerValue(0, 1_000_000_000),
  },
  RATE_LIMIT_LOGIN_PER_MINUTE: {
    name: 'RATE_LIMIT_LOGIN_PER_MINUTE',
    description:
      'Requests one IP address may make per minute to the break-glass login form (on top of its own delays and lockout, see GATEHOUSE_ADMIN_PASSWORD_HASH). 0 turns the limit off.',
    defaultText: '20',
    parse: integerValue(0, 1_000_000_000),
  },
  GATEHOUSE_ADMIN_USERNAME: {
    name: 'GATEHOUSE_ADMIN_USERNAME',
    description: 'User name of the break-glass administrator (see GATEHOUSE_ADMIN_PASSWORD_HASH).',
    defaultText: 'admin',
    parse: stringValue,
  },
  GATEHOUSE_ADMIN_PASSWORD_HASH: {
    name: 'GATEHOUSE_ADMIN_PASSWORD_HASH',
    description:
      'Turns on the break-glass administrator login, for when Entra ID is unavailable: the scrypt hash of its password, as printed by `gatehouse admin hash-password` ($scrypt$ln=…,r=…,p=…$salt$hash). Failed logins are delayed (1, 2, 4, 8 s) and lock the account and the address for 5 minutes after 5 failures. When unset, there is no local login.',
    parse: passwordHashValue,
  },
  GATEHOUSE_ACCESS_TOKEN_TTL: {
    name: 'GATEHOUSE_ACCESS_TOKEN_TTL',
    aliases: ['TOKEN_EXPIRY_SECONDS'],
    description:
      'Lifetime in seconds of the access tokens Gatehouse issues to MCP clients (they refresh silently).',
    defaultText: '900',
    parse: integerValue(10, 24 * 3600, ' seconds'),
  },
  GATEHOUSE_REFRESH_TOKEN_TTL: {
    name: 'GATEHOUSE_REFRESH_TOKEN_TTL',
    description:
      'Lifetime in seconds of refresh tokens (rotated on every use) and of the grants behind them, counted from the last refresh: a client unused this long signs in again.',
    defaultText: '2592000',
    parse: integerValue(3600, 365 * 24 * 3600, ' seconds'),
  },
  MCP_AZURE_REDIRECT_URIS: {
    name: 'MCP_AZURE_REDIRECT_URIS',
    description:
      'Allow-list of the redirect URIs MCP clients may register with Gatehouse (comma-separated patterns; `*` stands for a port or the leftmost host label), e.g. http://localhost:*/callback,https://*.example.com/oauth/callback. When unset, any https URI, loopback http URI or app scheme (cursor://, vscode://) may be registered. javascript:, data:, file:, user:pass@, dot-segments, fragments and non-loopback http are always refused.',
    defaultText: 'not set (no allow-list)',
    parse: listValue(redirectPatternValue, 'http://localhost:*/callback'),
  },
  MCP_AZURE_IDENTIFIER_URI: {
    name: 'MCP_AZURE_IDENTIFIER_URI',
    description:
      'Application ID URI of the API app (v1 tokens may carry it as aud; scopes are named under it).',
    defaultText: 'api://{MCP_AZURE_CLIENT_ID}',
    parse: stringValue,
  },
  MCP_AZURE_AUTHORITY_HOST: {
    name: 'MCP_AZURE_AUTHORITY_HOST',
    description:
      'Entra authority host: https://login.microsoftonline.com, a sovereign cloud (https://login.microsoftonline.us, https://login.partner.microsoftonline.cn), External ID, or the development emulator.',
    defaultText: 'https://login.microsoftonline.com',
    parse: urlValue(['https:', 'http:']),
  },
  MCP_AZURE_TOKEN_AUDIENCE: {
    name: 'MCP_AZURE_TOKEN_AUDIENCE',
    aliases: ['TOKEN_AUDIENCE'],
    description: 'Extra aud values to accept besides the client ID and identifier URI (comma-separated).',
    parse: listValue(stringValue, 'api://gatehouse.contoso.com'),
  },
  MCP_AZURE_TOKEN_ISSUER: {
    name: 'MCP_AZURE_TOKEN_ISSUER',
    aliases: ['TOKEN_ISSUER'],
    description:
      "The v2 issuer to accept, with {tenantid} where the tenant goes (Entra External ID and other non-default issuers). By default it is read from the authority's OpenID discovery.",
    parse: stringValue,
  },
  MCP_AZURE_ALLOWED_TENANTS: {
    name: 'MCP_AZURE_ALLOWED_TENANTS',
    description:
      'Tenant IDs whose users may call Gatehouse (comma-separated); required for multi-tenant apps.',
    parse: listValue(guidValue, '72f988bf-86f1-41af-91ab-2d7cd011db47'),
  },
  MCP_AZURE_ALLOWED_CLIENT_APPS: {
    name: 'MCP_AZURE_ALLOWED_CLIENT_APPS',
    description:
      'Client application IDs (azp/appid) allowed to call with Entra tokens (comma-separated); any when unset.',
    parse: listValue(guidValue, 'aebc6443-996d-45c2-90f0-388ff96faa56'),
  },
  MCP_AZURE_CLOCK_SKEW: {
    name: 'MCP_AZURE_CLOCK_SKEW',
    aliases: ['AZURE_CLOCK_SKEW'],
    description: 'Seconds of clock difference tolerated when checking exp and nbf.',
    defaultText: '300',
    parse: integerValue(0, 900, ' seconds'),
  },
  MCP_AZURE_TOKEN_CACHE_TTL: {
    name: 'MCP_AZURE_TOKEN_CACHE_TTL',
    aliases: ['AZURE_TOKEN_CACHE_TTL'],
    description:
      'Seconds a verified token stays in the verification cache (never past its exp); 0 turns the cache off.',
    defaultText: '300',
    parse: integerValue(0, 3600, ' seconds'),
  },
  MCP_AZURE_GROUP_ROLES: {
    name: 'MCP_AZURE_GROUP_ROLES',
    description: 'Entra group IDs mapped to Gatehouse roles: group=role;role,group=role.',
    parse: groupRolesValue,
  },
  MCP_AZURE_SCOPES: {
    name: 'MCP_AZURE_SCOPES',
    description:
      'Renames of the scopes Gatehouse checks, as logical=name pairs (logical: discover, tools.read, tools.execute, chat), e.g. tools.execute=mcp.call.',
    defaultText: 'discover, tools.read, tools.execute, chat',
    parse: scopeRenamesValue,
  },
  MCP_AZURE_SIGN_IN_SCOPES: {
    name: 'MCP_AZURE_SIGN_IN_SCOPES',
    aliases: ['OAUTH_SCOPES'],
    description:
      'Extra delegated scopes Gatehouse asks Entra ID for when a user signs in through it (the consent screen lists them), e.g. `User.Read profile openid email`; Graph scopes may be written bare. They are asked for on the authorization request only: the tokens Gatehouse gets stay for its own API, whose scopes are configured as before (MCP_AZURE_SCOPES). Needs an Entra credential (MCP_AZURE_CLIENT_SECRET or its alternatives).',
    parse: signInScopesValue,
  },
  MCP_AZURE_AUTHORITY: {
    name: 'MCP_AZURE_AUTHORITY',
    aliases: ['AZURE_AUTHORITY'],
    description:
      'The Entra authority as one URL, host and tenant: https://login.microsoftonline.com/{tenant-id} (a trailing /v2.0 is allowed), a sovereign cloud, or the emulator (http://127.0.0.1:8001/{tenant-id}). Sets MCP_AZURE_AUTHORITY_HOST and MCP_AZURE_TENANT_ID; setting either of those to something else is refused.',
    parse: authorityValue,
  },
  MCP_AZURE_API_SCOPE: {
    name: 'MCP_AZURE_API_SCOPE',
    aliases: ['AZURE_SCOPE'],
    description:
      "The API's scope as clients request it, one or more full scope strings: api://{client-id}/tools.execute, or {client-id}/.default. The part before the scope name gives MCP_AZURE_IDENTIFIER_URI (or must be MCP_AZURE_CLIENT_ID); each scope name must be one Gatehouse checks (see MCP_AZURE_SCOPES) or .default. Anything else is refused rather than ignored.",
    parse: apiScopesValue,
  },
  MCP_SERVER_TOKEN: {
    name: 'MCP_SERVER_TOKEN',
    description:
      'Shared secret accepted in the path /mcp/t-{token}/http (legacy clients that cannot do OAuth); at least 32 characters.',
    parse: secretValue,
  },
  MCP_SERVER_TOKEN_ROLES: {
    name: 'MCP_SERVER_TOKEN_ROLES',
    description: 'Roles of the service identity that MCP_SERVER_TOKEN callers act as (comma-separated).',
    defaultText: 'user',
    parse: listValue(stringValue, 'user,admin'),
  },
  MCP_SERVER_TOKEN_SCOPES: {
    name: 'MCP_SERVER_TOKEN_SCOPES',
    description:
      'Scopes of the service identity that MCP_SERVER_TOKEN callers act as (comma-separated logical names: discover, tools.read, tools.execute, chat). The tool policy decides for it as for a token carrying them: a tool that needs a scope not listed is hidden and refused.',
    defaultText: 'discover, tools.read, tools.execute',
    parse: listValue(oneOf('discover', 'tools.read', 'tools.execute', 'chat'), 'discover,tools.execute'),
  },
  MCP_AZURE_JWT_SIGNING_KEY: {
    name: 'MCP_AZURE_JWT_SIGNING_KEY',
    description:
      "Master secret (at least 32 characters, e.g. from `openssl rand -base64 48`) that Gatehouse's signing keys and the Entra tokens it keeps are encrypted under (AES-256-GCM, key derived by HKDF-SHA256). Required with NODE_ENV=production; in development a generated one is kept in GATEHOUSE_DATA_DIR/signing-key.secret. Changing it makes stored keys unreadable.",
    parse: masterSecretValue,
  },
  GATEHOUSE_ENCRYPTION_KEY: {
    name: 'GATEHOUSE_ENCRYPTION_KEY',
    description:
      'When set, used instead of MCP_AZURE_JWT_SIGNING_KEY as the master secret for secrets at rest (same rule: at least 32 characters).',
    parse: masterSecretValue,
  },
  GATEHOUSE_SSO_AUTO_ASSIGN: {
    name: 'GATEHOUSE_SSO_AUTO_ASSIGN',
    aliases: ['A0_SET_SSO_AUTO_ASSIGN'],
    description:
      'Add users signing in for the first time to the default organization and team with the default role.',
    defaultText: 'true',
    parse: booleanValue,
  },
  MCP_AZURE_VALIDATE_WITH_GRAPH: {
    name: 'MCP_AZURE_VALIDATE_WITH_GRAPH',
    aliases: ['AZURE_VALIDATE_WITH_GRAPH'],
    description:
      'At each sign-in through Gatehouse, read the account from Microsoft Graph (on-behalf-of, delegated User.Read) and refuse a disabled one (accountEnabled false). Needs an Entra credential.',
    defaultText: 'false',
    parse: booleanValue,
  },
  GATEHOUSE_DEFAULT_ORG: {
    name: 'GATEHOUSE_DEFAULT_ORG',
    description: 'Organization new users are added to when GATEHOUSE_SSO_AUTO_ASSIGN is on.',
    defaultText: 'default',
    parse: stringValue,
  },
  GATEHOUSE_DEFAULT_TEAM: {
    name: 'GATEHOUSE_DEFAULT_TEAM',
    description: 'Team (in the default organization) new users are added to.',
    defaultText: 'default',
    parse: stringValue,
  },
  GATEHOUSE_DEFAULT_ROLE: {
    name: 'GATEHOUSE_DEFAULT_ROLE',
    description: 'Role new users get in the default team.',
    defaultText: 'user',
    parse: stringValue,
  },
  MCP_SERVER_BASE_URL: {
    name: 'MCP_SERVER_BASE_URL',
    description:
      'Public origin of Gatehouse as clients reach it (behind a proxy: the proxy URL). Used in metadata and as an allowed Origin.',
    defaultText: 'http://{HOST}:{PORT}',
    parse: urlValue(['http:', 'https:']),
  },
  TRUSTED_PROXIES: {
    name: 'TRUSTED_PROXIES',
    description:
      'Addresses or CIDRs of the reverse proxies / load balancers in front of Gatehouse, comma-separated (`loopback`, `linklocal` and `uniquelocal` name those ranges). Only a request from one of them has its X-Forwarded-For (client IP for rate limits and audit), X-Forwarded-Proto and X-Forwarded-Host honoured; from anyone else they are ignored.',
    defaultText: 'none (forwarded headers ignored)',
    parse: listValue(trustedProxyValue, '10.0.0.0/8,loopback'),
  },
  MCP_ALLOWED_ORIGINS: {
    name: 'MCP_ALLOWED_ORIGINS',
    description:
      'Extra browser origins allowed to call /mcp, comma-separated (`*` allowed as the port: http://localhost:*). Loopback origins and the MCP_SERVER_BASE_URL origin are always allowed.',
    parse: originListValue,
  },
  MCP_SESSION_MODE: {
    name: 'MCP_SESSION_MODE',
    description:
      'stateful: initialize returns an Mcp-Session-Id (requests without one are still served statelessly). stateless: no sessions are created.',
    defaultText: 'stateful',
    parse: oneOf('stateful', 'stateless'),
  },
  MCP_SESSION_TTL: {
    name: 'MCP_SESSION_TTL',
    description: 'Seconds an idle MCP session is kept before it expires (a request resets the clock).',
    defaultText: '3600',
    parse: integerValue(60, 7 * 24 * 3600, ' seconds'),
  },
  MCP_SSE_MAX_STREAMS_PER_USER: {
    name: 'MCP_SSE_MAX_STREAMS_PER_USER',
    description:
      'Open streams one user may hold on the legacy HTTP+SSE transport (GET /sse), per instance; one more gets 429 GH_MCP_SSE_STREAM_LIMIT. Each stream holds a connection and a session in memory until it closes.',
    defaultText: '10',
    parse: integerValue(1, 1000),
  },
  MCP_RESPONSE_MODE: {
    name: 'MCP_RESPONSE_MODE',
    description:
      'json: answer POSTs with a JSON body, switching to an SSE stream only when a request asks for progress or the client accepts only SSE. sse: always answer with an SSE stream.',
    defaultText: 'json',
    parse: oneOf('json', 'sse'),
  },
  HTTP_BODY_LIMIT: {
    name: 'HTTP_BODY_LIMIT',
    description: 'Largest accepted request body in bytes; larger bodies get 413.',
    defaultText: '1048576',
    parse: integerValue(1024, 64 * 1024 * 1024, ' bytes'),
  },
  HTTP_SHUTDOWN_TIMEOUT: {
    name: 'HTTP_SHUTDOWN_TIMEOUT',
    description:
      'Seconds to let in-flight requests finish after SIGTERM/SIGINT before the process exits anyway.',
    defaultText: '10',
    parse: integerValue(0, 600, ' seconds'),
  },
  LOG_LEVEL: {
    name: 'LOG_LEVEL',
    description: `Log level: ${LOG_LEVELS.join(', ')}. Each request is logged at debug.`,
    defaultText: 'info',
    parse: oneOf(...LOG_LEVELS),
  },
  LOG_FORMAT: {
    name: 'LOG_FORMAT',
    description: 'json: one JSON object per line. pretty: readable lines for a terminal.',
    defaultText: 'pretty when stdout is a terminal, otherwise json',
    parse: oneOf('json', 'pretty'),
  },
  GATEHOUSE_DATA_DIR: {
    name: 'GATEHOUSE_DATA_DIR',
    description:
      'Folder for the SQLite database (gatehouse.db) when DATABASE_URL is not set, and for the development secret (signing-key.secret) when MCP_AZURE_JWT_SIGNING_KEY is not set.',
    defaultText: './data',
    parse: stringValue,
  },
  DATABASE_URL: {
    name: 'DATABASE_URL',
    description:
      'PostgreSQL connection URL (postgres://user:pass@host:5432/db). When set, durable data lives in PostgreSQL instead of SQLite.',
    parse: urlValue(['postgres:', 'postgresql:']),
  },
  DATABASE_SCHEMA: {
    name: 'DATABASE_SCHEMA',
    description:
      'PostgreSQL schema to use (created if missing); lets several deployments share one database.',
    defaultText: 'public',
    parse: stringValue,
  },
  REDIS_URL: {
    name: 'REDIS_URL',
    description:
      'Redis URL (redis://host:6379). When set, short-lived state (sessions, codes, counters) lives in Redis, shared by every instance.',
    parse: urlValue(['redis:', 'rediss:']),
  },
  REDIS_KEY_PREFIX: {
    name: 'REDIS_KEY_PREFIX',
    description: 'Prefix of every Redis key Gatehouse writes.',
    defaultText: 'gatehouse:',
    parse: stringValue,
  },
  GATEHOUSE_CONFIG_FILE: {
    name: 'GATEHOUSE_CONFIG_FILE',
    description:
      'Path of an optional JSON config file. Its `env` object may set any variable in this table (real environment variables win); `mcpServers` declares upstream servers (docs/gateway.md).',
    parse: stringValue,
  },
  GATEHOUSE_GATEWAY_RUNTIME_STDIO: {
    name: 'GATEHOUSE_GATEWAY_RUNTIME_STDIO',
    description:
      'Whether administrators may register stdio servers at runtime (through /api/servers or register_server). Such a server is a program started on the Gatehouse host, so it is off; stdio servers in the config file are always allowed.',
    defaultText: 'false',
    parse: booleanValue,
  },
  GATEHOUSE_GATEWAY_SYNC_INTERVAL: {
    name: 'GATEHOUSE_GATEWAY_SYNC_INTERVAL',
    description:
      'Milliseconds between two reads of the server registry: a server registered through another instance is served here within this time.',
    defaultText: '2000',
    parse: integerValue(100, 600_000, ' milliseconds'),
  },
  GATEHOUSE_GATEWAY_LIST_TTL: {
    name: 'GATEHOUSE_GATEWAY_LIST_TTL',
    description:
      "Seconds an upstream's list of tools, prompts or resources is served from cache before it is fetched again (a list_changed notification refreshes it sooner).",
    defaultText: '300',
    parse: integerValue(1, 86_400, ' seconds'),
  },
  GATEHOUSE_GATEWAY_LIST_WAIT: {
    name: 'GATEHOUSE_GATEWAY_LIST_WAIT',
    description:
      'The longest tools/list (and the other lists) waits for an upstream whose list is not cached yet; a slower upstream is left out of that answer and fills the cache when it answers.',
    defaultText: '1500',
    parse: integerValue(10, 60_000, ' milliseconds'),
  },
  AUDIT_RETENTION_DAYS: {
    name: 'AUDIT_RETENTION_DAYS',
    description:
      'Days audit rows are kept; older ones are deleted once an hour (by every instance: concurrent deletes are harmless). 0 keeps them forever.',
    defaultText: '90',
    parse: integerValue(0, 36_500, ' days'),
  },
  AUDIT_LOG_STDOUT: {
    name: 'AUDIT_LOG_STDOUT',
    description:
      'true: every audit event is also written to standard output as one JSON line (for a log shipper), besides the audit_log table.',
    defaultText: 'false',
    parse: booleanValue,
  },
  AUDIT_LOG_ARGUMENTS: {
    name: 'AUDIT_LOG_ARGUMENTS',
    description:
      'true: tool-call audit rows keep the call arguments, with values under secret-looking keys (password, token, secret, key, authorization, cookie, …) replaced by "[redacted]". Off by default: arguments may hold personal data.',
    defaultText: 'false',
    parse: booleanValue,
  },
  AUDIT_BUFFER_SIZE: {
    name: 'AUDIT_BUFFER_SIZE',
    description:
      'Audit events held in memory while they wait to be written (or while the database is unreachable). Past it, AUDIT_BUFFER_FULL decides which event is dropped; every drop is counted, logged and shown in /ready.',
    defaultText: '10000',
    parse: integerValue(100, 1_000_000),
  },
  AUDIT_BUFFER_FULL: {
    name: 'AUDIT_BUFFER_FULL',
    description:
      'What a full audit buffer drops: drop-newest keeps the events already waiting (the start of an outage) and counts each new one as dropped; drop-oldest keeps the most recent events instead. Requests are never blocked or refused either way.',
    defaultText: 'drop-newest',
    parse: oneOf('drop-newest', 'drop-oldest'),
  },
  AUDIT_FLUSH_INTERVAL: {
    name: 'AUDIT_FLUSH_INTERVAL',
    description:
      'Milliseconds between writes of the audit buffer to the database; a full batch (500 events) is written at once without waiting.',
    defaultText: '1000',
    parse: integerValue(10, 60_000, ' milliseconds'),
  },
  CHAT_COMPLETIONS_URL: {
    name: 'CHAT_COMPLETIONS_URL',
    description:
      'The OpenAI-compatible chat completions endpoint the chat tools (send_message, finish_chat) forward messages to, e.g. https://api.openai.com/v1/chat/completions or https://{resource}.openai.azure.com/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21. When unset the chat tools are not served.',
    parse: urlValue(['https:', 'http:']),
  },
  CHAT_API_KEY: {
    name: 'CHAT_API_KEY',
    description:
      'Key for CHAT_COMPLETIONS_URL: sent as `api-key` to Azure OpenAI hosts (*.openai.azure.com, *.cognitiveservices.azure.com) and as `Authorization: Bearer` to any other. Not with CHAT_AUTH=entra.',
    parse: stringValue,
  },
  CHAT_MODEL: {
    name: 'CHAT_MODEL',
    description:
      'The `model` sent with every chat completion request (e.g. gpt-4o-mini). Azure OpenAI names the deployment in the URL instead, so it may stay unset there.',
    parse: stringValue,
  },
  CHAT_AUTH: {
    name: 'CHAT_AUTH',
    description:
      "How Gatehouse authenticates to CHAT_COMPLETIONS_URL: key (CHAT_API_KEY), entra (a token for CHAT_ENTRA_SCOPE obtained with Gatehouse's own Entra credential, MCP_AZURE_CLIENT_SECRET or its alternatives: Azure OpenAI with Entra ID), on-behalf-of (the calling user's own delegated token for CHAT_ENTRA_SCOPE, exchanged on their behalf with the same credential, so that Azure OpenAI sees and authorizes the user) or none.",
    defaultText: 'key when CHAT_API_KEY is set, otherwise none',
    parse: oneOf('key', 'entra', 'on-behalf-of', 'none'),
  },
  CHAT_ENTRA_SCOPE: {
    name: 'CHAT_ENTRA_SCOPE',
    description:
      "With CHAT_AUTH=entra: the scope of the app token Gatehouse asks Entra ID for; with CHAT_AUTH=on-behalf-of: the delegated scope asked for on the user's behalf.",
    defaultText: 'https://cognitiveservices.azure.com/.default',
    parse: stringValue,
  },
  CHAT_SYSTEM_PROMPT: {
    name: 'CHAT_SYSTEM_PROMPT',
    description: 'A system message put before every conversation sent to the chat backend (never stored).',
    parse: stringValue,
  },
  CHAT_TIMEOUT: {
    name: 'CHAT_TIMEOUT',
    description:
      'Seconds the chat backend may take for a whole answer; past it send_message fails and stores nothing.',
    defaultText: '120',
    parse: integerValue(1, 3600, ' seconds'),
  },
  METRICS_TOKEN: {
    name: 'METRICS_TOKEN',
    description:
      'Bearer token that GET /metrics on the main listener requires (Authorization: Bearer <token>); at least 32 characters. Without it (and without METRICS_PORT) /metrics is off and answers 404 GH_METRICS_DISABLED.',
    parse: secretTokenValue,
  },
  METRICS_PORT: {
    name: 'METRICS_PORT',
    description:
      'When set, /metrics is also served on a listener of its own on METRICS_HOST:METRICS_PORT (0 picks a free port), without a token unless METRICS_TOKEN is set. Keep it off the public network.',
    parse: integerValue(0, 65535),
  },
  METRICS_HOST: {
    name: 'METRICS_HOST',
    description: 'Address the METRICS_PORT listener binds to.',
    defaultText: '127.0.0.1',
    parse: stringValue,
  },
  OTEL_TRACES_EXPORTER: {
    name: 'OTEL_TRACES_EXPORTER',
    description:
      'otlp exports traces over OTLP/HTTP (the default once an OTLP endpoint is set); none turns tracing off whatever else is set. Tracing is off when no OTLP endpoint is set.',
    defaultText: 'otlp when an endpoint is set',
    parse: oneOf('otlp', 'none'),
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    description:
      'Base URL of an OpenTelemetry collector (OTLP/HTTP, e.g. http://collector:4318); spans go to {endpoint}/v1/traces. Setting it turns tracing on (docs/operations.md#traces).',
    parse: urlValue(['http:', 'https:']),
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    description:
      'Full URL spans are posted to (OTLP/HTTP), used as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT. Setting it turns tracing on.',
    parse: urlValue(['http:', 'https:']),
  },
  OTEL_EXPORTER_OTLP_HEADERS: {
    name: 'OTEL_EXPORTER_OTLP_HEADERS',
    description:
      'Headers sent with every export, as key=value pairs separated by commas (e.g. an API key of the collector).',
    parse: stringValue,
  },
  OTEL_SERVICE_NAME: {
    name: 'OTEL_SERVICE_NAME',
    description: 'service.name of the exported spans.',
    defaultText: 'gatehouse',
    parse: stringValue,
  },
} as const satisfies Record<string, VariableSpec>;

function passwordHashValue(raw: string): Parsed<string> {
  const value = raw.trim();
  return parsePasswordHash(value) === undefined
    ? problem(
        'it is not a password hash made by `gatehouse admin hash-password` ($scrypt$ln=…,r=…,p=…$salt$hash): run that command and paste the line it prints',
      )
    : ok(value);
}

export type VariableName = keyof typeof VARIABLES;
export type VariableValue<N extends VariableName> =
  (typeof VARIABLES)[N] extends VariableSpec<infer T> ? T : never;
