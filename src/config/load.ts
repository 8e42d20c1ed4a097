import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { GatehouseError } from '../errors/index.js';
import { expandVariables, parseServerDefinition, type UpstreamServer } from '../gateway/server-config.js';
import { readChatSettings } from './chat-settings.js';
import type { EntraCredentialConfig, GatehouseConfig, ToolPolicySetting, ToolRateLimit } from './config.js';
import { observabilitySettings } from './observability.js';
import { reconcileSourceSettings } from './reconcile.js';
import { redactUrl, VARIABLES, type VariableName, type VariableValue } from './variables.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  env?: Environment;
  /** Whether stdout is a terminal; decides the default log format. */
  isTty?: boolean;
  cwd?: string;
}

/**
 * Reads the environment (and the optional config file), validates every variable, and returns
 * the frozen configuration. All problems are reported at once, each naming the variable to set.
 */
export function loadConfig(options: LoadOptions = {}): GatehouseConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const sources: Record<string, 'env' | 'file' | 'default'> = {};

  const configFile = env.GATEHOUSE_CONFIG_FILE?.trim() || undefined;
  const file = configFile
    ? readConfigFile(path.resolve(cwd, configFile), problems, env)
    : { env: {}, tools: {}, prompts: {}, resources: {}, clients: [], servers: [], definitions: {} };
  const fileEnv = file.env;

  function read<N extends VariableName>(name: N): VariableValue<N> | undefined {
    const spec = VARIABLES[name];
    const names = [spec.name, ...('aliases' in spec ? spec.aliases : [])];
    for (const [origin, source] of [
      ['env', env],
      ['file', fileEnv],
    ] as const) {
      const given = names.filter((candidate) => source[candidate] !== undefined && source[candidate] !== '');
      const candidate = given[0];
      if (candidate === undefined) continue;
      const parsed = spec.parse(source[candidate] as string);
      sources[spec.name] = origin;
      if (!parsed.ok) {
        const via = candidate === spec.name ? spec.name : `${candidate} (alias of ${spec.name})`;
        problems.push(`${via}: ${parsed.problem}.`);
        return undefined;
      }
      // Two names of one setting with different values: which one was meant is not a guess to make.
      for (const other of given.slice(1)) {
        const otherParsed = spec.parse(source[other] as string);
        if (!otherParsed.ok || JSON.stringify(otherParsed.value) !== JSON.stringify(parsed.value)) {
          problems.push(
            `${candidate} and ${other} are both set${origin === 'file' ? ' in the config file' : ''}, to different values ('${redactUrl(String(source[candidate]))}' and '${redactUrl(String(source[other]))}'): they name the same setting (${spec.name}); keep one.`,
          );
          return undefined;
        }
      }
      return parsed.value as VariableValue<N>;
    }
    sources[spec.name] = 'default';
    return undefined;
  }

  const host = read('HOST') ?? '127.0.0.1';
  const port = read('PORT') ?? 8000;
  const nodeEnv = read('NODE_ENV') ?? 'development';
  const clientId = read('MCP_AZURE_CLIENT_ID');
  const scopeRenames = read('MCP_AZURE_SCOPES') ?? {};
  // AZURE_AUTHORITY and AZURE_SCOPE (as other servers write them) set or confirm these three.
  const { tenant, identifierUri, authorityHost } = reconcileSourceSettings(
    {
      tenant: read('MCP_AZURE_TENANT_ID'),
      clientId,
      identifierUri: read('MCP_AZURE_IDENTIFIER_URI'),
      authorityHost: read('MCP_AZURE_AUTHORITY_HOST')?.replace(/\/+$/, ''),
      authority: read('MCP_AZURE_AUTHORITY'),
      apiScopes: read('MCP_AZURE_API_SCOPE'),
      scopeNames: { ...DEFAULT_SCOPE_NAMES, ...scopeRenames },
    },
    problems,
  );
  const extraAudiences = read('MCP_AZURE_TOKEN_AUDIENCE') ?? [];
  const issuerTemplate = read('MCP_AZURE_TOKEN_ISSUER');
  const allowedTenants = read('MCP_AZURE_ALLOWED_TENANTS');
  const allowedClientApps = read('MCP_AZURE_ALLOWED_CLIENT_APPS');
  const clientSecret = read('MCP_AZURE_CLIENT_SECRET');
  const clientCertificatePath = read('MCP_AZURE_CLIENT_CERTIFICATE_PATH');
  const federatedTokenFile = read('MCP_AZURE_FEDERATED_TOKEN_FILE');
  const credentialsSet = [
    clientSecret === undefined ? undefined : 'MCP_AZURE_CLIENT_SECRET',
    clientCertificatePath === undefined ? undefined : 'MCP_AZURE_CLIENT_CERTIFICATE_PATH',
    federatedTokenFile === undefined ? undefined : 'MCP_AZURE_FEDERATED_TOKEN_FILE',
  ].filter((name) => name !== undefined);
  if (credentialsSet.length > 1) {
    problems.push(
      `${credentialsSet.join(' and ')} are set together: keep the one credential Gatehouse should use with Entra ID.`,
    );
  }
  const entraCredential: EntraCredentialConfig | undefined =
    clientSecret !== undefined
      ? { kind: 'secret', secret: clientSecret }
      : clientCertificatePath !== undefined
        ? { kind: 'certificate', path: path.resolve(cwd, clientCertificatePath) }
        : federatedTokenFile !== undefined
          ? { kind: 'federated', tokenFile: path.resolve(cwd, federatedTokenFile) }
          : undefined;
  const redirectUriPatterns = read('MCP_AZURE_REDIRECT_URIS');
  const accessTokenTtl = read('GATEHOUSE_ACCESS_TOKEN_TTL') ?? 900;
  const registrationsPerHour = read('GATEHOUSE_REGISTRATIONS_PER_HOUR') ?? 20;
  const refreshTokenTtl = read('GATEHOUSE_REFRESH_TOKEN_TTL') ?? 30 * 24 * 3600;
  const mcpPerMinute = read('RATE_LIMIT_MCP_PER_MINUTE') ?? 100;
  const tokenPerMinute = read('RATE_LIMIT_TOKEN_PER_MINUTE') ?? 300;
  const authorizePerMinute = read('RATE_LIMIT_AUTHORIZE_PER_MINUTE') ?? 120;
  const authPerMinute = read('RATE_LIMIT_AUTH_PER_MINUTE') ?? 120;
  const loginPerMinute = read('RATE_LIMIT_LOGIN_PER_MINUTE') ?? 20;
  const adminUsername = read('GATEHOUSE_ADMIN_USERNAME') ?? 'admin';
  const adminPasswordHash = read('GATEHOUSE_ADMIN_PASSWORD_HASH');
  const clockSkew = read('MCP_AZURE_CLOCK_SKEW') ?? 300;
  const tokenCacheTtl = read('MCP_AZURE_TOKEN_CACHE_TTL') ?? 300;
  const groupRoles = read('MCP_AZURE_GROUP_ROLES') ?? {};
  const serverToken = read('MCP_SERVER_TOKEN');
  const serverTokenRoles = read('MCP_SERVER_TOKEN_ROLES') ?? ['user'];
  const serverTokenScopes = read('MCP_SERVER_TOKEN_SCOPES') ?? ['discover', 'tools.read', 'tools.execute'];
  const jwtSigningKey = read('MCP_AZURE_JWT_SIGNING_KEY');
  const encryptionKey = read('GATEHOUSE_ENCRYPTION_KEY');
  const ssoAutoAssign = read('GATEHOUSE_SSO_AUTO_ASSIGN') ?? true;
  const validateWithGraph = read('MCP_AZURE_VALIDATE_WITH_GRAPH') ?? false;
  const defaultOrg = read('GATEHOUSE_DEFAULT_ORG') ?? 'default';
  const defaultTeam = read('GATEHOUSE_DEFAULT_TEAM') ?? 'default';
  const defaultRole = read('GATEHOUSE_DEFAULT_ROLE') ?? 'user';
  // Configuring an API app means authentication is wanted: never fall back to development mode then.
  const authEnabled = read('MCP_ENABLE_AUTH') ?? clientId !== undefined;
  const baseUrlRaw = read('MCP_SERVER_BASE_URL');
  const allowedOrigins = read('MCP_ALLOWED_ORIGINS') ?? [];
  const trustedProxies = read('TRUSTED_PROXIES') ?? [];
  const sessionMode = read('MCP_SESSION_MODE') ?? 'stateful';
  const sessionTtl = read('MCP_SESSION_TTL') ?? 3600;
  const responseMode = read('MCP_RESPONSE_MODE') ?? 'json';
  const sseMaxStreamsPerUser = read('MCP_SSE_MAX_STREAMS_PER_USER') ?? 10;
  const bodyLimit = read('HTTP_BODY_LIMIT') ?? 1024 * 1024;
  const shutdownTimeout = read('HTTP_SHUTDOWN_TIMEOUT') ?? 10;
  const logLevel = read('LOG_LEVEL') ?? 'info';
  const logFormat = read('LOG_FORMAT') ?? (options.isTty ? 'pretty' : 'json');
  const dataDir = read('GATEHOUSE_DATA_DIR') ?? './data';
  const databaseUrl = read('DATABASE_URL');
  const databaseSchema = read('DATABASE_SCHEMA');
  const redisUrl = read('REDIS_URL');
  const redisKeyPrefix = read('REDIS_KEY_PREFIX') ?? 'gatehouse:';
  const runtimeStdio = read('GATEHOUSE_GATEWAY_RUNTIME_STDIO') ?? false;
  const syncInterval = read('GATEHOUSE_GATEWAY_SYNC_INTERVAL') ?? 2000;
  const listTtl = read('GATEHOUSE_GATEWAY_LIST_TTL') ?? 300;
  const listWait = read('GATEHOUSE_GATEWAY_LIST_WAIT') ?? 1500;
  const signInScopes = read('MCP_AZURE_SIGN_IN_SCOPES');
  if (signInScopes !== undefined && (!authEnabled || entraCredential === undefined)) {
    problems.push(
      `MCP_AZURE_SIGN_IN_SCOPES (OAUTH_SCOPES) is set, but users sign in through Gatehouse only when it has an Entra credential: set MCP_AZURE_CLIENT_SECRET (or MCP_AZURE_CLIENT_CERTIFICATE_PATH or MCP_AZURE_FEDERATED_TOKEN_FILE), or unset it.`,
    );
  }
  const chat = readChatSettings(read, problems, {
    hasEntraCredential: authEnabled && entraCredential !== undefined,
  });
  const observability = observabilitySettings(read, problems);

  if (authEnabled) {
    if (clientId === undefined && sources.MCP_AZURE_CLIENT_ID === 'default') {
      problems.push(
        'MCP_AZURE_CLIENT_ID is not set: authentication (MCP_ENABLE_AUTH=true) needs the Application (client) ID of the Gatehouse API app registration. ' +
          'Or set MCP_ENABLE_AUTH=false to run in development mode on a loopback address.',
      );
    }
    if (tenant === undefined && sources.MCP_AZURE_TENANT_ID === 'default') {
      problems.push(
        'MCP_AZURE_TENANT_ID is not set: authentication needs the Directory (tenant) ID whose tokens Gatehouse accepts.',
      );
    }
    if ((tenant === 'common' || tenant === 'organizations') && allowedTenants === undefined) {
      problems.push(
        `MCP_AZURE_TENANT_ID is '${tenant}': a specific tenant GUID is required unless MCP_AZURE_ALLOWED_TENANTS lists the tenants to accept.`,
      );
    }
  } else {
    if (nodeEnv === 'production') {
      throw new GatehouseError(
        'GH_DEV_MODE_REFUSED',
        'Development mode (MCP_ENABLE_AUTH=false) refuses to run with NODE_ENV=production: ' +
          'unset NODE_ENV or set it to development to try Gatehouse locally.',
      );
    }
    if (!isLoopbackHost(host)) {
      throw new GatehouseError(
        'GH_DEV_MODE_REFUSED',
        `Development mode (MCP_ENABLE_AUTH=false) serves tools without authentication, so it only binds to loopback: ` +
          `HOST is '${host}'. Set HOST=127.0.0.1 (or ::1, localhost).`,
      );
    }
  }

  if (
    nodeEnv === 'production' &&
    sources.MCP_AZURE_JWT_SIGNING_KEY === 'default' &&
    sources.GATEHOUSE_ENCRYPTION_KEY === 'default'
  ) {
    problems.push(
      'MCP_AZURE_JWT_SIGNING_KEY is not set: with NODE_ENV=production Gatehouse needs it to encrypt its signing keys and stored tokens. ' +
        'Make one with `openssl rand -base64 48`, keep it in your secret store, and give every instance the same value.',
    );
  }

  if (validateWithGraph && entraCredential === undefined) {
    problems.push(
      'MCP_AZURE_VALIDATE_WITH_GRAPH is true but Gatehouse holds no Entra credential to call Graph with: set MCP_AZURE_CLIENT_SECRET (or a certificate or federated credential), or unset MCP_AZURE_VALIDATE_WITH_GRAPH.',
    );
  }

  if (databaseSchema !== undefined && databaseUrl === undefined) {
    problems.push(
      'DATABASE_SCHEMA is set but DATABASE_URL is not: set DATABASE_URL to a PostgreSQL URL, or unset DATABASE_SCHEMA.',
    );
  }
  if (databaseSchema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(databaseSchema)) {
    problems.push(
      `DATABASE_SCHEMA: '${databaseSchema}' is not a plain PostgreSQL identifier: use letters, digits and _.`,
    );
  }

  const audit = {
    retentionDays: read('AUDIT_RETENTION_DAYS') ?? 90,
    stdout: read('AUDIT_LOG_STDOUT') ?? false,
    logArguments: read('AUDIT_LOG_ARGUMENTS') ?? false,
    bufferSize: read('AUDIT_BUFFER_SIZE') ?? 10_000,
    whenFull: read('AUDIT_BUFFER_FULL') ?? 'drop-newest',
    flushIntervalMs: read('AUDIT_FLUSH_INTERVAL') ?? 1000,
  };

  if (problems.length > 0) {
    throw new GatehouseError(
      'GH_CONFIG_INVALID',
      `Gatehouse cannot start: ${problems.length === 1 ? 'one setting needs' : `${problems.length} settings need`} attention:\n` +
        problems.map((line) => `  - ${line}`).join('\n'),
      { detail: { problems } },
    );
  }

  const baseUrl = (baseUrlRaw ?? `http://${formatHostForUrl(host)}:${port}`).replace(/\/+$/, '');
  const config: GatehouseConfig = {
    server: {
      host,
      port,
      baseUrl,
      bodyLimit,
      shutdownTimeoutMs: shutdownTimeout * 1000,
      nodeEnv,
      trustedProxies,
    },
    auth: {
      enabled: authEnabled,
      entra:
        authEnabled && tenant !== undefined && clientId !== undefined
          ? {
              authorityHost,
              tenant,
              clientId,
              identifierUri: identifierUri ?? `api://${clientId}`,
              audiences: [
                ...new Set([
                  clientId,
                  identifierUri ?? `api://${clientId}`,
                  `${identifierUri ?? `api://${clientId}`}/`,
                  ...extraAudiences,
                ]),
              ],
              issuerTemplate,
              allowedTenants,
              allowedClientApps,
            }
          : undefined,
      scopeNames: { ...DEFAULT_SCOPE_NAMES, ...scopeRenames },
      signInScopes: signInScopes ?? [],
      serverToken,
      serverTokenRoles,
      serverTokenScopes: serverTokenScopes.map(
        (scope) => LOGICAL_SCOPES[scope as keyof typeof LOGICAL_SCOPES],
      ),
      ssoAutoAssign,
      validateWithGraph,
      defaultMembership: { org: defaultOrg, team: defaultTeam, role: defaultRole },
      groupRoles,
      clockSkewSeconds: clockSkew,
      tokenCacheTtlMs: tokenCacheTtl * 1000,
      entraCredential,
      redirectUriPatterns,
      accessTokenTtlSeconds: accessTokenTtl,
      registrationsPerHour,
      refreshTokenTtlSeconds: refreshTokenTtl,
    },
    mcp: { sessionMode, sessionTtlMs: sessionTtl * 1000, responseMode, sseMaxStreamsPerUser, allowedOrigins },
    storage: {
      databaseUrl,
      databaseSchema,
      sqliteFile: path.resolve(cwd, dataDir, 'gatehouse.db'),
      redisUrl,
      redisKeyPrefix,
    },
    secrets: { jwtSigningKey, encryptionKey, dataDir: path.resolve(cwd, dataDir) },
    log: { level: logLevel, format: logFormat },
    gateway: {
      servers: file.servers,
      definitions: file.definitions,
      runtimeStdio,
      syncIntervalMs: syncInterval,
      listTtlMs: listTtl * 1000,
      listWaitMs: listWait,
    },
    limits: { mcpPerMinute, tokenPerMinute, authorizePerMinute, authPerMinute, loginPerMinute },
    breakGlass: { username: adminUsername, passwordHash: adminPasswordHash },
    audit,
    chat,
    observability,
    toolPolicies: file.tools,
    promptPolicies: file.prompts,
    resourcePolicies: file.resources,
    clients: file.clients,
    sources,
    configFile,
  };
  return deepFreeze(config);
}

interface ConfigFile {
  env: Record<string, string>;
  tools: Record<string, ToolPolicySetting>;
  prompts: Record<string, ToolPolicySetting>;
  resources: Record<string, ToolPolicySetting>;
  clients: Record<string, unknown>[];
  servers: UpstreamServer[];
  definitions: Record<string, Record<string, unknown>>;
}

const DEFAULT_SCOPE_NAMES = {
  discover: 'discover',
  toolsRead: 'tools.read',
  toolsExecute: 'tools.execute',
  chat: 'chat',
} as const;

const LOGICAL_SCOPES = {
  discover: 'discover',
  'tools.read': 'toolsRead',
  'tools.execute': 'toolsExecute',
  chat: 'chat',
} as const;

function readConfigFile(file: string, problems: string[], environment: Environment): ConfigFile {
  const result: ConfigFile = {
    env: {},
    tools: {},
    prompts: {},
    resources: {},
    clients: [],
    servers: [],
    definitions: {},
  };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(
      `GATEHOUSE_CONFIG_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): fix the path or unset it.`,
    );
    return result;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    problems.push(`GATEHOUSE_CONFIG_FILE: ${file} is not valid JSON (${(error as Error).message}).`);
    return result;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push(
      `GATEHOUSE_CONFIG_FILE: ${file} must hold a JSON object with "env" and/or "tools" members.`,
    );
    return result;
  }
  const { env, tools, prompts, resources, clients, mcpServers, servers, ...unknown } = data as {
    env?: unknown;
    tools?: unknown;
    prompts?: unknown;
    resources?: unknown;
    clients?: unknown;
    mcpServers?: unknown;
    servers?: unknown;
  };
  for (const key of Object.keys(unknown)) {
    problems.push(
      `GATEHOUSE_CONFIG_FILE: "${key}" in ${file} is not a section Gatehouse reads (it reads "env", "tools", "prompts", "resources", "clients", "mcpServers" and "servers").`,
    );
  }
  // "mcpServers" as Claude Desktop and Cursor write it; "servers" as VS Code's mcp.json does.
  for (const [section, value] of [
    ['mcpServers', mcpServers],
    ['servers', servers],
  ] as const) {
    if (value === undefined) continue;
    if (!isPlainObject(value)) {
      problems.push(
        `GATEHOUSE_CONFIG_FILE: "${section}" in ${file} must be an object of server names to definitions.`,
      );
      continue;
    }
    for (const [name, definition] of Object.entries(value)) {
      const where = `${section}.${name}`;
      if (result.definitions[name] !== undefined) {
        problems.push(
          `GATEHOUSE_CONFIG_FILE: the server '${name}' is declared in both "mcpServers" and "servers" of ${file}: keep one (mcpServers.${name} or servers.${name}).`,
        );
        continue;
      }
      const expandProblems: string[] = [];
      const expanded = expandVariables(definition, environment, where, expandProblems);
      const parsed = parseServerDefinition(name, expanded, 'file');
      for (const problem of expandProblems) problems.push(`GATEHOUSE_CONFIG_FILE: ${problem}.`);
      if (!parsed.ok) {
        for (const problem of parsed.problems)
          problems.push(`GATEHOUSE_CONFIG_FILE: ${where} in ${file}: ${problem}.`);
      } else if (expandProblems.length === 0) {
        result.servers.push(parsed.server);
        result.definitions[name] = expanded as Record<string, unknown>;
      }
    }
  }
  if (clients !== undefined) {
    if (!Array.isArray(clients))
      problems.push(`GATEHOUSE_CONFIG_FILE: "clients" in ${file} must be an array of client registrations.`);
    else {
      clients.forEach((client, index) => {
        const problem = clientProblem(client);
        if (problem !== undefined)
          problems.push(`GATEHOUSE_CONFIG_FILE: clients[${index}] in ${file}: ${problem}.`);
        else result.clients.push(client as Record<string, unknown>);
      });
    }
  }
  if (env !== undefined) {
    if (!isPlainObject(env))
      problems.push(`GATEHOUSE_CONFIG_FILE: "env" in ${file} must be an object of variable names to values.`);
    else {
      for (const [key, value] of Object.entries(env)) {
        if (!isKnownVariable(key)) {
          problems.push(
            `GATEHOUSE_CONFIG_FILE: "${key}" in ${file} is not a Gatehouse variable (see docs/configuration.md).`,
          );
        } else if (typeof value === 'object' && value !== null) {
          problems.push(`GATEHOUSE_CONFIG_FILE: "${key}" in ${file} must be a string, number or boolean.`);
        } else {
          result.env[key] = String(value);
        }
      }
    }
  }
  // Prompts and resources are governed like tools: the same { roles, scopes } per name.
  for (const [section, value, into] of [
    ['tools', tools, result.tools],
    ['prompts', prompts, result.prompts],
    ['resources', resources, result.resources],
  ] as const) {
    if (value === undefined) continue;
    if (!isPlainObject(value)) {
      problems.push(
        `GATEHOUSE_CONFIG_FILE: "${section}" in ${file} must be an object of ${section.slice(0, -1)} names to { "roles": [...], "scopes": [...] }.`,
      );
      continue;
    }
    for (const [name, setting] of Object.entries(value)) {
      const parsed = toolPolicySetting(setting, section === 'tools');
      if (typeof parsed === 'string')
        problems.push(`GATEHOUSE_CONFIG_FILE: ${section}.${name} in ${file}: ${parsed}.`);
      else into[name] = parsed;
    }
  }
  return result;
}

function toolPolicySetting(value: unknown, limitable: boolean): ToolPolicySetting | string {
  if (!isPlainObject(value)) return 'must be an object like { "roles": ["admin"], "scopes": ["chat"] }';
  const {
    roles = [],
    scopes = [],
    rateLimit,
    ...rest
  } = value as { roles?: unknown; scopes?: unknown; rateLimit?: unknown };
  const unknown = Object.keys(rest);
  if (!limitable && rateLimit !== undefined) unknown.push('rateLimit');
  if (unknown.length > 0)
    return `unknown member ${unknown
      .map((key) => `"${key}"`)
      .join(', ')} (use "roles" and "scopes"${limitable ? ', and "rateLimit"' : ''})`;
  const limit = rateLimit === undefined ? undefined : toolRateLimit(rateLimit);
  if (typeof limit === 'string') return limit;
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string' && role !== ''))
    return '"roles" must be an array of role names';
  if (!Array.isArray(scopes)) return `"scopes" must be an array of ${Object.keys(LOGICAL_SCOPES).join(', ')}`;
  const logical: ToolPolicySetting['scopes'][number][] = [];
  for (const scope of scopes) {
    const key = LOGICAL_SCOPES[scope as keyof typeof LOGICAL_SCOPES];
    if (key === undefined)
      return `"${String(scope)}" is not a scope: use ${Object.keys(LOGICAL_SCOPES).join(', ')}`;
    logical.push(key);
  }
  return { roles, scopes: logical, ...(limit === undefined ? {} : { rateLimit: limit }) };
}

/** "rateLimit": { "max": 10, "windowSeconds": 60 } — calls per caller per window (the window defaults to a minute). */
function toolRateLimit(value: unknown): ToolRateLimit | string {
  const shape = '"rateLimit" must be an object like { "max": 10, "windowSeconds": 60 }';
  if (!isPlainObject(value)) return shape;
  const { max, windowSeconds = 60, ...rest } = value as { max?: unknown; windowSeconds?: unknown };
  if (Object.keys(rest).length > 0) return shape;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1)
    return '"rateLimit.max" must be a whole number of calls, 1 or more';
  if (typeof windowSeconds !== 'number' || !Number.isInteger(windowSeconds) || windowSeconds < 1)
    return '"rateLimit.windowSeconds" must be a whole number of seconds, 1 or more';
  return { max, windowSeconds };
}

/** A pre-registered client needs an id and redirect URIs; the rest is RFC 7591 metadata oidc-provider validates. */
function clientProblem(client: unknown): string | undefined {
  if (!isPlainObject(client)) return 'must be an object of client metadata (RFC 7591)';
  if (typeof client.client_id !== 'string' || client.client_id === '') return '"client_id" is required';
  const redirects = client.redirect_uris;
  if (
    !Array.isArray(redirects) ||
    redirects.length === 0 ||
    !redirects.every((uri) => typeof uri === 'string')
  ) {
    return '"redirect_uris" must be a non-empty array of URLs';
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isKnownVariable(name: string): boolean {
  return Object.values(VARIABLES).some(
    (spec) => spec.name === name || ('aliases' in spec && (spec.aliases as readonly string[]).includes(name)),
  );
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

function formatHostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
