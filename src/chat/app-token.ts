import * as oidc from 'openid-client';
import type { EntraCredentialConfig } from '../config/index.js';
import { clientAuthentication } from '../entra/client-credential.js';
import { GatehouseError } from '../errors/index.js';

/** Renew this long before the token expires, so a request never leaves with one about to lapse. */
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * Gatehouse's own app token for one scope (the client credentials grant with its Entra credential:
 * secret, certificate or federated token), kept until shortly before it expires. Concurrent
 * callers share one request.
 */
export class AppTokenSource {
  #configuration: Promise<oidc.Configuration> | undefined;
  #token: { value: string; renewAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(
    private readonly settings: {
      authorityHost: string;
      tenant: string;
      clientId: string;
      credential: EntraCredentialConfig;
      scope: string;
    },
    private readonly now: () => number = Date.now,
  ) {}

  async token(): Promise<string> {
    if (this.#token !== undefined && this.now() < this.#token.renewAt) return this.#token.value;
    this.#pending ??= this.request().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  private async request(): Promise<string> {
    try {
      const configuration = await this.configuration();
      const tokens = await oidc.clientCredentialsGrant(configuration, { scope: this.settings.scope });
      const lifetimeMs = (tokens.expires_in ?? 3600) * 1000;
      this.#token = {
        value: tokens.access_token,
        renewAt: this.now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2),
      };
      return tokens.access_token;
    } catch (error) {
      this.#configuration = undefined;
      const description =
        error instanceof oidc.ResponseBodyError
          ? `${error.error}: ${String(error.error_description ?? '').split('\r\n')[0]}`
          : (error as Error).message;
      throw new GatehouseError(
        'GH_CHAT_BACKEND_UNAVAILABLE',
        `Gatehouse could not get an Entra ID token for the chat backend (scope ${this.settings.scope}): ${description}. Check CHAT_ENTRA_SCOPE and the app's API permissions.`,
        { cause: error },
      );
    }
  }

  private configuration(): Promise<oidc.Configuration> {
    this.#configuration ??= (async () => {
      const issuer = new URL(`${this.settings.authorityHost}/${this.settings.tenant}/v2.0`);
      let tokenEndpoint: string | undefined;
      const configuration = await oidc.discovery(
        issuer,
        this.settings.clientId,
        undefined,
        await clientAuthentication(this.settings.credential, () => tokenEndpoint),
        { ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}), timeout: 10 },
      );
      tokenEndpoint = configuration.serverMetadata().token_endpoint;
      return configuration;
    })();
    return this.#configuration;
  }
}
