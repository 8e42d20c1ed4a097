import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VerifiedTokenCache } from '../../src/tokens/verified-token-cache.js';
import { type AuthFixture, IDS, startAuthFixture } from '../helpers/auth-fixture.js';

// The verified-token cache is keyed by the token's SHA-256; the key of the last token seen on a
// connection is remembered with that connection, so a repeat on it skips the hash. These tests hold
// that the memory never answers for another token, and that it does spare the hash.
const whoami = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'whoami', arguments: {} },
});

interface Answer {
  status: number;
  objectId: string | undefined;
  reusedSocket: boolean;
}

/** POSTs whoami over `agent` (one keep-alive socket: every request after the first reuses it). */
function ask(url: string, agent: http.Agent | false, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => {
          const body = JSON.parse(text);
          resolve({
            status: response.statusCode ?? 0,
            objectId: body.result?.structuredContent?.objectId,
            reusedSocket: request.reusedSocket,
          });
        });
      },
    );
    request.on('error', reject);
    request.end(whoami);
  });
}

describe('token cache keys remembered per connection', () => {
  let f: AuthFixture;
  let agent: http.Agent;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    f = await startAuthFixture();
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    alice = await f.userToken('alice');
    bob = await f.userToken('bob');
  });
  afterAll(async () => {
    agent.destroy();
    await f.close();
  });

  it('answers each request on one connection as the token it carries, never as the one before', async () => {
    // Alice's token with its signature's last characters changed: same length, same prefix.
    const tampered = `${alice.slice(0, -4)}${alice.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const answers: Answer[] = [];
    for (const token of [alice, alice, bob, tampered, alice, bob])
      answers.push(await ask(f.mcpUrl, agent, token));
    expect(answers.slice(1).every((answer) => answer.reusedSocket)).toBe(true);
    expect(answers.map((answer) => [answer.status, answer.objectId])).toEqual([
      [200, IDS.alice],
      [200, IDS.alice],
      [200, IDS.bob],
      [401, undefined],
      [200, IDS.alice],
      [200, IDS.bob],
    ]);
  });

  it('hashes a repeated token once per connection, and again on each new connection', async () => {
    await ask(f.mcpUrl, agent, alice);
    const keyOf = vi.spyOn(VerifiedTokenCache, 'keyOf');
    try {
      for (let i = 0; i < 3; i++) expect((await ask(f.mcpUrl, agent, alice)).objectId).toBe(IDS.alice);
      expect(keyOf).not.toHaveBeenCalled();
      for (let i = 0; i < 3; i++) expect((await ask(f.mcpUrl, false, alice)).objectId).toBe(IDS.alice);
      expect(keyOf).toHaveBeenCalledTimes(3);
    } finally {
      keyOf.mockRestore();
    }
  });
});
