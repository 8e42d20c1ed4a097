import { createHash, randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import * as oidc from 'openid-client';
import { checkSignInWithGraph, type DelegatedAccess } from '../../entra/delegated-access.js';
import type { EntraClient, EntraSignIn } from '../../entra/entra-client.js';
import { GatehouseError, isGatehouseError } from '../../errors/index.js';
import type { AuditSink } from '../../ops/audit.js';
import type { DurableStore, EphemeralStore } from '../../storage/contract.js';
import type { SecretBox } from '../../tokens/secret-box.js';
import { ConsentMemory } from '../consent-memory.js';
import { ConsentCsrf } from './csrf.js';
import { consentPage, errorPage, PAGE_HEADERS } from './pages.js';

export interface InteractionOptions {
  provider: Provider;
  entra: EntraClient;
  durable: DurableStore;
  ephemeral: EphemeralStore;
  entraTokens: SecretBox;
  /** Secret behind the CSRF tokens. */
  csrfSecret: string;
  secureCookies: boolean;
  /** Scopes a client may be granted on the MCP resource. */
  resourceScopes: readonly string[];
  resource: string;
  /** Other resources a client may ask a token for (the gateway's /mcp/{server}). */
  acceptsResource?: (resource: string) => boolean;
  /** Whether the user's Entra sign-in has ended (Entra refused a refresh: sign in again). */
  entraSignInEnded: (accountId: string) => Promise<boolean>;
  /** The users' consent decisions per client. */
  consentMemory: ConsentMemory;
  /** Receives sign-ins and consent decisions. */
  audit?: AuditSink;
  /** Graph on the user's behalf: groups overage, account check, claims challenges to pass on. */
  delegated?: DelegatedAccess;
  /** MCP_AZURE_VALIDATE_WITH_GRAPH: refuse accounts Graph reports disabled. */
  validateWithGraph?: boolean;
  /** Offered each callback first (Gatehouse's own browser sign-in); true when it answered. */
  browserCallback?: (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>;
}

const LOGIN_STATE_TTL_MS = 10 * 60 * 1000;

/**
 * The interactions of the authorization server: the consent page first (so that no sign-in at
 * Entra happens for a client the user has not approved: the confused-deputy rule), then the
 * federated sign-in at Entra, then back to oidc-provider with the login and the grant.
 */
export async function interactionRoutes(app: FastifyInstance, options: InteractionOptions) {
  const { provider, entra, ephemeral, consentMemory } = options;
  const csrf = new ConsentCsrf(options.csrfSecret);
  const cookieName = (name: string) => (options.secureCookies ? `__Host-${name}` : name);
  const cookieOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: options.secureCookies,
  };
  const CSRF_COOKIE = cookieName('gh_consent');
  const BINDING_COOKIE = cookieName('gh_signin');

  await app.register(cookie);
  await app.register(formbody);
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(PAGE_HEADERS);
  });
  app.setErrorHandler((error, request, reply) => {
    const known = isGatehouseError(error) ? error : undefined;
    if (known === undefined) request.log.error({ err: error }, 'sign-in interaction failed');
    // Storage away: the browser may try again shortly, as the JSON endpoints say with the same header.
    if (known?.code === 'GH_STORAGE_UNAVAILABLE') reply.header('retry-after', '5');
    reply
      .code(known?.status ?? 500)
      .type('text/html')
      .send(
        errorPage(
          'Sign-in could not continue',
          known?.message ?? 'Something went wrong; the server log has the details.',
          known?.code ?? 'GH_INTERNAL',
        ),
      );
  });

  app.get('/interaction/:uid', async (request, reply) => {
    const details = await interaction(request, reply);
    const client = await provider.Client.find(String(details.params.client_id));
    if (client === undefined)
      throw new GatehouseError(
        'GH_CONSENT_INVALID',
        'The application that started this sign-in is no longer registered.',
      );
    const accountId = await signedInAccount(details);
    if (accountId !== undefined && details.prompt.name === 'consent') {
      const remembered = await consentMemory.find(accountId, client.clientId);
      if (remembered?.decision === 'deny') {
        consentDecided(request, client.clientId, accountId, 'deny', true, details);
        return finish(request, reply, denial('You denied this application before.'));
      }
      // An earlier approval covers this request only if it asks for nothing more than was approved,
      // sent to a redirect URI the user saw (consent-memory.ts).
      if (ConsentMemory.covers(remembered, requestedScopes(details), String(details.params.redirect_uri))) {
        consentDecided(request, client.clientId, accountId, 'allow', true, details);
        return finish(request, reply, await grantResult(details, accountId));
      }
    }
    const browserValue = request.cookies[CSRF_COOKIE] ?? csrf.newBrowserValue();
    reply.setCookie(CSRF_COOKIE, browserValue, cookieOptions);
    const redirect = new URL(String(details.params.redirect_uri));
    const user = accountId === undefined ? undefined : await options.durable.users.findById(accountId);
    return reply.type('text/html').send(
      consentPage({
        uid: details.uid,
        clientName: String(client.clientName ?? client.clientId),
        clientId: client.clientId,
        redirectHost: redirect.protocol.startsWith('http')
          ? redirect.host
          : `${redirect.protocol}//${redirect.host}`,
        redirectIsLocal:
          ['127.0.0.1', 'localhost', '[::1]'].includes(redirect.hostname) ||
          !redirect.protocol.startsWith('http'),
        scopes: String(details.params.scope ?? '')
          .split(' ')
          .filter(Boolean),
        csrfToken: csrf.tokenFor(browserValue, details.uid),
        signedInAs: user ? (user.preferredUsername ?? user.displayName) : null,
      }),
    );
  });

  app.post('/interaction/:uid/decision', async (request, reply) => {
    const details = await interaction(request, reply);
    const body = (request.body ?? {}) as { decision?: string; csrf?: string };
    if (!csrf.verify(request.cookies[CSRF_COOKIE], details.uid, body.csrf)) {
      throw new GatehouseError(
        'GH_CONSENT_INVALID',
        'This consent form is not valid here (its security token does not match). Start again from your application.',
      );
    }
    const accountId = await signedInAccount(details);
    const clientId = String(details.params.client_id);
    consentDecided(
      request,
      clientId,
      accountId ?? null,
      body.decision === 'allow' ? 'allow' : 'deny',
      false,
      details,
    );
    if (body.decision !== 'allow') {
      if (accountId !== undefined) await remember(accountId, clientId, 'deny', [], undefined);
      return finish(request, reply, denial('You denied the application access.'));
    }
    if (accountId !== undefined) {
      await remember(accountId, clientId, 'allow', requestedScopes(details), redirectOf(details));
      return finish(request, reply, await grantResult(details, accountId));
    }
    // Only now, after consent, is the sign-in at Entra started. A claims challenge waiting for the
    // user this browser was signed in as goes with it.
    const known = details.session?.accountId;
    const challenge = known === undefined ? undefined : await pendingChallenge(known);
    return startEntraSignIn(reply, { uid: details.uid, clientId, ...challenge });
  });

  /** Redirects to Entra with a single-use state bound to this browser. */
  async function startEntraSignIn(
    reply: FastifyReply,
    input: { uid: string; clientId: string; claims?: string; loginHint?: string },
  ) {
    const state = randomBytes(24).toString('base64url');
    const nonce = randomBytes(24).toString('base64url');
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const binding = randomBytes(24).toString('base64url');
    await ephemeral.set(
      `entra-login:${state}`,
      JSON.stringify({
        uid: input.uid,
        nonce,
        codeVerifier,
        binding: sha256(binding),
        clientId: input.clientId,
        claimsSent: input.claims !== undefined,
      }),
      LOGIN_STATE_TTL_MS,
    );
    reply.setCookie(BINDING_COOKIE, binding, { ...cookieOptions, maxAge: LOGIN_STATE_TTL_MS / 1000 });
    const url = await entra.authorizationUrl({
      state,
      nonce,
      codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      ...(input.claims !== undefined ? { claims: input.claims } : {}),
      ...(input.loginHint !== undefined ? { loginHint: input.loginHint } : {}),
    });
    return reply.redirect(url.toString(), 303);
  }

  /** The claims challenge waiting for a user's next sign-in, with their name as the login hint. */
  async function pendingChallenge(accountId: string) {
    const claims = await options.delegated?.pendingClaims(accountId);
    if (claims === undefined) return undefined;
    const user = await options.durable.users.findById(accountId);
    return { claims, ...(user?.preferredUsername ? { loginHint: user.preferredUsername } : {}) };
  }

  app.get('/auth/callback', async (request, reply) => {
    if (options.browserCallback !== undefined && (await options.browserCallback(request, reply)))
      return reply;
    const query = request.query as Record<string, string | undefined>;
    const stored = query.state ? await ephemeral.take(`entra-login:${query.state}`) : undefined;
    if (stored === undefined) {
      throw signInRefused(
        request,
        null,
        new GatehouseError(
          'GH_SIGN_IN_STATE_INVALID',
          'This sign-in response is unknown, was already used, or expired. Start again from your application.',
        ),
      );
    }
    const login = JSON.parse(stored) as {
      uid: string;
      nonce: string;
      codeVerifier: string;
      binding: string;
      clientId: string;
      claimsSent?: boolean;
    };
    const binding = request.cookies[BINDING_COOKIE];
    if (binding === undefined || sha256(binding) !== login.binding) {
      throw signInRefused(
        request,
        login.clientId,
        new GatehouseError(
          'GH_SIGN_IN_STATE_INVALID',
          'This sign-in was started in another browser. Finish it in the browser where you started it.',
        ),
      );
    }
    reply.clearCookie(BINDING_COOKIE, cookieOptions);
    let outcome: { accountId: string } | { error: string; error_description: string };
    if (query.error) {
      const description = (query.error_description ?? '').split('\r\n')[0] ?? '';
      outcome = {
        error: query.error === 'access_denied' ? 'access_denied' : 'login_required',
        error_description: `Entra ID: ${description || query.error}`,
      };
      signedIn(request, login.clientId, undefined, `entra:${query.error}`, outcome.error_description);
    } else {
      const current = entra.callbackUrl(new URL(request.url, 'http://callback.invalid').search);
      try {
        const signIn = await entra.processCallback(current, {
          state: query.state!,
          nonce: login.nonce,
          codeVerifier: login.codeVerifier,
        });
        const user = await options.durable.users.upsert({
          tenantId: signIn.tenantId,
          objectId: signIn.objectId,
          displayName: signIn.name,
          preferredUsername: signIn.preferredUsername,
        });
        // Entra answered an earlier request for this user with a claims challenge that this sign-in
        // did not carry (the browser was not known to be theirs): once more, with the claims.
        const challenge = login.claimsSent ? undefined : await pendingChallenge(user.id);
        if (challenge !== undefined)
          return startEntraSignIn(reply, { uid: login.uid, clientId: login.clientId, ...challenge });
        outcome = { accountId: await rememberSignIn(signIn, user.id) };
        signedIn(request, login.clientId, user, null, null);
        if (login.claimsSent) await options.delegated?.claimsAnswered(user.id);
      } catch (error) {
        if (!isGatehouseError(error)) throw error;
        signedIn(request, login.clientId, undefined, error.code, error.message);
        if (error.code === 'GH_ENTRA_ACCOUNT_DISABLED') throw error;
        request.log.warn({ code: error.code, detail: error.detail }, error.message);
        outcome = { error: 'access_denied', error_description: error.message };
      }
    }
    // The interaction's cookie is scoped to /interaction/<uid>: finish there.
    await ephemeral.set(`entra-done:${login.uid}`, JSON.stringify(outcome), LOGIN_STATE_TTL_MS);
    return reply.redirect(`/interaction/${login.uid}/complete`, 303);
  });

  app.get('/interaction/:uid/complete', async (request, reply) => {
    const details = await interaction(request, reply);
    const stored = await ephemeral.take(`entra-done:${details.uid}`);
    if (stored === undefined)
      throw new GatehouseError(
        'GH_SIGN_IN_STATE_INVALID',
        'This sign-in was already completed or has expired. Start again from your application.',
      );
    const outcome = JSON.parse(stored) as { accountId?: string; error?: string; error_description?: string };
    if (outcome.accountId === undefined)
      return finish(request, reply, { error: outcome.error!, error_description: outcome.error_description! });
    await remember(
      outcome.accountId,
      String(details.params.client_id),
      'allow',
      requestedScopes(details),
      redirectOf(details),
    );
    return finish(request, reply, {
      login: { accountId: outcome.accountId },
      ...(await grantResult(details, outcome.accountId)),
    });
  });

  function remember(
    accountId: string,
    clientId: string,
    decision: 'allow' | 'deny',
    scopes: string[],
    redirectUri: string | undefined,
  ) {
    return consentMemory.remember(accountId, clientId, decision, scopes, redirectUri);
  }

  /**
   * The account this browser is signed in as, unless Entra has since refused to refresh that
   * sign-in: the user then goes through Entra again, whatever Gatehouse's session and remembered
   * consent say.
   */
  async function signedInAccount(details: { session?: { accountId?: string } | undefined }) {
    const accountId = details.session?.accountId;
    if (accountId === undefined || (await options.entraSignInEnded(accountId))) return undefined;
    // Entra asked for more (MFA, a Conditional Access policy): only a new sign-in there answers it.
    if ((await options.delegated?.pendingClaims(accountId)) !== undefined) return undefined;
    return accountId;
  }

  async function interaction(request: FastifyRequest, reply: FastifyReply) {
    const { uid } = request.params as { uid: string };
    let details: Awaited<ReturnType<Provider['interactionDetails']>>;
    try {
      details = await provider.interactionDetails(request.raw, reply.raw);
    } catch {
      throw new GatehouseError(
        'GH_CONSENT_INVALID',
        'This sign-in page has expired or belongs to another browser. Start again from your application.',
      );
    }
    if (details.uid !== uid)
      throw new GatehouseError(
        'GH_CONSENT_INVALID',
        'This sign-in page does not belong to the sign-in in progress in this browser.',
      );
    return details;
  }

  async function grantResult(
    details: Awaited<ReturnType<Provider['interactionDetails']>>,
    accountId: string,
  ) {
    const clientId = String(details.params.client_id);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId });
    if (grant === undefined)
      throw new GatehouseError(
        'GH_CONSENT_INVALID',
        'The earlier approval for this application is gone. Start again.',
      );
    const requested = String(details.params.scope ?? '')
      .split(' ')
      .filter(Boolean);
    const resourceScopes = requested.filter((scope) => options.resourceScopes.includes(scope));
    // The resource scopes are also authorization-server scopes (registration accepts only those), so
    // oidc-provider expects them granted on both levels.
    const oidcScopes = requested.filter(
      (scope) => ['openid', 'profile', 'offline_access'].includes(scope) || resourceScopes.includes(scope),
    );
    grant.addOIDCScope(oidcScopes.join(' ') || 'openid');
    const granted = (resourceScopes.length > 0 ? resourceScopes : options.resourceScopes).join(' ');
    grant.addResourceScope(options.resource, granted);
    const asked = details.params.resource;
    for (const resource of Array.isArray(asked) ? asked : asked === undefined ? [] : [asked]) {
      if (typeof resource === 'string' && options.acceptsResource?.(resource))
        grant.addResourceScope(resource, granted);
    }
    return { consent: { grantId: await grant.save() } };
  }

  async function finish(request: FastifyRequest, reply: FastifyReply, result: Record<string, unknown>) {
    reply.hijack();
    await provider.interactionFinished(request.raw, reply.raw, result, { mergeWithLastSubmission: true });
  }

  /**
   * Checks the account (MCP_AZURE_VALIDATE_WITH_GRAPH), reads its groups from Graph when they did
   * not fit in the token (groups overage), and keeps the Entra tokens sealed with what they grant.
   */
  async function rememberSignIn(signIn: EntraSignIn, userId: string): Promise<string> {
    const groups = await checkSignInWithGraph(options.delegated, signIn, userId, {
      validateWithGraph: options.validateWithGraph === true,
      warn: (error, message) => app.log.warn({ err: error }, message),
    });
    const sealed = options.entraTokens.seal(
      JSON.stringify({
        accessToken: signIn.accessToken,
        refreshToken: signIn.refreshToken,
        accessTokenExpiresAt: signIn.accessTokenExpiresAt,
      }),
      userId,
    );
    await options.durable.entraSessions.save({
      userId,
      sealedTokens: sealed,
      roles: signIn.roles,
      groups,
    });
    return userId;
  }

  function signedIn(
    request: FastifyRequest,
    clientId: string | null,
    user: { id: string; tenantId: string } | undefined,
    errorCode: string | null,
    reason: string | null,
  ): void {
    options.audit?.emit({
      type: 'auth.sign-in',
      at: new Date().toISOString(),
      requestId: request.id,
      ip: request.ip,
      clientId,
      userId: user?.id ?? null,
      tenantId: user?.tenantId ?? null,
      outcome: user === undefined ? 'error' : 'ok',
      errorCode,
      reason,
    });
  }

  function signInRefused(request: FastifyRequest, clientId: string | null, error: GatehouseError) {
    signedIn(request, clientId, undefined, error.code, error.message);
    return error;
  }

  function consentDecided(
    request: FastifyRequest,
    clientId: string,
    accountId: string | null,
    outcome: 'allow' | 'deny',
    remembered: boolean,
    details: { params: Record<string, unknown> },
  ): void {
    options.audit?.emit({
      type: 'consent.decision',
      at: new Date().toISOString(),
      requestId: request.id,
      ip: request.ip,
      clientId,
      userId: accountId,
      outcome,
      remembered,
      scopes: requestedScopes(details),
    });
  }
}

function denial(description: string) {
  return { error: 'access_denied', error_description: description };
}

function redirectOf(details: { params: Record<string, unknown> }): string | undefined {
  const uri = details.params.redirect_uri;
  return typeof uri === 'string' ? uri : undefined;
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function requestedScopes(details: { params: Record<string, unknown> }): string[] {
  return String(details.params.scope ?? '')
    .split(' ')
    .filter(Boolean);
}
