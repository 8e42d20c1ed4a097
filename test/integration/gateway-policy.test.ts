import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BACKENDS,
  type GatewayFixture,
  startGatewayFixture,
  startTestUpstream,
  type TestUpstream,
} from '../helpers/gateway-fixture.js';

// One policy, wherever an upstream tool is reached: at /mcp under its prefixed name, at
// /mcp/{server} under its own, and through proxy_request. The config file's "tools" section,
// keyed by the name at /mcp, wins over the server definition's per-tool override, which wins over
// the server's roles; a hidden tool does not exist anywhere.
describe.each(BACKENDS)(
  'the gateway policy is the same at /mcp, at /mcp/{server} and through proxy_request (%s)',
  (backend) => {
    let upstream: TestUpstream;
    let f: GatewayFixture;
    beforeAll(async () => {
      upstream = await startTestUpstream();
      f = await startGatewayFixture(
        {
          up: {
            url: upstream.url,
            tools: { slow: { hidden: true }, whoami_headers: { roles: ['nobody-has-this'] } },
          },
        },
        {},
        { tools: { up__cancelled_requests: { roles: ['nobody-has-this'] } } },
        backend,
      );
      expect(f.gatehouse.stores.durable.backend).toBe(backend);
    });
    afterAll(async () => {
      await f?.close();
      await upstream?.close();
    });

    async function names(at: string): Promise<string[]> {
      return ((await f.rpc('tools/list', undefined, at)).body.result.tools as { name: string }[]).map(
        (tool) => tool.name,
      );
    }

    it('lists the same tools at /mcp and /mcp/up', async () => {
      const aggregated = await names('/mcp');
      const single = await names('/mcp/up');
      expect(single.sort()).toEqual(['die', 'echo']);
      expect(aggregated.filter((name) => name.startsWith('up__')).sort()).toEqual(['up__die', 'up__echo']);
    });

    it.each([
      ['the config file "tools" section', 'cancelled_requests', 'GH_POLICY_ROLE_REQUIRED'],
      ['the server’s per-tool override', 'whoami_headers', 'GH_POLICY_ROLE_REQUIRED'],
      ['hidden', 'slow', 'GH_TOOL_UNKNOWN'],
    ])('refuses a tool by %s everywhere', async (_by, tool, code) => {
      const viaAggregate = await f.rpc('tools/call', { name: `up__${tool}`, arguments: {} });
      const viaSingle = await f.rpc('tools/call', { name: tool, arguments: {} }, '/mcp/up');
      expect(viaAggregate.body.error.data.code).toBe(code);
      expect(viaSingle.body.error.data.code).toBe(code);
      const viaProxy = await f.rpc('tools/call', {
        name: 'proxy_request',
        arguments: { server: 'up', tool, arguments: {} },
      });
      expect(viaProxy.body.result).toMatchObject({
        isError: true,
        _meta: { 'io.gatehouse/error-code': code },
      });
    });
  },
);
