import { describe, expect, it } from 'vitest';
import { applicationTypeFor, applicationTypeProblem } from '../../../src/auth-server/application-type.js';
import { authorizationScope, registrationDefaults } from '../../../src/auth-server/mount.js';

// OpenID Connect Registration §2 application_type against the redirect URIs (RFC 8252 §7 for
// native applications), and what Gatehouse fills in when a client leaves things out.

describe('the application type a client that names none gets', () => {
  it.each([
    [['http://localhost/callback', 'http://127.0.0.1/callback'], 'native'],
    [['http://127.0.0.1:33418/', 'http://127.0.0.1/', 'https://vscode.dev/redirect'], 'native'],
    [['cursor://anysphere.cursor-mcp/oauth/callback'], 'native'],
    [['http://[::1]:8080/cb'], 'native'],
    [['https://claude.ai/api/mcp/auth_callback'], 'web'],
    [['https://chatgpt.com/connector/oauth/abc'], 'web'],
    [[], 'web'],
    [undefined, 'web'],
  ])('%j → %s', (uris, type) => {
    expect(applicationTypeFor(uris)).toBe(type);
  });
});

describe('application_type against the redirect URIs', () => {
  it.each([
    ['web', ['https://claude.ai/api/mcp/auth_callback']],
    ['web', ['https://localhost:8443/callback']],
    ['native', ['http://127.0.0.1/callback', 'https://vscode.dev/redirect']],
    ['native', ['cursor://anysphere.cursor-mcp/oauth/callback']],
    // Left to oidc-provider, which refuses an unknown type as invalid_client_metadata.
    ['desktop', ['http://127.0.0.1/callback']],
  ])('%s fits %j', (type, uris) => {
    expect(applicationTypeProblem(type, uris)).toBeUndefined();
  });

  it('refuses loopback http for a web client, saying to register as native', () => {
    expect(applicationTypeProblem('web', ['https://app.example.com/cb', 'http://127.0.0.1:6274/cb'])).toBe(
      'redirect_uri "http://127.0.0.1:6274/cb" does not fit application_type "web": a web client\'s redirect URIs must be https, and a loopback http address belongs to a native application; register it with application_type "native" (RFC 8252), or leave application_type out',
    );
  });

  it("refuses an application's own scheme for a web client", () => {
    expect(applicationTypeProblem('web', ['cursor://anysphere.cursor-mcp/oauth/callback'])).toMatch(
      /^redirect_uri "cursor:\/\/anysphere.cursor-mcp\/oauth\/callback" does not fit application_type "web": a web client's redirect URIs must be https, and an application's own URI scheme belongs to a native application/,
    );
  });

  it('refuses https on a loopback host for a native application (RFC 8252 §7.2, §7.3)', () => {
    expect(applicationTypeProblem('native', ['https://localhost:8443/callback'])).toMatch(
      /^redirect_uri "https:\/\/localhost:8443\/callback" does not fit application_type "native": a native application receives the code on loopback over plain http/,
    );
  });
});

describe('registration defaults', () => {
  it('makes a client that names no authentication method a public client', () => {
    expect(registrationDefaults({ redirect_uris: ['https://a.example/cb'] })).toEqual({
      redirect_uris: ['https://a.example/cb'],
      token_endpoint_auth_method: 'none',
    });
    expect(registrationDefaults({ token_endpoint_auth_method: 'client_secret_post' })).toEqual({
      token_endpoint_auth_method: 'client_secret_post',
    });
  });
});

describe('the scope of an authorization request', () => {
  const known = ['openid', 'offline_access', 'profile', 'discover', 'tools.read', 'tools.execute', 'chat'];
  const fallback = 'discover tools.execute';
  it.each([
    [null, fallback],
    ['', fallback],
    ['claudeai', fallback],
    ['read write', fallback],
    ['tools.read claudeai', 'tools.read'],
    ['openid tools.read', 'openid tools.read'],
    ['discover tools.execute', 'discover tools.execute'],
  ])('%j → %j', (requested, served) => {
    expect(authorizationScope(requested, known, fallback)).toBe(served);
  });
});
