/**
 * The durable audit log end to end, on SQLite and on PostgreSQL: a real Gatehouse (authorization
 * server federated to the Entra emulator), real sign-ins over HTTP, real MCP clients, a real stdio
 * upstream; then the rows as the audit_log table holds them and as /api/audit serves them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import type { GatehouseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import type { AuditQuery, AuditRow } from '../../src/ops/audit-log.js';
import type { DurableAuditSink } from '../../src/ops/audit-writer.js';
import { emulatorBackedConfig, IDS } from '../helpers/auth-fixture.js';
import { TEST_MASTER_SECRET } from '../helpers/oauth-fixture.js';
import {
  authorizeUrl,
  csrfTokenOf,
  HttpBrowser,
  registerPublicClient,
  signInForTokens,
  type Tokens,
} from '../helpers/oauth-http-flow.js';
import { createTestDatabase } from '../helpers/services.js';

const UPSTREAM = fileURLToPath(new URL('../fixtures/test-upstream.mjs', import.meta.url));

for (const backend of ['sqlite', 'postgres'] as const) {
  describe.sequential(`audit log on ${backend}`, () => {
    let entra: DevEntra;
    let dataDir: string;
    let database: { url: string; drop(): Promise<void> } | undefined;
    let config: GatehouseConfig;
    let gatehouse: RunningGatehouse;
    let baseUrl: string;
    let alice: { tokens: Tokens; clientId: string; userId: string; browser: HttpBrowser };

    beforeAll(async () => {
      entra = await startDevEntra({ port: 0 });
      dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-audit-'));
      database = backend === 'postgres' ? await createTestDatabase() : undefined;
      config = await emulatorBackedConfig(entra, dataDir, {
        MCP_AZURE_CLIENT_SECRET: IDS.apiSecret,
        MCP_AZURE_JWT_SIGNING_KEY: TEST_MASTER_SECRET,
        GATEHOUSE_GATEWAY_RUNTIME_STDIO: 'true',
        AUDIT_LOG_ARGUMENTS: 'true',
        // Only the test's flushes (and full batches) write: what is asserted never depends on a timer.
        AUDIT_FLUSH_INTERVAL: '60000',
        ...(database ? { DATABASE_URL: database.url } : {}),
      });
      gatehouse = await startGatehouse(config, { logger: createLogger(config) });
      baseUrl = config.server.baseUrl;
    });

    afterAll(async () => {
      await gatehouse?.close();
      await entra?.close();
      await database?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    const sink = () => gatehouse.audit as DurableAuditSink;
    /** Every row matching `query`, newest first, once what was emitted is written. */
    async function rows(query: AuditQuery = {}): Promise<AuditRow[]> {
      await sink().flush();
      return (await gatehouse.stores.durable.auditLog.query({ ...query, limit: 1000 })).rows;
    }
    async function mcpClient(token: string) {
      const client = new Client({ name: 'audit-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      return client;
    }
    const api = (pathAndQuery: string, token?: string) =>
      fetch(`${baseUrl}${pathAndQuery}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

    it('records a sign-in and the consent that preceded it', async () => {
      const browser = new HttpBrowser(baseUrl);
      const { steps, tokens } = await signInForTokens(browser, { user: 'alice' });
      const [signIn] = await rows({ type: 'auth.sign-in' });
      expect(signIn).toMatchObject({
        outcome: 'ok',
        clientId: steps.client.clientId,
        errorCode: null,
        ip: expect.any(String),
        requestId: expect.any(String),
      });
      const user = await gatehouse.stores.durable.users.findById(signIn!.userId!);
      expect(user?.preferredUsername).toMatch(/^alice@/);
      expect(signIn!.tenantId).toBe(user!.tenantId);
      alice = { tokens, clientId: steps.client.clientId, userId: user!.id, browser };

      const [consent] = await rows({ type: 'consent.decision' });
      expect(consent).toMatchObject({
        outcome: 'allow',
        clientId: steps.client.clientId,
        // Consent comes before the sign-in: nobody is signed in yet when it is given.
        userId: null,
        details: { remembered: false, scopes: expect.arrayContaining(['tools.execute']) },
      });
    });

    it('records a denial, and a remembered approval applied without a page', async () => {
      const stranger = new HttpBrowser(baseUrl);
      const client = await registerPublicClient(baseUrl, 'http://127.0.0.1:47124/callback', 'Denied client');
      const authorize = await stranger.get(authorizeUrl(baseUrl, client).url);
      const uid = /\/interaction\/([^/?#]+)/.exec(authorize.location ?? '')![1]!;
      const page = await stranger.get(`/interaction/${uid}`);
      await stranger.post(`/interaction/${uid}/decision`, { decision: 'deny', csrf: csrfTokenOf(page.text) });
      expect(await rows({ type: 'consent.decision', outcome: 'deny' })).toMatchObject([
        { clientId: client.clientId, userId: null, details: { remembered: false } },
      ]);

      // Alice's browser is signed in and approved her client before: the same request is approved again.
      const again = await alice.browser.get(
        authorizeUrl(baseUrl, { clientId: alice.clientId, redirectUri: 'http://127.0.0.1:47123/callback' })
          .url,
      );
      const againUid = /\/interaction\/([^/?#]+)/.exec(again.location ?? '')![1]!;
      const finished = await alice.browser.get(`/interaction/${againUid}`);
      expect(finished.status).toBe(303);
      const [remembered] = await rows({ type: 'consent.decision', outcome: 'allow' });
      expect(remembered).toMatchObject({
        clientId: alice.clientId,
        userId: alice.userId,
        details: { remembered: true },
      });
    });

    it('records a built-in tool call with its user, tenant, client, outcome, duration and redacted arguments', async () => {
      const client = await mcpClient(alice.tokens.access_token);
      try {
        const sum = await client.callTool({ name: 'calculate_sum', arguments: { numbers: [2, 3] } });
        expect(sum.structuredContent).toMatchObject({ sum: 5 });
        const bad = await client.callTool({
          name: 'calculate_sum',
          arguments: { numbers: 'two', password: 'hunter2' },
        });
        expect(bad.isError).toBe(true);
      } finally {
        await client.close();
      }
      const calls = await rows({ type: 'tool.call', tool: 'calculate_sum' });
      expect(calls).toHaveLength(2);
      const [failed, ok] = calls;
      const user = await gatehouse.stores.durable.users.findById(alice.userId);
      expect(ok).toMatchObject({
        userId: alice.userId,
        tenantId: user!.tenantId,
        clientId: alice.clientId,
        tool: 'calculate_sum',
        server: null,
        outcome: 'ok',
        errorCode: null,
        requestId: expect.any(String),
        details: { arguments: { numbers: [2, 3] } },
      });
      expect(ok!.durationMs).toBeGreaterThanOrEqual(0);
      expect(failed).toMatchObject({
        outcome: 'tool-error',
        errorCode: 'GH_TOOL_INVALID_ARGUMENTS',
        details: { arguments: { numbers: 'two', password: '[redacted]' } },
      });
      expect(JSON.stringify(calls)).not.toContain('hunter2');
    });

    it('records a registry change and a forwarded tool call with its server and duration', async () => {
      const created = await fetch(`${baseUrl}/api/servers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.tokens.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'fixture', command: process.execPath, args: [UPSTREAM, '--stdio'] }),
      });
      expect(created.status).toBe(201);
      expect(await rows({ type: 'gateway.registry' })).toMatchObject([
        { userId: alice.userId, action: 'create', server: 'fixture', outcome: 'ok' },
      ]);

      const client = await mcpClient(alice.tokens.access_token);
      try {
        const echoed = await client.callTool({ name: 'fixture__echo', arguments: { message: 'hi' } });
        expect(echoed.content).toEqual([{ type: 'text', text: 'echo: hi' }]);
      } finally {
        await client.close();
      }
      const [forwarded] = await rows({ server: 'fixture', type: 'gateway.forward' });
      expect(forwarded).toMatchObject({
        userId: alice.userId,
        clientId: alice.clientId,
        tool: 'fixture__echo',
        action: 'tools/call',
        outcome: 'ok',
        errorCode: null,
        details: { arguments: { message: 'hi' } },
      });
      expect(forwarded!.durationMs).toBeGreaterThan(0);
    });

    it('records an authentication failure with its code, address and request id', async () => {
      const refused = await fetch(`${baseUrl}/mcp`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer not-a-token',
          'content-type': 'application/json',
          'x-request-id': 'audit-test-401',
        },
        body: '{}',
      });
      expect(refused.status).toBe(401);
      const [failure] = await rows({ type: 'auth.failure' });
      expect(failure).toMatchObject({
        requestId: 'audit-test-401',
        outcome: 'error',
        ip: expect.any(String),
      });
      expect(failure!.errorCode).toMatch(/^GH_AUTH_/);
    });

    it('serves /api/audit to admins: filters, cursor pages, NDJSON export; refuses others and bad filters', async () => {
      const token = alice.tokens.access_token;
      const page = async (query: string) => {
        const response = await api(`/api/audit?${query}`, token);
        expect(response.status).toBe(200);
        return (await response.json()) as { rows: Record<string, unknown>[]; nextCursor: string | null };
      };
      const calls = await page('type=tool.call');
      expect(calls.rows.length).toBeGreaterThanOrEqual(2);
      expect(calls.rows.every((row) => row.type === 'tool.call')).toBe(true);
      expect(calls.rows[0]).toMatchObject({ tool: expect.any(String), at: expect.stringMatching(/Z$/) });
      expect((await page(`user=${alice.userId}&tool=calculate_sum&outcome=ok`)).rows).toHaveLength(1);
      expect((await page('server=fixture')).rows.map((row) => row.type)).toEqual(
        expect.arrayContaining(['gateway.forward', 'gateway.registry']),
      );
      expect((await page('since=2999-01-01')).rows).toEqual([]);
      expect((await page('until=2000-01-01T00:00:00Z')).rows).toEqual([]);

      const all = await rows();
      const ids: unknown[] = [];
      let cursor: string | null = null;
      do {
        const next = await page(`limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(next.rows.length).toBeLessThanOrEqual(2);
        ids.push(...next.rows.map((row) => row.id));
        cursor = next.nextCursor;
      } while (cursor !== null);
      expect(ids).toEqual(all.map((row) => row.id));

      const exported = await api('/api/audit/export?type=tool.call', token);
      expect(exported.status).toBe(200);
      expect(exported.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const lines = (await exported.text())
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines.map((line) => line.id)).toEqual((await rows({ type: 'tool.call' })).map((row) => row.id));

      for (const bad of [
        'limit=0',
        'limit=5000',
        'since=yesterday',
        'cursor=bogus',
        'since=2026-02-01&until=2026-01-01',
      ]) {
        const response = await api(`/api/audit?${bad}`, token);
        expect(response.status, bad).toBe(400);
        expect(((await response.json()) as { error: string }).error, bad).toBe('GH_AUDIT_INVALID_QUERY');
      }
      expect((await api('/api/audit')).status).toBe(401);

      const bob = await signInForTokens(new HttpBrowser(baseUrl), { user: 'bob' });
      for (const route of ['/api/audit', '/api/audit/export']) {
        const refused = await api(route, bob.tokens.access_token);
        expect(refused.status).toBe(403);
        expect(((await refused.json()) as { error: string }).error).toBe('GH_API_ROLE_REQUIRED');
      }
    });

    it('records a token revocation at the revocation endpoint', async () => {
      const revoked = await fetch(`${baseUrl}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: alice.tokens.refresh_token!, client_id: alice.clientId }),
      });
      expect(revoked.status).toBe(200);
      const [revocation] = await rows({ type: 'token.revoked' });
      expect(revocation).toMatchObject({
        action: 'revocation',
        clientId: alice.clientId,
        userId: alice.userId,
        outcome: 'ok',
        requestId: expect.any(String),
        details: { grantId: expect.any(String) },
      });
    });

    it('keeps every row across a restart, the events of the last requests included', async () => {
      const before = await rows();
      const refused = await fetch(`${baseUrl}/mcp`, {
        method: 'POST',
        headers: { authorization: 'Bearer last-before-restart', 'x-request-id': 'audit-before-restart' },
      });
      expect(refused.status).toBe(401);
      // No flush: graceful shutdown writes what is still buffered.
      await gatehouse.close();
      gatehouse = await startGatehouse(config, { logger: createLogger(config) });
      const after = (await gatehouse.stores.durable.auditLog.query({ limit: 1000 })).rows;
      expect(after.slice(1)).toEqual(before);
      expect(after[0]).toMatchObject({ type: 'auth.failure', requestId: 'audit-before-restart' });
      const kinds = new Set(after.map((row) => row.type));
      for (const kind of [
        'auth.sign-in',
        'consent.decision',
        'tool.call',
        'tool.decision',
        'gateway.forward',
        'gateway.registry',
        'auth.failure',
        'token.revoked',
      ])
        expect(kinds.has(kind), kind).toBe(true);
    });
  });
}
