import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningConformanceUpstream,
  startConformanceUpstream,
} from '../fixtures/conformance-upstream/server.js';
import { type GatewayFixture, startGatewayFixture } from '../helpers/gateway-fixture.js';
import { CONFORMANCE, serverScenarioResults } from './conformance-cli.js';

// Transparency, measured by the MCP conformance suite: its server scenarios run directly against
// the conformance upstream fixture (test/fixtures/conformance-upstream/server.ts) and through
// Gatehouse at /mcp/fixture, in the same test; through Gatehouse they must pass exactly what they
// pass directly, in each protocol era.
//
// For handshake-era callers, sampling, elicitation, log messages and resource subscriptions travel
// both ways through the gateway; for 2026-07-28 callers to a 2026-07-28 upstream, the request goes
// as the caller made it (its `_meta` envelope, Mcp-Param-* headers, input responses and request
// state) and the upstream's result comes back as it is, input_required rounds included. So nothing
// differs in any era: the suite must find the same outcome for every scenario, both ways.
describe('MCP conformance through the gateway: /mcp/{server} passes what the upstream passes', () => {
  let upstream: RunningConformanceUpstream;
  let f: GatewayFixture;
  beforeAll(async () => {
    upstream = await startConformanceUpstream({});
    f = await startGatewayFixture({ fixture: { url: upstream.url } });
  });
  afterAll(async () => {
    await f?.close();
    await upstream?.close();
  });

  it.each([
    ['0.1.16', CONFORMANCE.server, []],
    ['--requirements 2025-11-25', CONFORMANCE.requirements, ['--requirements', '2025-11-25']],
    ['--requirements 2026-07-28', CONFORMANCE.requirements, ['--requirements', '2026-07-28']],
  ] as const)(
    '%s',
    async (_run, pkg, args) => {
      const direct = await serverScenarioResults(pkg, upstream.url, args);
      const through = await serverScenarioResults(pkg, `${f.gatehouse.url}/mcp/fixture`, args);
      expect([...through.keys()].sort()).toEqual([...direct.keys()].sort());
      const differing = [...direct].filter(([scenario, outcome]) => through.get(scenario) !== outcome);
      expect(
        Object.fromEntries(
          differing.map(([scenario, outcome]) => [
            scenario,
            `${outcome} directly, ${through.get(scenario)} through`,
          ]),
        ),
      ).toEqual({});
      // The run scored scenarios at all (an empty comparison proves nothing).
      expect(direct.size).toBeGreaterThan(10);
    },
    300_000,
  );
});
