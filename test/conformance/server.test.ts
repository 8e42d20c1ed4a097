import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { startAuthFixture } from '../helpers/auth-fixture.js';
import {
  CONFORMANCE,
  compareWithBaseline,
  EXPECTED_FAILURES,
  expectedFailures,
  listServerScenarios,
  readChecks,
  runConformance,
  runServerSuite,
  summary,
} from './conformance-cli.js';

// The server scenarios of the MCP conformance suite (0.1.16) against Gatehouse's MCP endpoint. They
// connect without a token, so Gatehouse runs in development mode (no authentication). Scenarios
// written for the suite's own fixture tools, resources and prompts are listed, each with its reason,
// in expected-failures.yml; the CLI fails the run when any other scenario fails or when a listed one
// passes.
describe('MCP conformance: server scenarios against Gatehouse (development mode)', () => {
  let gatehouse: RunningGatehouse;
  let dataDir: string;
  let outputDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-conformance-'));
    outputDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-conformance-results-'));
    const config = loadConfig({ env: { PORT: '0', GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' } });
    gatehouse = await startGatehouse(config, { logger: createLogger(config) });
  });
  afterAll(async () => {
    await gatehouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('passes every scenario except the expected failures, and fails all of those', async () => {
    const run = await runConformance(CONFORMANCE.server, [
      'server',
      '--url',
      `${gatehouse.url}/mcp`,
      '--expected-failures',
      EXPECTED_FAILURES,
      '-o',
      outputDir,
    ]);
    const results = readChecks(outputDir, 'server-');
    const report = `conformance exited ${run.code}\n${summary(run.stdout)}\n${run.stderr.slice(-2000)}`;

    // The suite ran: its active scenarios include these, which Gatehouse must pass.
    for (const scenario of [
      'server-initialize',
      'ping',
      'tools-list',
      'server-sse-multiple-streams',
      'dns-rebinding-protection',
    ]) {
      expect(results.get(scenario), `${scenario} did not run\n${report}`).toBeDefined();
    }
    // Every entry of the baseline names a scenario that ran (a misspelt entry would never go stale).
    const expected = expectedFailures('server');
    expect(expected.filter((scenario) => !results.has(scenario))).toEqual([]);

    expect(compareWithBaseline(results, expected), report).toEqual({
      unexpectedFailures: [],
      staleEntries: [],
    });
    expect(run.stdout, report).toContain('Baseline check passed');
    expect(run.code, report).toBe(0);
  }, 300_000);
});

// Both protocol eras on the same /mcp, as each revision requires: `server --requirements <revision>`
// of the 0.2.0 line runs exactly the scenarios that revision requires, at its wire (2026-07-28:
// stateless, a `_meta` envelope on every request; 2025-11-25: initialize and sessions). Scenarios
// written for the suite's fixture server are listed in expected-failures.yml (2026-07-28 under
// `server-2026-07-28`; 2025-11-25 fails exactly the 0.1.16 list, `server`); every other scored
// scenario passes. Run with authentication off, and on: the suite sends no token, so a proxy in
// front of Gatehouse adds one (and passes Host and Origin through untouched, for the DNS-rebinding
// scenario).
describe.each([
  {
    revision: '2026-07-28',
    baseline: 'server-2026-07-28',
    mustRun: [
      'server-stateless',
      'tools-list',
      'caching',
      'http-header-validation',
      'sep-2164-resource-not-found',
    ],
  },
  {
    revision: '2025-11-25',
    baseline: 'server',
    mustRun: [
      'server-initialize',
      'ping',
      'tools-list',
      'server-session-lifecycle',
      'dns-rebinding-protection',
    ],
  },
])('MCP conformance: --requirements $revision against Gatehouse', ({ revision, baseline, mustRun }) => {
  const REQUIREMENTS = ['--requirements', revision] as const;
  let scored: string[];
  beforeAll(async () => {
    scored = await listServerScenarios(CONFORMANCE.requirements, REQUIREMENTS);
  }, 120_000);

  async function expectConformant(url: string) {
    const { checks, report } = await runServerSuite(CONFORMANCE.requirements, url, REQUIREMENTS);
    const expected = expectedFailures(baseline);
    expect(scored.length, report).toBeGreaterThan(25);
    // Every scored scenario ran, and every expected failure names one of them.
    expect(
      scored.filter((scenario) => !checks.has(scenario)),
      report,
    ).toEqual([]);
    expect(expected.filter((scenario) => !scored.includes(scenario))).toEqual([]);
    const scoredResults = new Map([...checks].filter(([scenario]) => scored.includes(scenario)));
    expect(compareWithBaseline(scoredResults, expected), report).toEqual({
      unexpectedFailures: [],
      staleEntries: [],
    });
    // server-stateless (2026-07-28) fails only for want of the fixture's diagnostic tools.
    const stateless = (checks.get('server-stateless') ?? []).filter(
      (check) => check.status === 'FAILURE' || check.status === 'WARNING',
    );
    expect(
      stateless.filter((check) => !check.errorMessage?.startsWith('Not testable')),
      report,
    ).toEqual([]);
    for (const scenario of mustRun) {
      expect(checks.get(scenario)?.length, `${scenario} did not run\n${report}`).toBeGreaterThan(0);
    }
  }

  it('with authentication off (development mode)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-conformance-eras-'));
    const config = loadConfig({ env: { PORT: '0', GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' } });
    const gatehouse = await startGatehouse(config, { logger: createLogger(config) });
    try {
      await expectConformant(`${gatehouse.url}/mcp`);
    } finally {
      await gatehouse.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 600_000);

  it('with authentication on (a bearer token added by a proxy)', async () => {
    // The suite is one user sending a few hundred requests within a minute: a budget it never uses up.
    const f = await startAuthFixture({ RATE_LIMIT_MCP_PER_MINUTE: '1000000' });
    const token = await f.userToken('alice', ['discover', 'tools.read', 'tools.execute']);
    const proxy = await bearerProxy(f.gatehouse.url, token);
    try {
      // Without the proxy, the suite is refused: the token is what lets it in.
      const refused = await fetch(f.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'mcp-protocol-version': revision },
        body: '{}',
      });
      expect(refused.status).toBe(401);
      await expectConformant(`${proxy.url}/mcp`);
    } finally {
      await proxy.close();
      await f.close();
    }
  }, 600_000);
});

/** A loopback proxy that adds `Authorization: Bearer <token>` to every request it forwards to `target`. */
async function bearerProxy(target: string, token: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, authorization: `Bearer ${token}` },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    outgoing.on('close', () => forwarded.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
