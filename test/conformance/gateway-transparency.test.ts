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
// pass directly. (2026-07-28 joins once Gatehouse's own endpoint speaks that revision.)
//
// What the gateway does not relay yet makes a scenario differ; each is listed here with the reason
// and asserted to still differ, so the list can only shrink.
const NOT_RELAYED_YET: Record<string, string> = {
  'tools-call-sampling': 'server-to-client requests (sampling/createMessage) are not relayed to the caller',
  'tools-call-elicitation': 'server-to-client requests (elicitation/create) are not relayed to the caller',
  'elicitation-sep1034-defaults':
    'server-to-client requests (elicitation/create) are not relayed to the caller',
  'elicitation-sep1330-enums': 'server-to-client requests (elicitation/create) are not relayed to the caller',
  'tools-call-with-logging': "the upstream's log notifications during a call are not relayed to the caller",
  'logging-set-level':
    'logging/setLevel is not forwarded (the upstream connection is shared by every caller)',
  'resources-subscribe':
    'resources/subscribe is not forwarded (no per-caller subscriptions on the shared connection)',
  'resources-unsubscribe': 'resources/unsubscribe is not forwarded (see resources-subscribe)',
};

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
  ] as const)(
    '%s',
    async (_run, pkg, args) => {
      const direct = await serverScenarioResults(pkg, upstream.url, args);
      const through = await serverScenarioResults(pkg, `${f.gatehouse.url}/mcp/fixture`, args);
      expect([...through.keys()].sort()).toEqual([...direct.keys()].sort());
      const differing = [...direct].filter(([scenario, outcome]) => through.get(scenario) !== outcome);
      expect(Object.fromEntries(differing)).toEqual(
        Object.fromEntries(
          Object.keys(NOT_RELAYED_YET)
            .filter((scenario) => direct.has(scenario))
            .map((scenario) => [scenario, direct.get(scenario)]),
        ),
      );
      // What differs is what the fixture passes and the gateway does not (never the other way).
      for (const [scenario] of differing) expect(direct.get(scenario)).toBe('pass');
    },
    300_000,
  );
});
