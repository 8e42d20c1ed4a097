import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkce } from '../dev-entra/helpers.js';
import { type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';

// Clients registered in advance in the config file's "clients" section skip dynamic registration.
describe('pre-registered clients', () => {
  let f: OAuthFixture;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-clients-'));
    const file = path.join(dir, 'gatehouse.json');
    writeFileSync(
      file,
      JSON.stringify({
        clients: [
          {
            client_id: 'team-cli',
            client_name: 'Team CLI',
            redirect_uris: ['http://127.0.0.1:7443/callback'],
          },
        ],
      }),
    );
    f = await startOAuthFixture({ GATEHOUSE_CONFIG_FILE: file });
  });
  afterAll(() => f.close());

  it('starts an authorization for a configured client id, showing its name on the consent page', async () => {
    const { challenge } = pkce();
    const url = new URL(`${f.config.server.baseUrl}/authorize`);
    url.search = new URLSearchParams({
      client_id: 'team-cli',
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:7443/callback',
      scope: 'discover tools.execute',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: f.mcpUrl,
      state: 's',
    }).toString();
    const authorize = await fetch(url, { redirect: 'manual' });
    expect(authorize.status).toBe(303);
    const interaction = new URL(authorize.headers.get('location')!, f.config.server.baseUrl);
    expect(interaction.pathname).toMatch(/^\/interaction\//);
    const cookies = authorize.headers
      .getSetCookie()
      .map((cookie) => cookie.split(';')[0])
      .join('; ');
    const consent = await fetch(interaction, { headers: { cookie: cookies } });
    expect(consent.status).toBe(200);
    expect(await consent.text()).toContain('Allow <span class="client">Team CLI</span> to use Gatehouse?');
  });

  it('refuses an unknown client id with a local page', async () => {
    const response = await fetch(
      `${f.config.server.baseUrl}/authorize?client_id=nobody&response_type=code&redirect_uri=http://127.0.0.1:7443/callback`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });
});
