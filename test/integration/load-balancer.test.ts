import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeProtectedHeader } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { IDS } from '../dev-entra/helpers.js';
import { mcpPost } from '../helpers/auth-fixture.js';
import { type Cluster, GATEHOUSE_BIN, startCluster } from '../helpers/load-balanced-cluster.js';
import { BrowserOAuthProvider, freePort, launchBrowser } from '../helpers/oauth-fixture.js';
import { refresh } from '../helpers/oauth-http-flow.js';
import { createTestDatabase, createTestRedisPrefix, TEST_REDIS_URL } from '../helpers/services.js';

const run = promisify(execFile);
const whoami = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

// Three instances behind HAProxy (deploy/haproxy.cfg, round-robin, no stickiness) on one
// PostgreSQL database and one Redis prefix: an MCP client signs in, calls tools and refreshes
// without knowing which instance answers; a key rotation and a revocation made on one instance
// hold on the others.
describe('three instances behind a load balancer', () => {
  let entra: DevEntra;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: ReturnType<typeof createTestRedisPrefix>;
  let cluster: Cluster;
  let browser: Browser;

  beforeAll(async () => {
    entra = await startDevEntra({ port: 0 });
    database = await createTestDatabase();
    redis = createTestRedisPrefix();
    cluster = await startCluster({
      entra,
      databaseUrl: database.url,
      redisUrl: TEST_REDIS_URL,
      redisKeyPrefix: redis.prefix,
      // No verification cache: every use of a token is checked against its grant, so what one
      // instance revokes the next request to any instance sees (with the cache, within 30 s).
      env: { MCP_AZURE_TOKEN_CACHE_TTL: '0' },
    });
    browser = await launchBrowser();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
    await entra?.close();
    await redis?.cleanup();
    await database?.drop();
  });

  /** Calls whoami through the load balancer until every instance has answered; returns the statuses. */
  async function everyInstanceAnswers(token: string): Promise<Map<string, number>> {
    const statuses = new Map<string, number>();
    for (let attempt = 0; attempt < 30 && statuses.size < cluster.instances.length; attempt++) {
      const answer = await mcpPost(`${cluster.url}/mcp`, whoami, token);
      statuses.set(answer.headers.get('x-gatehouse-instance') ?? '?', answer.status);
    }
    expect([...statuses.keys()].sort()).toEqual(cluster.instances.map((instance) => instance.name).sort());
    return statuses;
  }

  it('signs an MCP client in through the balancer, serves its tools from every instance, refreshes, rotates keys and revokes', async () => {
    // Registration, consent, Entra sign-in and the code exchange, each request to whichever instance.
    const provider = new BrowserOAuthProvider(
      browser,
      'alice',
      `http://127.0.0.1:${await freePort()}/callback`,
    );
    const mcpUrl = new URL(`${cluster.url}/mcp`);
    const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await expect(new Client({ name: 'lb-e2e', version: '1.0.0' }).connect(first)).rejects.toThrow(
      UnauthorizedError,
    );
    expect(provider.code, provider.visited.join('\n')).toBeDefined();
    await first.finishAuth(provider.code!);
    const clientId = (provider.client as { client_id: string }).client_id;
    const tokens = provider.saved!;
    expect(tokens.refresh_token).toBeDefined();

    // Tool calls from the SDK client: its session may land on any instance (shared in Redis).
    const client = new Client({ name: 'lb-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
    for (let call = 0; call < 6; call++) {
      const who = await client.callTool({ name: 'whoami', arguments: {} });
      expect(who.structuredContent).toMatchObject({ objectId: IDS.alice });
    }
    const sum = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [1, 2, 3] } });
    expect(sum.isError).not.toBe(true);
    await client.close();
    for (const status of (await everyInstanceAnswers(tokens.access_token)).values()) expect(status).toBe(200);

    // A refresh through the balancer: the rotated refresh token and the new access token work everywhere.
    const refreshed = await refresh(cluster.url, clientId, tokens.refresh_token!);
    expect(refreshed.status, refreshed.text).toBe(200);
    const second = refreshed.json as { access_token: string; refresh_token: string };
    for (const status of (await everyInstanceAnswers(second.access_token)).values()) expect(status).toBe(200);
    const oldKid = kidOf(second.access_token);

    // `gatehouse keys rotate` run with gatehouse1's settings, and gatehouse1 restarted (rolling):
    // it signs with the new key; the others, still signing with the old one, verify the new key's
    // tokens at once (an unknown kid re-reads the shared key table).
    const [one, two, three] = cluster.instances as [
      Cluster['instances'][0],
      Cluster['instances'][0],
      Cluster['instances'][0],
    ];
    const rotated = await run(process.execPath, [GATEHOUSE_BIN, 'keys', 'rotate'], { env: one.env });
    const newKid = /New signing key (\S+)/.exec(rotated.stdout)?.[1];
    expect(newKid, rotated.stdout).toBeDefined();
    expect(newKid).not.toBe(oldKid);
    await one.kill();
    await one.start();
    const third = await refresh(one.url, clientId, second.refresh_token);
    expect(third.status, third.text).toBe(200);
    const thirdTokens = third.json as { access_token: string; refresh_token: string };
    expect(kidOf(thirdTokens.access_token)).toBe(newKid);
    for (const instance of [two, three]) {
      expect(
        (await mcpPost(`${instance.url}/mcp`, whoami, thirdTokens.access_token)).status,
        instance.name,
      ).toBe(200);
      // And the old key's tokens keep verifying everywhere while it is published.
      expect((await mcpPost(`${instance.url}/mcp`, whoami, second.access_token)).status, instance.name).toBe(
        200,
      );
      const jwks = (await (await fetch(`${instance.url}/jwks`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((key) => key.kid)).toContain(oldKid);
    }
    expect((await mcpPost(`${one.url}/mcp`, whoami, second.access_token)).status).toBe(200);
    await cluster.balanced();
    for (const status of (await everyInstanceAnswers(thirdTokens.access_token)).values())
      expect(status).toBe(200);

    // Revoked on gatehouse2: the grant ends everywhere, for its access and refresh tokens.
    const revocation = await fetch(`${two.url}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: thirdTokens.refresh_token,
        token_type_hint: 'refresh_token',
        client_id: clientId,
      }),
    });
    expect(revocation.status).toBe(200);
    for (const instance of [one, three]) {
      const refused = await mcpPost(`${instance.url}/mcp`, whoami, thirdTokens.access_token);
      expect(refused.status, instance.name).toBe(401);
    }
    for (const status of (await everyInstanceAnswers(thirdTokens.access_token)).values())
      expect(status).toBe(401);
    const again = await refresh(three.url, clientId, thirdTokens.refresh_token);
    expect(again.status).toBe(400);
    expect((again.json as { error: string }).error).toBe('invalid_grant');
  }, 180_000);
});
