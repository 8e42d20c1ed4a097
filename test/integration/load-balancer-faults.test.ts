import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import type { DurableStore } from '../../src/storage/contract.js';
import { createPostgresStore } from '../../src/storage/postgres/index.js';
import { IDS, type SeededUser } from '../dev-entra/helpers.js';
import { mcpPost, vscodeToken } from '../helpers/auth-fixture.js';
import { ageEntraTokens, openEntraTokens } from '../helpers/entra-sessions.js';
import { eventually } from '../helpers/gateway-fixture.js';
import { type Cluster, startCluster } from '../helpers/load-balanced-cluster.js';
import { HttpBrowser, refresh, signInForTokens, type Tokens } from '../helpers/oauth-http-flow.js';
import {
  type PrivatePostgres,
  type PrivateRedis,
  startPrivatePostgres,
  startPrivateRedis,
} from '../helpers/private-services.js';

const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

// Faults through the load balancer, each with the outcome docs/deployment.md documents. The
// PostgreSQL cluster and redis-server are this test's own (test/helpers/private-services.ts):
// the shared ones are never stopped.
describe('faults behind the load balancer', () => {
  let entra: DevEntra;
  let postgres: PrivatePostgres;
  let redis: PrivateRedis;
  let cluster: Cluster;
  /** The instances' shared database, read and written as they do it. */
  let store: DurableStore;

  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
    postgres = await startPrivatePostgres();
    redis = await startPrivateRedis();
    cluster = await startCluster({
      entra,
      databaseUrl: postgres.url,
      redisUrl: redis.url,
      redisKeyPrefix: 'gatehouse-faults:',
    });
    store = createPostgresStore({ url: postgres.url });
  }, 300_000);
  afterAll(async () => {
    await store?.close();
    await cluster?.close();
    await redis?.close();
    await postgres?.close();
    await entra?.close();
  });

  async function signIn(user: SeededUser = 'alice'): Promise<{ clientId: string; tokens: Tokens }> {
    const { steps, tokens } = await signInForTokens(new HttpBrowser(cluster.url), { user });
    return { clientId: steps.client.clientId, tokens };
  }

  /** whoami through the balancer until every instance has answered 200 (each then has the token cached). */
  async function verifiedEverywhere(token: string) {
    const seen = new Set<string>();
    for (let attempt = 0; attempt < 40 && seen.size < cluster.instances.length; attempt++) {
      const answer = await mcpPost(`${cluster.url}/mcp`, whoami, token);
      expect(answer.status).toBe(200);
      seen.add(answer.headers.get('x-gatehouse-instance') ?? '?');
    }
    expect(seen.size).toBe(cluster.instances.length);
  }

  async function refreshed(clientId: string, refreshToken: string): Promise<Tokens> {
    const answer = await refresh(cluster.url, clientId, refreshToken);
    expect(answer.status, answer.text).toBe(200);
    return answer.json as unknown as Tokens;
  }

  it('an instance killed while clients call tools: only its requests in flight fail; clients, grants and refresh tokens survive', async () => {
    const { clientId, tokens } = await signIn();
    await verifiedEverywhere(tokens.access_token);
    const victim = cluster.instances[1]!;
    const results: { status: number; afterKill: boolean }[] = [];
    let killed = false;
    let stop = false;
    const CALLERS = 4;
    const callers = Array.from({ length: CALLERS }, async () => {
      while (!stop) {
        const afterKill = killed;
        try {
          const answer = await mcpPost(`${cluster.url}/mcp`, whoami, tokens.access_token);
          results.push({ status: answer.status, afterKill });
        } catch {
          // HAProxy's 502 page (not JSON), or the connection cut.
          results.push({ status: 0, afterKill });
        }
      }
    });
    const waitFor = async (count: number) => {
      while (results.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    await waitFor(20);
    await victim.kill();
    killed = true;
    const atKill = results.length;
    await waitFor(atKill + 60);
    stop = true;
    await Promise.all(callers);

    // At most one request per caller was on the killed instance when it died.
    const failed = results.filter((result) => result.status !== 200);
    expect(failed.length, JSON.stringify(failed)).toBeLessThanOrEqual(CALLERS);
    // Requests started after the kill are all served by the others (refused connections are
    // re-dispatched by the balancer before any byte of the request was sent).
    expect(results.filter((result) => result.afterKill && result.status !== 200)).toEqual([]);

    // The grant and its refresh token survive, and the client's registration.
    const next = await refreshed(clientId, tokens.refresh_token!);
    await verifiedEverywhere(next.access_token).catch(() => {});
    expect((await mcpPost(`${cluster.url}/mcp`, whoami, next.access_token)).status).toBe(200);

    await victim.start();
    await cluster.balanced();
    await verifiedEverywhere(next.access_token);
  }, 180_000);

  it('PostgreSQL restarted: what needs it fails fast with 503 and Retry-After, cached verifications keep serving, all recovers without a restart', async () => {
    const cached = await signIn('alice');
    const uncached = await signIn('bob');
    await verifiedEverywhere(cached.tokens.access_token);

    await postgres.stop();
    try {
      // Verified before: served from each instance's cache.
      for (let call = 0; call < 6; call++) {
        const answer = await mcpPost(`${cluster.url}/mcp`, whoami, cached.tokens.access_token);
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      }
      // Never verified: its grant must be read, and cannot be.
      const refused = await mcpPost(`${cluster.url}/mcp`, whoami, uncached.tokens.access_token);
      expect(refused.status, JSON.stringify(refused.body)).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body.error.data.code).toBe('GH_STORAGE_UNAVAILABLE');
      // A refresh needs the grant too.
      const refreshDown = await refresh(cluster.url, cached.clientId, cached.tokens.refresh_token!);
      expect(refreshDown.status, refreshDown.text).toBe(503);
      expect(refreshDown.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refreshDown.json).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      await postgres.start();
    }

    // Back without restarting any instance: the same requests succeed, nothing was lost.
    await verifiedEverywhere(uncached.tokens.access_token);
    const next = await refreshed(cached.clientId, cached.tokens.refresh_token!);
    await verifiedEverywhere(next.access_token);
    await refreshed(uncached.clientId, uncached.tokens.refresh_token!);
    const fresh = await signIn('alice');
    await verifiedEverywhere(fresh.tokens.access_token);
  }, 180_000);

  it('Redis restarted: short-lived state fails with 503 and Retry-After while it is down, tokens and grants are kept, all recovers without a restart', async () => {
    const { clientId, tokens } = await signIn();
    await verifiedEverywhere(tokens.access_token);
    // An MCP session, kept in Redis: any instance serves it.
    const initialized = await mcpPost(
      `${cluster.url}/mcp`,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'faults', version: '1' },
        },
      },
      tokens.access_token,
    );
    const sessionId = initialized.headers.get('mcp-session-id');
    expect(sessionId, JSON.stringify(initialized.body)).toBeTruthy();
    const inSession = { 'mcp-session-id': sessionId!, 'mcp-protocol-version': '2025-06-18' };
    expect((await mcpPost(`${cluster.url}/mcp`, whoami, tokens.access_token, inSession)).status).toBe(200);

    await redis.stop();
    try {
      // A sign-in needs Redis (interaction state, codes): it is refused, quickly and clearly.
      const browser = new HttpBrowser(cluster.url);
      const started = await signInForTokens(browser, { user: 'alice' }).catch((error: Error) => error);
      expect(String(started)).toContain('GH_STORAGE_UNAVAILABLE');
      const registration = await fetch(`${cluster.url}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          redirect_uris: ['http://127.0.0.1:47123/callback'],
          token_endpoint_auth_method: 'none',
        }),
      });
      // Clients are durable (PostgreSQL); the registration limit lets requests through uncounted
      // while its Redis counters are away (docs/deployment.md).
      expect(registration.status).toBe(201);
      // A request in a session is served from the instance's session cache while that entry is
      // fresh (5 s, src/mcp/sessions.ts), and otherwise refused with 503 and Retry-After, not a hang.
      const sessionDown = await mcpPost(`${cluster.url}/mcp`, whoami, tokens.access_token, inSession);
      if (sessionDown.status !== 200) {
        expect(sessionDown.status, JSON.stringify(sessionDown.body)).toBe(503);
        expect(sessionDown.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(sessionDown.body.error.data.code).toBe('GH_STORAGE_UNAVAILABLE');
      }
      await eventually(async () => {
        const answer = await mcpPost(`${cluster.url}/mcp`, whoami, tokens.access_token, inSession);
        return answer.status === 503 && /^\d+$/.test(answer.headers.get('retry-after') ?? '');
      });
      // Tool calls with a verified token, in a request without a session, need no Redis.
      const answer = await mcpPost(`${cluster.url}/mcp`, whoami, tokens.access_token);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    } finally {
      await redis.start();
    }

    // A fresh, empty Redis: the session is gone (404, the client initializes again, as the MCP
    // specification asks); the grant (PostgreSQL) is intact, sign-ins work again, no restart.
    // (an instance whose cache entry is still fresh serves it at most 5 s longer).
    let gone: Awaited<ReturnType<typeof mcpPost>> | undefined;
    await eventually(async () => {
      gone = await mcpPost(`${cluster.url}/mcp`, whoami, tokens.access_token, inSession);
      return gone.status === 404;
    });
    expect(gone?.body.error.data.code).toBe('GH_MCP_SESSION_NOT_FOUND');
    const next = await refreshed(clientId, tokens.refresh_token!);
    await verifiedEverywhere(next.access_token);
    const fresh = await signIn('bob');
    await verifiedEverywhere(fresh.tokens.access_token);
  }, 180_000);

  it('Entra’s JWKS unreachable: cached keys keep verifying; its token endpoint down during a refresh: the grant is kept', async () => {
    // An Entra token sent straight to Gatehouse (a client with its own Entra sign-in) is verified
    // with Entra's keys, which every instance has cached once it verified one such token.
    const entraToken = await vscodeToken(
      entra,
      'alice',
      `api://${IDS.api}/discover api://${IDS.api}/tools.read api://${IDS.api}/tools.execute`,
    );
    await verifiedEverywhere(entraToken);
    // Obtained before the outage, verified only during it: only the cached keys can verify it.
    const unverified = await vscodeToken(
      entra,
      'carol',
      `api://${IDS.api}/discover api://${IDS.api}/tools.read api://${IDS.api}/tools.execute`,
    );
    const { clientId, tokens } = await signIn('bob');
    // bob's Entra access token, kept sealed with his grant, is about to expire (aged in the shared
    // database, as an hour would do): every Gatehouse refresh now refreshes it at Entra first.
    const bobId = (await store.users.findByIdentity(entra.tenantId, IDS.bob))!.id;
    await ageEntraTokens(store, bobId);
    const aged = (await store.entraSessions.find(bobId))!.sealedTokens;

    let kept = tokens;
    entra.setUnreachable(['jwks', 'token']);
    try {
      await verifiedEverywhere(unverified);
      // A refresh while Entra's token endpoint is cut: the Entra refresh fails, the kept Entra
      // tokens stay as they were, and Gatehouse's grant is kept and refreshed.
      const during = await refresh(cluster.url, clientId, tokens.refresh_token!);
      expect(during.status, during.text).toBe(200);
      kept = during.json as unknown as Tokens;
      await verifiedEverywhere(kept.access_token);
      expect((await store.entraSessions.find(bobId))!.sealedTokens).toBe(aged);
    } finally {
      entra.setUnreachable([]);
    }
    // Entra back: the next refresh renews the Entra tokens too (nothing was lost).
    const after = await refreshed(clientId, kept.refresh_token!);
    await verifiedEverywhere(after.access_token);
    const renewed = (await store.entraSessions.find(bobId))!.sealedTokens;
    expect(renewed).not.toBe(aged);
    expect(openEntraTokens(renewed, bobId).accessTokenExpiresAt).toBeGreaterThan(Date.now() / 1000 + 50 * 60);
  }, 180_000);
});
