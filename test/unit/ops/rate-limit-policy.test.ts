import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { ipScopeOf, limitedMessage, rateLimitSettings } from '../../../src/ops/rate-limit-policy.js';

describe('which routes each per-IP limit guards', () => {
  it('maps the authorization server, its sign-in pages and the browser sign-in routes', () => {
    expect(ipScopeOf('/register')).toBe('register');
    expect(ipScopeOf('/register/:clientId')).toBeUndefined();
    expect(ipScopeOf('/token')).toBe('token');
    expect(ipScopeOf('/authorize')).toBe('authorize');
    expect(ipScopeOf('/authorize/:uid')).toBe('authorize');
    expect(ipScopeOf('/interaction/:uid/decision')).toBe('authorize');
    expect(ipScopeOf('/auth/login')).toBe('auth');
    expect(ipScopeOf('/mcp')).toBeUndefined();
    expect(ipScopeOf('/authorizer')).toBeUndefined();
  });

  it('says what was used up and when to come back', () => {
    expect(limitedMessage('register', { max: 20, windowMs: 3_600_000 }, 12)).toBe(
      'This address registered 20 clients within 60 minutes; try again in 12 s, or reuse the client you registered.',
    );
    expect(limitedMessage('tool:search', { max: 5, windowMs: 30_000 }, 3)).toContain(
      'you called search 5 times within 30 seconds',
    );
  });
});

describe('the limits a configuration asks for', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-limits-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (file: unknown, env: Record<string, string> = {}) => {
    const configFile = path.join(dir, `${Math.random()}.json`);
    writeFileSync(configFile, JSON.stringify(file));
    return loadConfig({ env: { GATEHOUSE_CONFIG_FILE: configFile, GATEHOUSE_DATA_DIR: dir, ...env } });
  };

  it('reads the defaults, the RATE_LIMIT_* variables and the tools\' "rateLimit"', () => {
    const config = load(
      { tools: { calculate_sum: { roles: ['user'], rateLimit: { max: 10 } } } },
      { RATE_LIMIT_TOKEN_PER_MINUTE: '0', RATE_LIMIT_LOGIN_PER_MINUTE: '7' },
    );
    expect(config.toolPolicies.calculate_sum).toEqual({
      roles: ['user'],
      scopes: [],
      rateLimit: { max: 10, windowSeconds: 60 },
    });
    expect(rateLimitSettings(config, config.toolPolicies)).toEqual({
      mcp: { max: 100, windowMs: 60_000 },
      tools: { calculate_sum: { max: 10, windowMs: 60_000 } },
      perIp: {
        register: { max: 20, windowMs: 3_600_000 },
        token: { max: 0, windowMs: 60_000 },
        authorize: { max: 120, windowMs: 60_000 },
        auth: { max: 120, windowMs: 60_000 },
        login: { max: 7, windowMs: 60_000 },
      },
    });
  });

  it('refuses a malformed "rateLimit", and one on a prompt', () => {
    expect(() => load({ tools: { whoami: { rateLimit: { max: 0 } } } })).toThrow(
      /tools\.whoami .*"rateLimit\.max" must be a whole number of calls, 1 or more/,
    );
    expect(() => load({ tools: { whoami: { rateLimit: { max: 1, per: 'hour' } } } })).toThrow(
      /"rateLimit" must be an object like \{ "max": 10, "windowSeconds": 60 \}/,
    );
    expect(() => load({ prompts: { summarize: { rateLimit: { max: 1 } } } })).toThrow(
      /prompts\.summarize .*unknown member "rateLimit"/,
    );
  });
});
