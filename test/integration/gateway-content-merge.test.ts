import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningConformanceUpstream,
  startConformanceUpstream,
} from '../fixtures/conformance-upstream/server.js';
import { type GatewayFixture, startGatewayFixture } from '../helpers/gateway-fixture.js';

// At /mcp, Gatehouse's own prompts and resources (the notes) and an upstream's are one list each:
// the built-ins first, then the upstream's under their gatehouse:// and {server}__ names; each
// request reaches whoever owns the name. /mcp/{server} keeps serving the upstream alone.
describe('built-in prompts and resources merged with an upstream server’s at /mcp', () => {
  let upstream: RunningConformanceUpstream;
  let f: GatewayFixture;
  let noteId: string;
  beforeAll(async () => {
    upstream = await startConformanceUpstream({});
    // A loaded machine must not leave the upstream out of a list (the list wait is for slow upstreams).
    f = await startGatewayFixture(
      { fixture: { url: upstream.url } },
      { GATEHOUSE_GATEWAY_LIST_WAIT: '30000' },
    );
    const saved = await f.rpc('tools/call', { name: 'save_user_note', arguments: { note: 'merged note' } });
    noteId = saved.body.result.structuredContent.id;
  });
  afterAll(async () => {
    await f?.close();
    await upstream?.close();
  });

  it('lists the built-in prompts first, then the upstream’s', async () => {
    const names = ((await f.rpc('prompts/list')).body.result.prompts as { name: string }[]).map(
      (p) => p.name,
    );
    expect(names.slice(0, 3)).toEqual(['summarize_notes', 'review_note', 'add_numbers']);
    expect(names.slice(3)).toContain('fixture__test_simple_prompt');
    expect(names.slice(3).every((name) => name.startsWith('fixture__'))).toBe(true);
  });

  it('lists the note resources and template first, then the upstream’s', async () => {
    const resources = (await f.rpc('resources/list')).body.result.resources as { uri: string }[];
    expect(resources[0]?.uri).toBe(`note://${noteId}`);
    expect(resources.slice(1).map((r) => r.uri)).toContain('gatehouse://fixture/test://static-text');
    const templates = (await f.rpc('resources/templates/list')).body.result.resourceTemplates as {
      uriTemplate: string;
    }[];
    expect(templates.map((t) => t.uriTemplate)).toEqual([
      'note://{id}',
      'gatehouse://fixture/test://template/{id}/data',
    ]);
  });

  it('reads, gets and completes each at its owner', async () => {
    const note = await f.rpc('resources/read', { uri: `note://${noteId}` });
    expect(note.body.result.contents[0].text).toBe('merged note');
    const upstreamText = await f.rpc('resources/read', { uri: 'gatehouse://fixture/test://static-text' });
    expect(upstreamText.body.result.contents[0].uri).toBe('gatehouse://fixture/test://static-text');

    const builtIn = await f.rpc('prompts/get', { name: 'add_numbers', arguments: { numbers: '2 3' } });
    expect(builtIn.body.result.messages[0].content.text).toContain('calculate_sum');
    const relayed = await f.rpc('prompts/get', { name: 'fixture__test_simple_prompt' });
    expect(relayed.body.result.messages[0].content.text).toBe('This is a simple prompt for testing.');

    const ids = await f.rpc('completion/complete', {
      ref: { type: 'ref/resource', uri: 'note://{id}' },
      argument: { name: 'id', value: noteId.slice(0, 3) },
    });
    expect(ids.body.result.completion.values).toEqual([noteId]);
    const arg1 = await f.rpc('completion/complete', {
      ref: { type: 'ref/prompt', name: 'fixture__test_prompt_with_arguments' },
      argument: { name: 'arg1', value: 'par' },
    });
    expect(arg1.body.result.completion.values).toEqual(expect.arrayContaining(['paris', 'park', 'party']));

    const unknown = await f.rpc('prompts/get', { name: 'fixture__no_such_prompt' });
    expect(unknown.body.error).toMatchObject({ code: -32602, data: { code: 'GH_MCP_PROMPT_NOT_FOUND' } });
  });

  it('serves the upstream alone at /mcp/{server}', async () => {
    const names = (
      (await f.rpc('prompts/list', undefined, '/mcp/fixture')).body.result.prompts as {
        name: string;
      }[]
    ).map((p) => p.name);
    expect(names).toContain('test_simple_prompt');
    expect(names).not.toContain('summarize_notes');
    // There the URI is the upstream's own (no prefix), so the upstream answers it: it has no such resource.
    const note = await f.rpc('resources/read', { uri: `note://${noteId}` }, '/mcp/fixture');
    expect(note.body.error).toBeDefined();
    expect(JSON.stringify(note.body)).not.toContain('merged note');
  });
});
