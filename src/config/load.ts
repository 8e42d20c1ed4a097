import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { GatehouseError } from '../errors/index.js';
import type { GatehouseConfig } from './config.js';
import { VARIABLES, type VariableName, type VariableValue } from './variables.js';

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
  const fileEnv = configFile ? readConfigFile(path.resolve(cwd, configFile), problems) : {};

  function read<N extends VariableName>(name: N): VariableValue<N> | undefined {
    const spec = VARIABLES[name];
    const names = [spec.name, ...('aliases' in spec ? spec.aliases : [])];
    for (const [origin, source] of [
      ['env', env],
      ['file', fileEnv],
    ] as const) {
      for (const candidate of names) {
        const raw = source[candidate];
        if (raw === undefined || raw === '') continue;
        const parsed = spec.parse(raw);
        sources[spec.name] = origin;
        if (!parsed.ok) {
          const via = candidate === spec.name ? spec.name : `${candidate} (alias of ${spec.name})`;
          problems.push(`${via}: ${parsed.problem}.`);
          return undefined;
        }
        return parsed.value as VariableValue<N>;
      }
    }
    sources[spec.name] = 'default';
    return undefined;
  }

  const host = read('HOST') ?? '127.0.0.1';
  const port = read('PORT') ?? 8000;
  const nodeEnv = read('NODE_ENV') ?? 'development';
  const authEnabled = read('MCP_ENABLE_AUTH') ?? false;
  const baseUrlRaw = read('MCP_SERVER_BASE_URL');
  const allowedOrigins = read('MCP_ALLOWED_ORIGINS') ?? [];
  const sessionMode = read('MCP_SESSION_MODE') ?? 'stateful';
  const sessionTtl = read('MCP_SESSION_TTL') ?? 3600;
  const responseMode = read('MCP_RESPONSE_MODE') ?? 'json';
  const bodyLimit = read('HTTP_BODY_LIMIT') ?? 1024 * 1024;
  const shutdownTimeout = read('HTTP_SHUTDOWN_TIMEOUT') ?? 10;
  const logLevel = read('LOG_LEVEL') ?? 'info';
  const logFormat = read('LOG_FORMAT') ?? (options.isTty ? 'pretty' : 'json');
  const dataDir = read('GATEHOUSE_DATA_DIR') ?? './data';
  const databaseUrl = read('DATABASE_URL');
  const databaseSchema = read('DATABASE_SCHEMA');
  const redisUrl = read('REDIS_URL');
  const redisKeyPrefix = read('REDIS_KEY_PREFIX') ?? 'gatehouse:';

  if (authEnabled) {
    problems.push(
      'MCP_ENABLE_AUTH (or ENABLE_AUTH) is true, but this version of Gatehouse has no token verification to enforce it: ' +
        'set MCP_ENABLE_AUTH=false to run in development mode on a loopback address.',
    );
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
    server: { host, port, baseUrl, bodyLimit, shutdownTimeoutMs: shutdownTimeout * 1000, nodeEnv },
    auth: { enabled: authEnabled },
    mcp: { sessionMode, sessionTtlMs: sessionTtl * 1000, responseMode, allowedOrigins },
    storage: {
      databaseUrl,
      databaseSchema,
      sqliteFile: path.resolve(cwd, dataDir, 'gatehouse.db'),
      redisUrl,
      redisKeyPrefix,
    },
    log: { level: logLevel, format: logFormat },
    sources,
    configFile,
  };
  return deepFreeze(config);
}

function readConfigFile(file: string, problems: string[]): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(
      `GATEHOUSE_CONFIG_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): fix the path or unset it.`,
    );
    return {};
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    problems.push(`GATEHOUSE_CONFIG_FILE: ${file} is not valid JSON (${(error as Error).message}).`);
    return {};
  }
  const envSection = (data as { env?: unknown } | null)?.env;
  if (
    data === null ||
    typeof data !== 'object' ||
    (envSection !== undefined && (envSection === null || typeof envSection !== 'object'))
  ) {
    problems.push(
      `GATEHOUSE_CONFIG_FILE: ${file} must hold a JSON object whose "env" member is an object of variable names to values.`,
    );
    return {};
  }
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries((envSection ?? {}) as Record<string, unknown>)) {
    if (!isKnownVariable(key)) {
      problems.push(
        `GATEHOUSE_CONFIG_FILE: "${key}" in ${file} is not a Gatehouse variable (see docs/configuration.md).`,
      );
      continue;
    }
    if (typeof value === 'object' && value !== null) {
      problems.push(`GATEHOUSE_CONFIG_FILE: "${key}" in ${file} must be a string, number or boolean.`);
      continue;
    }
    result[key] = String(value);
  }
  return result;
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
