import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import {
  CONFORMANCE,
  compareWithBaseline,
  EXPECTED_FAILURES,
  expectedFailures,
  readChecks,
  runConformance,
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
