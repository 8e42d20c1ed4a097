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
  };
  readonly auth: {
    /** false = development mode: no authentication, a fixed development user. */
    readonly enabled: boolean;
  };
  readonly mcp: {
    readonly sessionMode: 'stateful' | 'stateless';
    readonly sessionTtlMs: number;
    readonly responseMode: 'json' | 'sse';
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
  readonly log: {
    readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    readonly format: 'json' | 'pretty';
  };
  /** Where each setting came from, for the start-up summary: variable name → 'env' | 'file' | 'default'. */
  readonly sources: Readonly<Record<string, 'env' | 'file' | 'default'>>;
  readonly configFile: string | undefined;
}
