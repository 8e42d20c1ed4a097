import { z } from 'zod';
import type { ToolPolicy } from '../policy/tool-policy.js';

/**
 * An upstream server as users already write it in their IDE configs (`mcpServers`: `command`,
 * `args`, `env`, `cwd` for stdio; `url`, `headers` for remote, `"type": "sse"` for the legacy
 * transport), plus Gatehouse's own optional fields. `parseServerDefinition` validates one entry
 * and turns it into the normalized `UpstreamServer` the rest of the gateway reads.
 */

/** Lower-case letters and digits, single `-` or `_` between them: never `__`, so `{server}__{tool}` stays unambiguous. */
export const SERVER_NAME = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/;
export const SERVER_NAME_MAX = 32;

const LOGICAL_SCOPES = {
  discover: 'discover',
  'tools.read': 'toolsRead',
  'tools.execute': 'toolsExecute',
  chat: 'chat',
} as const;
type ScopeName = keyof typeof LOGICAL_SCOPES;
const scopeName = z.enum(Object.keys(LOGICAL_SCOPES) as [ScopeName, ...ScopeName[]]);
const roleList = z.array(z.string().min(1)).max(50);

const toolOverride = z.strictObject({
  roles: roleList.optional(),
  scopes: z.array(scopeName).optional(),
  /** Leaves the tool out of Gatehouse entirely: not listed, not callable. */
  hidden: z.boolean().optional(),
});

const healthSettings = z.strictObject({
  intervalMs: z.number().int().min(1000).max(3_600_000).optional(),
  timeoutMs: z.number().int().min(100).max(120_000).optional(),
  unhealthyAfter: z.number().int().min(1).max(100).optional(),
});

const stringMap = z.record(z.string().min(1), z.string());

/** The accepted fields. Unknown ones are refused, so a typo never silently does nothing. */
const definitionSchema = z.strictObject({
  type: z.enum(['stdio', 'http', 'streamable-http', 'streamableHttp', 'sse']).optional(),
  command: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  env: stringMap.optional(),
  cwd: z.string().min(1).optional(),
  url: z.string().optional(),
  /** Windsurf's name for url. */
  serverUrl: z.string().optional(),
  headers: stringMap.optional(),
  // IDE fields with no meaning behind a gateway: `disabled` maps to enabled, approval lists are the client's business.
  disabled: z.boolean().optional(),
  autoApprove: z.array(z.string()).optional(),
  alwaysAllow: z.array(z.string()).optional(),
  title: z.string().min(1).max(200).optional(),
  description: z.string().max(2000).optional(),
  enabled: z.boolean().optional(),
  roles: roleList.optional(),
  scopes: z.array(scopeName).optional(),
  tools: z.record(z.string().min(1), toolOverride).optional(),
  timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
  connectTimeoutMs: z.number().int().min(100).max(300_000).optional(),
  startup: z.enum(['lazy', 'eager']).optional(),
  identity: z.enum(['none', 'assertion']).optional(),
  /** How Gatehouse authenticates to the upstream as the caller: a token for it on the user's behalf. */
  auth: z
    .strictObject({
      type: z.literal('on-behalf-of'),
      /** The upstream API's scope at Entra, e.g. api://{its client id}/access_as_user (one API). */
      scope: z.string().min(1),
    })
    .optional(),
  healthCheck: healthSettings.optional(),
  circuitBreaker: z
    .strictObject({
      failureThreshold: z.number().int().min(1).max(1000).optional(),
      openMs: z.number().int().min(100).max(3_600_000).optional(),
      maxOpenMs: z.number().int().min(100).max(86_400_000).optional(),
    })
    .optional(),
});

export type ServerDefinition = z.input<typeof definitionSchema>;

export type UpstreamTransport =
  | {
      kind: 'stdio';
      command: string;
      args: readonly string[];
      env: Readonly<Record<string, string>>;
      cwd: string | undefined;
    }
  | { kind: 'streamable-http' | 'sse'; url: string; headers: Readonly<Record<string, string>> };

export interface UpstreamServer {
  readonly name: string;
  readonly title: string;
  readonly description: string | null;
  readonly enabled: boolean;
  readonly transport: UpstreamTransport;
  /** What using any of the server's tools, prompts and resources requires. */
  readonly policy: ToolPolicy;
  /** Per-tool overrides by the upstream's own tool name. */
  readonly toolOverrides: Readonly<Record<string, { policy: ToolPolicy; hidden: boolean }>>;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly startup: 'lazy' | 'eager';
  /** What the upstream learns about the caller: nothing, or a Gatehouse-signed assertion. */
  readonly identity: 'none' | 'assertion';
  /**
   * `on-behalf-of`: each request carries `Authorization: Bearer` with an Entra token for `scope`
   * obtained on the caller's behalf (src/entra/delegated-access.ts). Absent: no such header.
   */
  readonly auth?: { readonly type: 'on-behalf-of'; readonly scope: string };
  readonly health: { intervalMs: number; timeoutMs: number; unhealthyAfter: number };
  /** Overrides of the circuit breaker's defaults (src/gateway/health.ts). */
  readonly circuitBreaker: { failureThreshold?: number; openMs?: number; maxOpenMs?: number };
  /** 'file': declared in GATEHOUSE_CONFIG_FILE, read-only at runtime; 'api': in the registry. */
  readonly source: 'file' | 'api';
}

export const SERVER_DEFAULTS = {
  timeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  health: { intervalMs: 30_000, timeoutMs: 5_000, unhealthyAfter: 3 },
} as const;

export type ParsedServer = { ok: true; server: UpstreamServer } | { ok: false; problems: string[] };

/** Validates one definition; every problem is a sentence naming the field and what to write. */
export function parseServerDefinition(name: string, input: unknown, source: 'file' | 'api'): ParsedServer {
  const problems: string[] = [];
  const nameProblem = serverNameProblem(name);
  if (nameProblem !== undefined) problems.push(nameProblem);
  const parsed = definitionSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(describeIssue(issue));
    return { ok: false, problems };
  }
  const definition = parsed.data;
  const transport = transportOf(definition, problems);
  if (definition.auth !== undefined && transport !== undefined) {
    if (transport.kind === 'stdio')
      problems.push(
        '"auth" of type "on-behalf-of" sends an Authorization header: it needs a remote server ("url"), not a "command"',
      );
    else if (Object.keys(transport.headers).some((header) => header.toLowerCase() === 'authorization'))
      problems.push(
        '"auth" of type "on-behalf-of" and an "Authorization" header are both set: keep one way of authenticating to the server',
      );
  }
  if (transport === undefined || problems.length > 0) return { ok: false, problems };

  const toolOverrides: Record<string, { policy: ToolPolicy; hidden: boolean }> = {};
  for (const [tool, override] of Object.entries(definition.tools ?? {})) {
    toolOverrides[tool] = {
      policy: {
        roles: override.roles ?? definition.roles ?? [],
        scopes: (override.scopes ?? definition.scopes ?? []).map((scope) => LOGICAL_SCOPES[scope]),
      },
      hidden: override.hidden ?? false,
    };
  }
  return {
    ok: true,
    server: {
      name,
      title: definition.title ?? name,
      description: definition.description ?? null,
      enabled: definition.enabled ?? !(definition.disabled ?? false),
      transport,
      policy: {
        roles: definition.roles ?? [],
        scopes: (definition.scopes ?? []).map((scope) => LOGICAL_SCOPES[scope]),
      },
      toolOverrides,
      timeoutMs: definition.timeoutMs ?? SERVER_DEFAULTS.timeoutMs,
      connectTimeoutMs: definition.connectTimeoutMs ?? SERVER_DEFAULTS.connectTimeoutMs,
      startup: definition.startup ?? 'lazy',
      identity: definition.identity ?? 'none',
      ...(definition.auth !== undefined
        ? { auth: { type: definition.auth.type, scope: definition.auth.scope } }
        : {}),
      health: { ...SERVER_DEFAULTS.health, ...definition.healthCheck },
      circuitBreaker: { ...definition.circuitBreaker },
      source,
    },
  };
}

/** Names `/mcp/{server}` cannot have, because routes of the MCP endpoint already use them. */
const RESERVED_NAMES = new Set(['http', 'sse', 'messages']);

export function serverNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name === '') return 'the server needs a name, e.g. "github"';
  if (RESERVED_NAMES.has(name))
    return `'${name}' is reserved by the MCP endpoint (/mcp/${name}): choose another name`;
  if (name.length > SERVER_NAME_MAX || !SERVER_NAME.test(name)) {
    const suggestion = name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, SERVER_NAME_MAX)
      .replace(/^-+|-+$/g, '');
    return (
      `the server name '${name}' is not allowed: use up to ${SERVER_NAME_MAX} lower-case letters and digits, ` +
      `with single '-' or '_' between them (it prefixes tool names as {server}__{tool})` +
      (suggestion !== '' && SERVER_NAME.test(suggestion) ? `; for example '${suggestion}'` : '')
    );
  }
  return undefined;
}

function transportOf(definition: z.output<typeof definitionSchema>, problems: string[]) {
  const url = definition.url ?? definition.serverUrl;
  if (definition.url !== undefined && definition.serverUrl !== undefined) {
    problems.push('"url" and "serverUrl" are both set: keep one');
  }
  const stdioFields = (['command', 'args', 'env', 'cwd'] as const).filter(
    (key) => definition[key] !== undefined,
  );
  const type = definition.type ?? (url !== undefined ? 'http' : 'stdio');
  if (type === 'stdio') {
    if (url !== undefined || definition.headers !== undefined) {
      problems.push(
        '"url"/"headers" describe a remote server and "command" a local one: a server entry is one or the other',
      );
    }
    if (definition.command === undefined) {
      problems.push(
        'the server has neither "command" (a local stdio server, e.g. {"command": "npx", "args": ["-y", "some-mcp-server"]}) nor "url" (a remote server)',
      );
      return undefined;
    }
    return {
      kind: 'stdio' as const,
      command: definition.command,
      args: definition.args ?? [],
      env: definition.env ?? {},
      cwd: definition.cwd,
    };
  }
  if (stdioFields.length > 0) {
    problems.push(
      `${stdioFields.map((key) => `"${key}"`).join(', ')} belong to a stdio server, but "type" is "${type}": remove them or the url`,
    );
  }
  if (url === undefined) {
    problems.push(`"type" is "${type}" but "url" is missing: give the server's MCP endpoint URL`);
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(
      `"url" '${withoutCredentials(url)}' is not a valid URL: give an absolute http:// or https:// URL`,
    );
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problems.push(`"url" '${withoutCredentials(url)}' must use http:// or https://, not ${parsed.protocol}`);
    return undefined;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    problems.push('"url" must not carry a user name or password: put credentials in "headers"');
    return undefined;
  }
  return {
    kind: type === 'sse' ? ('sse' as const) : ('streamable-http' as const),
    url: parsed.href,
    headers: definition.headers ?? {},
  };
}

/** A URL as it may appear in a message: whatever stands before an '@' in its authority is left out. */
function withoutCredentials(url: string): string {
  return url.replace(/^([^:/?#]+:\/\/)[^/?#]*@/, '$1…@');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? `"${issue.path.map(String).join('.')}"` : 'the definition';
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}${
      issue.path.length > 0 ? ` in ${where}` : ''
    } (see docs/gateway.md for the fields a server entry takes)`;
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return 'a server definition must be a JSON object, e.g. {"url": "https://mcp.example.com/mcp"}';
  }
  return `${where}: ${issue.message.replace(/^Invalid input: /, '')}`;
}

/**
 * Replaces `${VAR}`, `${VAR:-default}` and VS Code's `${env:VAR}` in a config-file server's strings with Gatehouse's
 * environment, so the file itself holds no secret. A variable that is not set (and has no
 * default) is a problem naming it.
 */
export function expandVariables(
  definition: unknown,
  env: Readonly<Record<string, string | undefined>>,
  where: string,
  problems: string[],
): unknown {
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) return definition;
  const expand = (value: unknown, field: string): unknown => {
    if (typeof value === 'string') {
      return value.replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
        (_match, variable: string, fallback) => {
          const found = env[variable];
          if (found !== undefined && found !== '') return found;
          if (fallback !== undefined) return fallback as string;
          problems.push(
            `${where}.${field} uses \${${variable}}, which is not set: set ${variable} in Gatehouse's environment (or write \${${variable}:-default})`,
          );
          return '';
        },
      );
    }
    if (Array.isArray(value)) return value.map((item, index) => expand(item, `${field}[${index}]`));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, expand(item, `${field}.${key}`)]),
      );
    }
    return value;
  };
  const out: Record<string, unknown> = { ...(definition as Record<string, unknown>) };
  for (const field of ['command', 'args', 'env', 'cwd', 'url', 'serverUrl', 'headers']) {
    if (out[field] !== undefined) out[field] = expand(out[field], field);
  }
  return out;
}

/** The secret parts of a definition: header values and env values. */
export interface ServerSecrets {
  headers: Record<string, string>;
  env: Record<string, string>;
}

/** Marks a secret value in API answers and, sent back unchanged in an update, keeps the stored value. */
export const SECRET_SET = Object.freeze({ set: true });

/** Splits a validated definition into what may be stored in the clear and its secret values. */
export function splitSecrets(definition: Record<string, unknown>): {
  definition: Record<string, unknown>;
  secrets: ServerSecrets | null;
} {
  const headers = (definition.headers ?? {}) as Record<string, string>;
  const env = (definition.env ?? {}) as Record<string, string>;
  const clear = { ...definition };
  if (definition.headers !== undefined)
    clear.headers = Object.fromEntries(Object.keys(headers).map((key) => [key, SECRET_SET]));
  if (definition.env !== undefined)
    clear.env = Object.fromEntries(Object.keys(env).map((key) => [key, SECRET_SET]));
  const hasSecrets = Object.keys(headers).length + Object.keys(env).length > 0;
  return { definition: clear, secrets: hasSecrets ? { headers: { ...headers }, env: { ...env } } : null };
}

/**
 * Puts secret values back into a stored (or API-submitted) definition: every `{"set": true}`
 * takes the stored value of that name. Returns a problem when a marker has no stored value.
 */
export function joinSecrets(
  definition: Record<string, unknown>,
  secrets: ServerSecrets | null,
): { definition: Record<string, unknown> } | { problem: string } {
  const out = { ...definition };
  for (const field of ['headers', 'env'] as const) {
    const values = definition[field];
    if (values === null || typeof values !== 'object' || Array.isArray(values)) continue;
    const joined: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(values)) {
      if (isSecretMarker(value)) {
        const stored = secrets?.[field][key];
        if (stored === undefined) {
          return {
            problem: `"${field}.${key}" is {"set": true} but no value is stored for it: send the value itself`,
          };
        }
        joined[key] = stored;
      } else joined[key] = value;
    }
    out[field] = joined;
  }
  return { definition: out };
}

function isSecretMarker(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as { set?: unknown }).set === true &&
    Object.keys(value).length === 1
  );
}
