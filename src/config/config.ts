import type { UpstreamServer } from '../gateway/server-config.js';

/** The validated, frozen configuration every part of Gatehouse reads. */
export interface GatehouseConfig {
  readonly server: {
    readonly host: string;
    readonly port: number;
    /** Public origin without a trailing slash, e.g. http://127.0.0.1:8000. */
    readonly baseUrl: string;
    readonly bodyLimit: number;
    readonly shutdownTimeoutMs: number;
    readonly nodeEnv: 'development' | 'production' | 'test';
    /** TRUSTED_PROXIES: whose X-Forwarded-* headers count (addresses, CIDRs, range names); empty = nobody's. */
    readonly trustedProxies: readonly string[];
  };
  readonly auth: {
    /** false = development mode: no authentication, a fixed development user. */
    readonly enabled: boolean;
    /** Set when auth is enabled. */
    readonly entra: EntraSettings | undefined;
    readonly scopeNames: Readonly<{
      discover: string;
      toolsRead: string;
      toolsExecute: string;
      chat: string;
    }>;
    /** OAUTH_SCOPES: extra delegated scopes asked for on the authorization request to Entra (none by default). */
    readonly signInScopes: readonly string[];
    readonly serverToken: string | undefined;
    readonly serverTokenRoles: readonly string[];
    /** The logical scopes the path-token identity holds; the tool policy decides for it with them. */
    readonly serverTokenScopes: readonly ('discover' | 'toolsRead' | 'toolsExecute' | 'chat')[];
    readonly ssoAutoAssign: boolean;
    /** MCP_AZURE_VALIDATE_WITH_GRAPH: check the account through Graph (accountEnabled) at each sign-in. */
    readonly validateWithGraph: boolean;
    readonly defaultMembership: Readonly<{ org: string; team: string; role: string }>;
    readonly groupRoles: Readonly<Record<string, readonly string[]>>;
    readonly clockSkewSeconds: number;
    readonly tokenCacheTtlMs: number;
    /** How Gatehouse authenticates to Entra ID; any credential makes it the authorization server. */
    readonly entraCredential: EntraCredentialConfig | undefined;
    /** MCP_AZURE_REDIRECT_URIS: the patterns registered redirect URIs must match; undefined = no allow-list. */
    readonly redirectUriPatterns: readonly string[] | undefined;
    readonly accessTokenTtlSeconds: number;
    readonly registrationsPerHour: number;
    readonly refreshTokenTtlSeconds: number;
  };
  readonly mcp: {
    readonly sessionMode: 'stateful' | 'stateless';
    readonly sessionTtlMs: number;
    readonly responseMode: 'json' | 'sse';
    /** Open legacy HTTP+SSE streams one user may hold per instance. */
    readonly sseMaxStreamsPerUser: number;
    /** Extra allowed browser origins (patterns may use `*` as the port). */
    readonly allowedOrigins: readonly string[];
  };
  readonly storage: {
    readonly databaseUrl: string | undefined;
    readonly databaseSchema: string | undefined;
    readonly sqliteFile: string;
    readonly redisUrl: string | undefined;
    readonly redisKeyPrefix: string;
  };
  /** Master secrets for encryption at rest (DESIGN §4); src/tokens/master-secret.ts picks one. */
  readonly secrets: {
    /** MCP_AZURE_JWT_SIGNING_KEY. */
    readonly jwtSigningKey: string | undefined;
    /** GATEHOUSE_ENCRYPTION_KEY; wins over jwtSigningKey when set. */
    readonly encryptionKey: string | undefined;
    /** GATEHOUSE_DATA_DIR, absolute: where development mode keeps a generated secret when neither is set. */
    readonly dataDir: string;
  };
  readonly log: {
    readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    readonly format: 'json' | 'pretty';
  };
  /** Rate limits (requests per minute; 0 = off). Registrations per hour are auth.registrationsPerHour. */
  readonly limits: {
    /** Per caller on the MCP endpoints. */
    readonly mcpPerMinute: number;
    /** Per IP address on /token. */
    readonly tokenPerMinute: number;
    /** Per IP address on /authorize and /interaction/*. */
    readonly authorizePerMinute: number;
    /** Per IP address on /auth/*. */
    readonly authPerMinute: number;
    /** Per IP address on the break-glass login form. */
    readonly loginPerMinute: number;
  };
  /** The break-glass administrator: on only when a password hash is set. */
  readonly breakGlass: {
    readonly username: string;
    /** GATEHOUSE_ADMIN_PASSWORD_HASH, validated; undefined = no local login. */
    readonly passwordHash: string | undefined;
  };
  /** OAuth clients registered in advance (the config file's "clients" section), as RFC 7591 metadata. */
  readonly clients: readonly Readonly<Record<string, unknown>>[];
  /** The gateway: upstream servers from the config file's "mcpServers" section, and its settings. */
  readonly gateway: {
    readonly servers: readonly UpstreamServer[];
    /** Each config-file server's definition after ${VAR} expansion (shown, secrets masked, by the API). */
    readonly definitions: Readonly<Record<string, Record<string, unknown>>>;
    readonly runtimeStdio: boolean;
    readonly syncIntervalMs: number;
    readonly listTtlMs: number;
    readonly listWaitMs: number;
  };
  /** The durable audit log (docs/operations.md). */
  readonly audit: {
    /** 0 keeps rows forever. */
    readonly retentionDays: number;
    readonly stdout: boolean;
    readonly logArguments: boolean;
    readonly bufferSize: number;
    readonly whenFull: 'drop-newest' | 'drop-oldest';
    readonly flushIntervalMs: number;
  };
  /** The chat tools' backend; undefined when CHAT_COMPLETIONS_URL is not set (the tools are not served). */
  readonly chat: ChatSettings | undefined;
  /** Per-tool requirements from the config file's "tools" section (built-in defaults apply otherwise). */
  readonly toolPolicies: Readonly<Record<string, ToolPolicySetting>>;
  /** Per-prompt requirements from the config file's "prompts" section (same shape as a tool's). */
  readonly promptPolicies: Readonly<Record<string, ToolPolicySetting>>;
  /** Per-resource requirements from the config file's "resources" section (same shape as a tool's). */
  readonly resourcePolicies: Readonly<Record<string, ToolPolicySetting>>;
  /** Prometheus /metrics and OpenTelemetry traces (docs/operations.md). */
  readonly observability: {
    /** METRICS_TOKEN: /metrics on the main listener needs it as a bearer token; off without it. */
    readonly metricsToken: string | undefined;
    /** METRICS_HOST/METRICS_PORT: a listener of its own for /metrics; undefined = none. */
    readonly metricsListener: { readonly host: string; readonly port: number } | undefined;
    /** Set when spans are exported (an OTLP endpoint is set and OTEL_TRACES_EXPORTER is not none). */
    readonly traces:
      | {
          /** Where spans are posted (…/v1/traces). */
          readonly url: string;
          readonly headers: Readonly<Record<string, string>>;
          readonly serviceName: string;
        }
      | undefined;
  };
  /** Where each setting came from, for the start-up summary: variable name → 'env' | 'file' | 'default'. */
  readonly sources: Readonly<Record<string, 'env' | 'file' | 'default'>>;
  readonly configFile: string | undefined;
}

export interface ChatSettings {
  readonly url: string;
  /** entra: Gatehouse's app token; on-behalf-of: the calling user's delegated token (OBO). */
  readonly auth: 'key' | 'entra' | 'on-behalf-of' | 'none';
  readonly apiKey: string | undefined;
  /** How the key is sent: Azure OpenAI's `api-key` header, or `Authorization: Bearer`. */
  readonly apiKeyHeader: 'api-key' | 'authorization';
  readonly model: string | undefined;
  readonly entraScope: string;
  readonly systemPrompt: string | undefined;
  readonly timeoutMs: number;
}

export interface EntraSettings {
  readonly authorityHost: string;
  /** A tenant GUID, or 'common' / 'organizations' for multi-tenant apps. */
  readonly tenant: string;
  readonly clientId: string;
  readonly identifierUri: string;
  /** Every accepted aud value. */
  readonly audiences: readonly string[];
  /** v2 issuer template with {tenantid}, when set explicitly. */
  readonly issuerTemplate: string | undefined;
  readonly allowedTenants: readonly string[] | undefined;
  readonly allowedClientApps: readonly string[] | undefined;
}

export interface ToolPolicySetting {
  /** Logical scopes needed besides tools.execute. */
  readonly scopes: readonly ('discover' | 'toolsRead' | 'toolsExecute' | 'chat')[];
  /** Any one of these roles is enough; empty means any admitted caller. */
  readonly roles: readonly string[];
  /** Calls one caller may make of this tool per window (tools only; the config file's "rateLimit"). */
  readonly rateLimit?: ToolRateLimit;
}

export interface ToolRateLimit {
  readonly max: number;
  readonly windowSeconds: number;
}

/**
 * How Gatehouse proves to Entra ID that it is the API app: a client secret, a certificate it signs
 * assertions with, or a federated token (workload identity) read from a file the platform renews.
 */
export type EntraCredentialConfig =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'certificate'; readonly path: string }
  | { readonly kind: 'federated'; readonly tokenFile: string };

/** Whether Gatehouse is the authorization server MCP clients sign in through (it holds an Entra credential). */
export function isAuthorizationServer(config: Pick<GatehouseConfig, 'auth'>): boolean {
  return config.auth.enabled && config.auth.entraCredential !== undefined;
}
