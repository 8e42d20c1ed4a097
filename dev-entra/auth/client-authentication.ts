import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import type { EmulatorContext } from '../context.js';
import { AadstsError } from '../errors/aadsts-error.js';
import { sha256 } from '../lib/encoding.js';
import { readBasicCredentials } from '../lib/http.js';
import type { SeedApplication } from '../seed.js';
import type { ClientAuthLevel } from '../tokens/access-token.js';
import { CLIENT_ASSERTION_TYPE, verifyClientAssertion } from './client-assertion.js';
import { isFederatedAssertion, verifyFederatedAssertion } from './federated-assertion.js';

export interface AuthenticatedClient {
  app: SeedApplication;
  acr: ClientAuthLevel;
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function assertionClientId(assertion: string | null): string | undefined {
  if (!assertion) return undefined;
  try {
    const iss = decodeJwt(assertion).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Identifies and authenticates the client at the token endpoint: secret in the body or HTTP Basic,
 * or a `client_assertion`: signed with a registered certificate, or issued by an external identity
 * provider the app trusts through a federated identity credential. Public clients present neither.
 */
export async function authenticateClient(
  ctx: EmulatorContext,
  req: IncomingMessage,
  params: URLSearchParams,
  tenantSegment: string,
): Promise<AuthenticatedClient> {
  const basic = readBasicCredentials(req);
  const assertion = params.get('client_assertion');
  const clientId = params.get('client_id') ?? basic?.id ?? assertionClientId(assertion);
  if (!clientId) {
    throw new AadstsError(900144, {
      detail: "The request body must contain the following parameter: 'client_id'.",
    });
  }
  const app = ctx.directory.app(clientId);
  if (!app) {
    throw new AadstsError(700016, {
      detail: `Application with identifier '${clientId}' was not found in the directory '${ctx.seed.tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    });
  }
  const secret = params.get('client_secret') ?? basic?.secret ?? null;
  if (app.publicClient) {
    if (secret !== null || assertion !== null) throw new AadstsError(700025);
    return { app, acr: '0' };
  }
  if (assertion !== null) {
    if (params.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
      throw new AadstsError(900144, {
        detail: `The request body must contain the following parameter: 'client_assertion_type' with value '${CLIENT_ASSERTION_TYPE}'.`,
      });
    }
    if (isFederatedAssertion(app, assertion)) {
      await verifyFederatedAssertion(ctx, app, assertion);
      return { app, acr: '2' };
    }
    const segments = new Set([tenantSegment, ctx.tenantId, ctx.seed.tenant.domain]);
    const audiences = [...segments].flatMap((s) => [ctx.tokenEndpoint('v2', s), ctx.tokenEndpoint('v1', s)]);
    await verifyClientAssertion(ctx, app, assertion, audiences);
    return { app, acr: '2' };
  }
  if (secret === null) throw new AadstsError(7000218);
  const match = app.secrets.find((s) => sameSecret(s.value, secret));
  if (!match) {
    throw new AadstsError(7000215, {
      detail: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.appId}'.`,
    });
  }
  if (match.expiresAt !== undefined && Date.parse(match.expiresAt) <= ctx.now()) {
    throw new AadstsError(7000222, {
      detail: `The provided client secret keys for app '${app.appId}' are expired. Visit the Azure portal to create new keys for your app or consider using certificate credentials for added security.`,
    });
  }
  return { app, acr: '1' };
}
