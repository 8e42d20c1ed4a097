import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AADSTS } from '../../dev-entra/errors/catalogue.js';
import { type DevEntra, startDevEntra } from '../../dev-entra/index.js';
import { API_REDIRECT, IDS, signIn } from './helpers.js';

let entra: DevEntra;
beforeAll(async () => {
  entra = await startDevEntra({ port: 0 });
});
afterAll(() => entra.close());

describe('startup, admin switches, logout, docs', () => {
  it.each(['0.0.0.0', '192.168.1.10', '::'])('refuses to bind the non-loopback host %s', async (host) => {
    await expect(startDevEntra({ port: 0, host })).rejects.toThrow(/loopback only/);
  });

  it('loads a seed from a file path', async () => {
    const seed = JSON.parse(readFileSync(new URL('../../dev-entra/seed.json', import.meta.url), 'utf8')) as {
      tenant: { displayName: string };
    };
    seed.tenant.displayName = 'Custom Seed Tenant';
    const file = join(tmpdir(), `dev-entra-seed-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(seed));
    const custom = await startDevEntra({ port: 0, seed: file });
    try {
      expect(custom.seed.tenant.displayName).toBe('Custom Seed Tenant');
      expect(await (await fetch(`${custom.url}/`)).text()).toContain('Development only');
    } finally {
      await custom.close();
    }
  });

  it('changes switches and rotates keys over the loopback admin endpoint', async () => {
    const r = await fetch(`${entra.url}/_dev-entra/switches`, {
      method: 'POST',
      body: JSON.stringify({ groupsOverageLimit: 5 }),
    });
    expect(((await r.json()) as { groupsOverageLimit: number }).groupsOverageLimit).toBe(5);
    expect(entra.switches.groupsOverageLimit).toBe(5);
    const bad = await fetch(`${entra.url}/_dev-entra/switches`, {
      method: 'POST',
      body: JSON.stringify({ resourceParameter: 'sometimes' }),
    });
    expect(bad.status).toBe(400);
    const rotated = (await (
      await fetch(`${entra.url}/_dev-entra/rotate-keys`, { method: 'POST' })
    ).json()) as { activeKid: string; publishedKids: string[] };
    expect(rotated.publishedKids).toContain(rotated.activeKid);
    expect(rotated.publishedKids.length).toBe(3);
    entra.setSwitches({ groupsOverageLimit: 200 });
  });

  it('logout ends the session and returns only to a registered post_logout_redirect_uri', async () => {
    const authorize = `${entra.authority('v1')}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: IDS.api, response_type: 'code', redirect_uri: API_REDIRECT, scope: 'openid' })}`;
    const { cookie } = await signIn(authorize, 'alice');
    const sso = await fetch(`${authorize}&prompt=none`, { redirect: 'manual', headers: { cookie: cookie! } });
    expect(new URL(sso.headers.get('location')!).searchParams.get('code')).toBeTruthy();

    const logout = await fetch(
      `${entra.authority('v1')}/oauth2/v2.0/logout?${new URLSearchParams({ client_id: IDS.api, post_logout_redirect_uri: API_REDIRECT, state: 'bye' })}`,
      { redirect: 'manual', headers: { cookie: cookie! } },
    );
    expect(logout.status).toBe(302);
    expect(new URL(logout.headers.get('location')!).searchParams.get('state')).toBe('bye');
    const after = await fetch(`${authorize}&prompt=none`, {
      redirect: 'manual',
      headers: { cookie: cookie! },
    });
    expect(new URL(after.headers.get('location')!).searchParams.get('error')).toBe('login_required');

    const elsewhere = await fetch(
      `${entra.authority('v1')}/oauth2/v2.0/logout?${new URLSearchParams({ client_id: IDS.api, post_logout_redirect_uri: 'https://evil.example/' })}`,
      { redirect: 'manual' },
    );
    expect(elsewhere.status).toBe(200);
  });

  it('docs/dev-entra.md lists every AADSTS code the emulator can produce', () => {
    const docs = readFileSync(new URL('../../docs/dev-entra.md', import.meta.url), 'utf8');
    for (const [code, entry] of Object.entries(AADSTS)) {
      const row = docs.split('\n').find((l) => l.startsWith(`| ${code} |`));
      expect(row, `docs row for ${code}`).toBeTruthy();
      if (!row!.includes('(page)')) expect(row).toContain(entry.error);
    }
  });
});
