import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningConformanceUpstream,
  startConformanceUpstream,
} from '../fixtures/conformance-upstream/server.js';
import { createTestApp, MCP_HEADERS, type TestApp } from '../helpers/test-app.js';

// A request an upstream makes of the client (sampling) travels on the caller's own answer stream,
// and only that caller can answer it: another user who learns the request id cannot put words in
// the first user's mouth (MCP security best practices, "Session Hijacking"; the request id is no
// credential). A call that needs no relay stays plain JSON.
describe('relayed requests: only the caller answers them', () => {
  let upstream: RunningConformanceUpstream;
  let t: TestApp;
  let base: string;
  let configDir: string;

  beforeAll(async () => {
    upstream = await startConformanceUpstream({});
    configDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-relay-'));
    const configFile = path.join(configDir, 'gatehouse.json');
    writeFileSync(configFile, JSON.stringify({ mcpServers: { fixture: { url: upstream.url } } }));
    t = await createTestApp({ GATEHOUSE_CONFIG_FILE: configFile }, { multiUser: true });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  async function post(user: string, body: unknown, session?: string) {
    return fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'x-test-user': user, ...(session ? { 'mcp-session-id': session } : {}) },
      body: JSON.stringify(body),
    });
  }

  async function sessionOf(user: string): Promise<string> {
    const response = await post(user, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: { sampling: {} },
        clientInfo: { name: user, version: '1' },
      },
    });
    return response.headers.get('mcp-session-id') ?? '';
  }

  it('a forwarded call that needs nothing from the client is answered as JSON', async () => {
    const alice = await sessionOf('alice');
    const response = await post(
      'alice',
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'fixture__test_simple_text', arguments: {} },
      },
      alice,
    );
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(((await response.json()) as any).result.content[0].text).toBe(
      'This is a simple text response for testing.',
    );
  });

  it("refuses another user's answer and takes the caller's", async () => {
    const alice = await sessionOf('alice');
    const call = await post(
      'alice',
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'fixture__test_sampling', arguments: { prompt: 'hi' } },
      },
      alice,
    );
    expect(call.headers.get('content-type')).toContain('text/event-stream');
    const reader = call.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const nextMessage = async (): Promise<any> => {
      for (;;) {
        const event = /data: (.*)\n\n/.exec(buffer);
        if (event) {
          buffer = buffer.slice(event.index + event[0].length);
          return JSON.parse(event[1]!);
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += value;
      }
    };
    const asked = await nextMessage();
    expect(asked).toMatchObject({ method: 'sampling/createMessage', params: { maxTokens: 100 } });

    const forged = {
      jsonrpc: '2.0',
      id: asked.id,
      result: { role: 'assistant', content: { type: 'text', text: 'forged' }, model: 'x' },
    };
    // Another user, with her own session and without one: accepted as a message (202), never as the answer.
    expect((await post('mallory', forged, await sessionOf('mallory'))).status).toBe(202);
    expect((await post('mallory', forged)).status).toBe(202);
    // Nor can she use alice's session.
    expect((await post('mallory', forged, alice)).status).toBe(404);

    const genuine = {
      ...forged,
      result: { ...forged.result, content: { type: 'text', text: 'from alice' } },
    };
    expect((await post('alice', genuine, alice)).status).toBe(202);
    const answer = await nextMessage();
    expect(answer).toMatchObject({
      id: 7,
      result: { content: [{ type: 'text', text: 'LLM response: from alice' }] },
    });
  });
});
