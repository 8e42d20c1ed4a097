import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { copySwitches, EmulatorContext, type ProtocolVersion } from './context.js';
import { JWT_BEARER } from './grants/on-behalf-of.js';
import { createDevelopmentTls } from './keys/certificates.js';
import { SigningKeyRing } from './keys/signing-keys.js';
import {
  federatedCredential,
  loadSeed,
  type RefreshRefusalCode,
  type Seed,
  type SeedInput,
  type Switches,
} from './seed.js';
import { createRequestHandler } from './server.js';
import { updateSwitches } from './switch-controls.js';

export type { CertifiedKey } from './keys/certificates.js';
export { createClientCertificate } from './keys/certificates.js';
export type {
  Seed,
  SeedApplication,
  SeedFederatedCredential,
  SeedInput,
  SeedUser,
  Switches,
} from './seed.js';
export { loadSeed, normalizeSeed, TOKEN_EXCHANGE_AUDIENCE } from './seed.js';

export interface DevEntraOptions {
  /** 0 picks a free port. Default 8001. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default), localhost or ::1. */
  host?: string;
  /** Serve HTTPS with a freshly generated development CA and certificate. */
  https?: boolean;
  /** A seed object or the path of a seed JSON file; default `dev-entra/seed.json`. */
  seed?: SeedInput | string;
  /** Clock in milliseconds; the clock-offset switch is added on top. */
  now?: () => number;
}

export interface DevEntra {
  /** Origin, e.g. `http://127.0.0.1:8001`. */
  url: string;
  tenantId: string;
  seed: Seed;
  /**
   * Where the OpenID configuration lives: v2 `{url}/{tenant}/v2.0` (also the v2 issuer),
   * v1 `{url}/{tenant}` (MSAL's authority form).
   */
  authority(version?: ProtocolVersion): string;
  /** The `iss` of tokens for that version. */
  issuer(version?: ProtocolVersion): string;
  jwksUri(version?: ProtocolVersion): string;
  tokenEndpoint(version?: ProtocolVersion): string;
  /** PEM of the development CA, when serving HTTPS. */
  caCertificatePem?: string;
  /** Current switch values (a copy). */
  readonly switches: Switches;
  setSwitches(patch: Partial<Switches>): Switches;
  /** Groups above `limit` turn into an overage claim (`_claim_names`/`_claim_sources`). */
  setGroupsOverageLimit(limit: number): void;
  /** Users (userName, UPN or oid) whose on-behalf-of requests get an MFA claims challenge. */
  setMfaChallengeUsers(users: string[]): void;
  setClockOffsetSeconds(seconds: number): void;
  /**
   * Conditional Access on refresh: from now on, refresh tokens of these users' earlier sign-ins
   * are refused with `code` (70043 sign-in frequency by default, 50076, 50079); a new sign-in
   * satisfies it. An empty list turns it off.
   */
  setRefreshRefusal(users: string[], code?: RefreshRefusalCode): void;
  /** Users (userName, UPN or oid) Graph reports disabled (`accountEnabled: false`); empty turns it off. */
  setDisabledUsers(users: string[]): void;
  /**
   * How many token requests the emulator received with this `grant_type` (failed ones included);
   * `on_behalf_of` counts the jwt-bearer on-behalf-of grant.
   */
  tokenRequestCount(grantType: string): number;
  /** New active signing key; old keys stay published unless `emergency`. Returns the new `kid`. */
  rotateSigningKey(options?: { emergency?: boolean }): Promise<string>;
  /** Registers a certificate (PEM) an app may sign client assertions with. */
  addClientCertificate(appId: string, certificatePem: string): void;
  /**
   * Adds a federated identity credential: the app then accepts, as its client assertion, a token
   * of `issuer` for `subject` with one of `audiences` (default `api://AzureADTokenExchange`).
   */
  addFederatedIdentityCredential(
    appId: string,
    credential: { name: string; issuer: string; subject: string; audiences?: string[] },
  ): void;
  /**
   * An outage: requests to these endpoints (the signing keys, the token endpoint; v1 and v2) get
   * their connection cut without an answer until called again without them.
   */
  setUnreachable(endpoints: readonly UnreachableEndpoint[]): void;
  close(): Promise<void>;
}

export type UnreachableEndpoint = 'jwks' | 'token';

function endpointOf(url: string): UnreachableEndpoint | undefined {
  const path = url.split('?', 1)[0] ?? '';
  if (/\/discovery\/(v2\.0\/)?keys$/.test(path)) return 'jwks';
  if (/\/oauth2\/(v2\.0\/)?token$/.test(path)) return 'token';
  return undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the Entra ID emulator. It refuses to bind anything but a loopback address. */
export async function startDevEntra(options: DevEntraOptions = {}): Promise<DevEntra> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new Error(
      `dev-entra binds to loopback only (127.0.0.1, localhost or ::1); refusing host '${host}'`,
    );
  }
  const seed = loadSeed(options.seed);
  const [keys, tls] = await Promise.all([
    SigningKeyRing.create(),
    options.https ? createDevelopmentTls() : undefined,
  ]);
  const ctx = new EmulatorContext(seed, keys, options.now ?? Date.now);
  const serve = createRequestHandler(ctx);
  const unreachable = new Set<UnreachableEndpoint>();
  const handler: typeof serve = (request, response) => {
    const endpoint = unreachable.size === 0 ? undefined : endpointOf(request.url ?? '');
    if (endpoint !== undefined && unreachable.has(endpoint)) {
      request.socket.destroy();
      return;
    }
    return serve(request, response);
  };
  const server: Server = tls
    ? (createHttpsServer({ key: tls.privateKeyPem, cert: tls.certificatePem }, handler) as unknown as Server)
    : createHttpServer(handler);
  const port = await listen(server, options.port ?? 8001, host.replace(/^\[|\]$/g, ''));
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  ctx.baseUrl = `${tls ? 'https' : 'http'}://${urlHost}:${port}`;
  const t = seed.tenant.id;

  return {
    url: ctx.baseUrl,
    tenantId: t,
    seed,
    authority: (version = 'v2') => (version === 'v2' ? `${ctx.baseUrl}/${t}/v2.0` : `${ctx.baseUrl}/${t}`),
    issuer: (version = 'v2') => ctx.issuer(version),
    jwksUri: (version = 'v2') => `${ctx.baseUrl}/${t}/discovery/${version === 'v2' ? 'v2.0/' : ''}keys`,
    tokenEndpoint: (version = 'v2') => ctx.tokenEndpoint(version),
    ...(tls ? { caCertificatePem: tls.caCertificatePem } : {}),
    get switches() {
      return copySwitches(ctx.switches);
    },
    setSwitches: (patch) => updateSwitches(ctx, patch),
    setGroupsOverageLimit: (limit) => void updateSwitches(ctx, { groupsOverageLimit: limit }),
    setMfaChallengeUsers: (users) => void updateSwitches(ctx, { mfaChallengeUsers: users }),
    setClockOffsetSeconds: (seconds) => void updateSwitches(ctx, { clockOffsetSeconds: seconds }),
    setRefreshRefusal: (users, code = 70043) =>
      void updateSwitches(ctx, { refreshRefusalUsers: users, refreshRefusalCode: code }),
    setDisabledUsers: (users) => void updateSwitches(ctx, { disabledUsers: users }),
    tokenRequestCount: (grantType) =>
      ctx.state.tokenRequests.get(grantType === 'on_behalf_of' ? JWT_BEARER : grantType) ?? 0,
    rotateSigningKey: (opts) => keys.rotate(opts),
    addClientCertificate: (appId, pem) => ctx.directory.addCertificate(appId, pem),
    addFederatedIdentityCredential: (appId, credential) =>
      ctx.directory.addFederatedCredential(appId, federatedCredential(credential, 'federated credential')),
    setUnreachable: (endpoints) => {
      unreachable.clear();
      for (const endpoint of endpoints) unreachable.add(endpoint);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
