import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { GatehouseError } from '../../src/errors/index.js';

const TENANT = 'aad59afb-4251-4c23-8403-b51da0a099c5';
const OTHER_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '829cba28-25a8-434b-aad5-d7be2331ceba';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return (error as GatehouseError).message;
  }
  throw new Error('expected loadConfig to fail');
}

describe('the settings as other Entra-secured MCP servers write them', () => {
  it('AZURE_AUTHORITY gives the authority host and the tenant (public cloud, /v2.0, the emulator)', () => {
    const entra = (authority: string) =>
      loadConfig({ env: { AZURE_AUTHORITY: authority, AZURE_CLIENT_ID: CLIENT } }).auth.entra;
    expect(entra(`https://login.microsoftonline.com/${TENANT}`)).toMatchObject({
      authorityHost: 'https://login.microsoftonline.com',
      tenant: TENANT,
    });
    expect(entra(`https://login.microsoftonline.us/${TENANT.toUpperCase()}/v2.0/`)).toMatchObject({
      authorityHost: 'https://login.microsoftonline.us',
      tenant: TENANT,
    });
    expect(entra(`http://127.0.0.1:8001/${TENANT}`)).toMatchObject({
      authorityHost: 'http://127.0.0.1:8001',
      tenant: TENANT,
    });
    // Saying the same thing twice is fine.
    expect(
      loadConfig({
        env: {
          AZURE_AUTHORITY: `https://login.microsoftonline.com/${TENANT}`,
          AZURE_TENANT_ID: TENANT,
          MCP_AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
          AZURE_CLIENT_ID: CLIENT,
        },
      }).auth.entra?.tenant,
    ).toBe(TENANT);
  });

  it('AZURE_AUTHORITY that contradicts AZURE_TENANT_ID or MCP_AZURE_AUTHORITY_HOST, or names no tenant, stops the start', () => {
    expect(
      problemsOf({
        AZURE_AUTHORITY: `https://login.microsoftonline.com/${TENANT}`,
        AZURE_TENANT_ID: OTHER_TENANT,
        AZURE_CLIENT_ID: CLIENT,
      }),
    ).toContain(
      `MCP_AZURE_AUTHORITY (AZURE_AUTHORITY) names the tenant ${TENANT} but MCP_AZURE_TENANT_ID (AZURE_TENANT_ID) is ${OTHER_TENANT}`,
    );
    expect(
      problemsOf({
        AZURE_AUTHORITY: `http://127.0.0.1:8001/${TENANT}`,
        MCP_AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com',
        AZURE_CLIENT_ID: CLIENT,
      }),
    ).toContain(
      'is on http://127.0.0.1:8001 but MCP_AZURE_AUTHORITY_HOST is https://login.microsoftonline.com',
    );
    expect(
      problemsOf({ AZURE_AUTHORITY: 'https://login.microsoftonline.com', AZURE_CLIENT_ID: CLIENT }),
    ).toContain(
      "AZURE_AUTHORITY (alias of MCP_AZURE_AUTHORITY): 'https://login.microsoftonline.com' names no tenant",
    );
    expect(
      problemsOf({
        AZURE_AUTHORITY: 'https://login.microsoftonline.com/contoso.onmicrosoft.com',
        AZURE_CLIENT_ID: CLIENT,
      }),
    ).toContain('not a domain name');
  });

  it('AZURE_SCOPE gives the identifier URI and must name scopes Gatehouse checks, of its own API', () => {
    const app = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT };
    expect(
      loadConfig({ env: { ...app, AZURE_SCOPE: 'api://gatehouse.contoso.com/tools.execute' } }).auth.entra,
    ).toMatchObject({ identifierUri: 'api://gatehouse.contoso.com' });
    expect(loadConfig({ env: { ...app, AZURE_SCOPE: `${CLIENT}/.default` } }).auth.entra?.identifierUri).toBe(
      `api://${CLIENT}`,
    );
    expect(
      loadConfig({
        env: {
          ...app,
          AZURE_SCOPE: `api://${CLIENT}/access_as_user`,
          MCP_AZURE_SCOPES: 'tools.execute=access_as_user',
        },
      }).auth.scopeNames.toolsExecute,
    ).toBe('access_as_user');
    expect(problemsOf({ ...app, AZURE_SCOPE: `api://${CLIENT}/access_as_user` })).toContain(
      "asks for the scope 'access_as_user', which Gatehouse does not check",
    );
    expect(
      problemsOf({
        ...app,
        AZURE_SCOPE: `api://${CLIENT}/tools.execute`,
        MCP_AZURE_IDENTIFIER_URI: 'api://other',
      }),
    ).toContain(`names the API api://${CLIENT}, but MCP_AZURE_IDENTIFIER_URI is api://other`);
    expect(problemsOf({ ...app, AZURE_SCOPE: `${OTHER_TENANT}/.default` })).toContain(
      `is a scope of the app ${OTHER_TENANT}, but MCP_AZURE_CLIENT_ID is ${CLIENT}`,
    );
    expect(problemsOf({ ...app, AZURE_SCOPE: 'tools.execute' })).toContain(
      "'tools.execute' is not a full scope",
    );
  });

  it('OAUTH_SCOPES lists extra delegated scopes asked for at sign-in, and refuses the old rename meaning', () => {
    const app = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_SECRET: 'secret' };
    const config = loadConfig({ env: { ...app, OAUTH_SCOPES: 'User.Read profile openid email' } });
    expect(config.auth.signInScopes).toEqual(['User.Read', 'profile', 'openid', 'email']);
    // The API's own scope names are unchanged by it.
    expect(config.auth.scopeNames).toEqual({
      discover: 'discover',
      toolsRead: 'tools.read',
      toolsExecute: 'tools.execute',
      chat: 'chat',
    });
    expect(problemsOf({ ...app, OAUTH_SCOPES: 'tools.execute=mcp.call' })).toContain(
      'set renames in MCP_AZURE_SCOPES',
    );
    expect(
      problemsOf({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, OAUTH_SCOPES: 'User.Read' }),
    ).toContain(
      'MCP_AZURE_SIGN_IN_SCOPES (OAUTH_SCOPES) is set, but users sign in through Gatehouse only when it has an Entra credential',
    );
  });

  it('TOKEN_EXPIRY_SECONDS is the lifetime of the access tokens Gatehouse issues', () => {
    expect(loadConfig({ env: { TOKEN_EXPIRY_SECONDS: '3600' } }).auth.accessTokenTtlSeconds).toBe(3600);
    expect(problemsOf({ TOKEN_EXPIRY_SECONDS: '999999' })).toContain(
      'TOKEN_EXPIRY_SECONDS (alias of GATEHOUSE_ACCESS_TOKEN_TTL): 999999 is out of range',
    );
    expect(problemsOf({ TOKEN_EXPIRY_SECONDS: '3600', GATEHOUSE_ACCESS_TOKEN_TTL: '900' })).toContain(
      'GATEHOUSE_ACCESS_TOKEN_TTL and TOKEN_EXPIRY_SECONDS are both set, to different values',
    );
  });
});
