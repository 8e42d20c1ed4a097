import { describe, expect, it } from 'vitest';
import {
  checkRedirectUri,
  compileRedirectPattern,
  type RedirectPattern,
  redirectUrisProblem,
} from '../../../src/auth-server/redirect-policy.js';
import { loadConfig } from '../../../src/config/index.js';

function patterns(...sources: string[]): RedirectPattern[] {
  return sources.map((source) => {
    const pattern = compileRedirectPattern(source);
    if (typeof pattern === 'string') throw new Error(pattern);
    return pattern;
  });
}

const reason = (uri: string, allowList?: RedirectPattern[]) => {
  const verdict = checkRedirectUri(uri, allowList);
  return verdict.ok ? undefined : verdict.reason;
};

describe('redirect URIs without an allow-list', () => {
  it.each([
    'https://app.example.com/oauth/callback',
    'https://claude.ai/api/mcp/auth_callback',
    'http://127.0.0.1:33418/callback',
    'http://127.0.0.1/callback',
    'http://localhost:6274/oauth/callback',
    'http://[::1]:8080/cb',
    'cursor://anysphere.cursor-retrieval/oauth/user-gatehouse/callback',
    'vscode://vscode.github-authentication/did-authenticate',
    'com.example.app:/oauth2redirect',
    'https://app.example.com/cb?tenant=a',
  ])('accepts %s', (uri) => {
    expect(checkRedirectUri(uri)).toEqual({ ok: true });
  });

  it.each([
    ['javascript:alert(document.cookie)', /javascript: scheme is never allowed/],
    ['JavaScript://%0aalert(1)', /javascript: scheme is never allowed/],
    ['data:text/html,<script>alert(1)</script>', /spaces|data: scheme/],
    ['data:text/html;base64,PHNjcmlwdD4=', /data: scheme is never allowed/],
    ['file:///etc/passwd', /file: scheme is never allowed/],
    ['vbscript:msgbox(1)', /vbscript: scheme is never allowed/],
    ['blob:https://app.example.com/uuid', /blob: scheme/],
    ['about:blank', /about: scheme/],
    ['https://user:pass@app.example.com/cb', /user information/],
    ['https://evil.example@app.example.com/cb', /user information/],
    ['http://user@127.0.0.1:8080/cb', /user information/],
    ['https://app.example.com/./cb', /dot-segments/],
    ['https://app.example.com/a/../cb', /dot-segments/],
    ['https://app.example.com/a/%2e%2e/cb', /dot-segments/],
    ['https://app.example.com/a/%2E./cb', /dot-segments/],
    ['https://app.example.com/a/..%2fcb', /dot-segments/],
    ['https://app.example.com/cb/..', /dot-segments/],
    ['https://app.example.com/cb#frag', /fragment/],
    ['https://app.example.com/cb#', /fragment/],
    ['http://app.example.com/cb', /plain http is only allowed to a loopback address/],
    ['http://127.0.0.1.nip.io/cb', /plain http is only allowed to a loopback address/],
    ['http://10.0.0.5:8080/cb', /plain http/],
    ['https://app.example.com\\@evil.example/cb', /backslash/],
    ['https://app.example.com/c b', /spaces/],
    ['https://app.example.com/cb\n', /control characters/],
    ['/relative/callback', /not an absolute URI/],
    ['https:///cb', /no host|not a valid URI/],
  ])('refuses %s', (uri, why) => {
    expect(reason(uri)).toMatch(why);
  });
});

describe('MCP_AZURE_REDIRECT_URIS patterns', () => {
  const allow = patterns(
    'http://localhost:*/callback',
    'https://*.example.com/oauth/callback',
    'cursor://anysphere.cursor-retrieval/oauth/callback',
    'https://claude.ai/api/mcp/auth_callback',
  );

  it.each([
    'http://localhost:33418/callback',
    'http://localhost/callback',
    'http://LOCALHOST:1/callback',
    'https://app.example.com/oauth/callback',
    'https://APP.Example.com/oauth/callback',
    'cursor://anysphere.cursor-retrieval/oauth/callback',
    'https://claude.ai/api/mcp/auth_callback',
  ])('accepts %s', (uri) => {
    expect(checkRedirectUri(uri, allow)).toEqual({ ok: true });
  });

  it.each([
    'http://127.0.0.1:33418/callback', // another loopback host than the pattern's
    'http://localhost:33418/callback/extra',
    'http://localhost:33418/Callback', // paths compare case-sensitively
    'http://localhost:33418/callback?x=1',
    'https://example.com/oauth/callback', // * is one label, not zero
    'https://a.b.example.com/oauth/callback', // nor two
    'https://app.example.com.evil.test/oauth/callback',
    'https://app-example.com/oauth/callback',
    'https://app.example.com:8443/oauth/callback',
    'https://claude.ai/api/mcp/auth_callback2',
    'vscode://vscode.github-authentication/did-authenticate',
  ])('refuses %s', (uri) => {
    expect(reason(uri, allow)).toMatch(/matches none of the allowed patterns \(MCP_AZURE_REDIRECT_URIS/);
  });

  it('still refuses forbidden forms that a pattern would match', () => {
    const loose = patterns('https://*.example.com/cb');
    expect(reason('https://u:p@app.example.com/cb', loose)).toMatch(/user information/);
    expect(reason('https://app.example.com/cb#x', loose)).toMatch(/fragment/);
    expect(reason('http://app.example.com/cb', loose)).toMatch(/plain http/);
  });

  it.each([
    ['https://*/cb', /at least two fixed labels/],
    ['https://*.com/cb', /at least two fixed labels/],
    ['https://app*.example.com/cb', /whole host label/],
    ['https://app.*.example.com/cb', /whole host label/],
    ['https://app.example.com/*', /outside the host or port/],
    ['http*://app.example.com/cb', /not an absolute URI|outside the host or port/],
    ['javascript:*', /outside the host or port|javascript/],
    ['http://example.com:*/cb', /plain http is only allowed to a loopback/],
    ['https://app.example.com/cb#*', /outside the host or port|fragment/],
    ['https://u@*.example.com/cb', /malformed|user information|whole host label/],
    ['https://app.example.com:x/cb', /malformed host or port/],
    ['not a url', /not an absolute URI/],
  ])('refuses the pattern %s', (source, why) => {
    const compiled = compileRedirectPattern(source);
    expect(typeof compiled).toBe('string');
    expect(compiled).toMatch(why);
  });

  it('names the first bad URI of a registration', () => {
    expect(redirectUrisProblem(['http://localhost:1/callback', 'https://evil.test/cb'], allow)).toBe(
      'redirect_uri "https://evil.test/cb" is not allowed: it matches none of the allowed patterns (MCP_AZURE_REDIRECT_URIS: http://localhost:*/callback, https://*.example.com/oauth/callback, cursor://anysphere.cursor-retrieval/oauth/callback, https://claude.ai/api/mcp/auth_callback)',
    );
    expect(redirectUrisProblem(['http://localhost:1/callback'], allow)).toBeUndefined();
    // Not an array of strings: oidc-provider's own validation answers it.
    expect(redirectUrisProblem('javascript:alert(1)')).toBeUndefined();
    expect(redirectUrisProblem([42, 'https://ok.example/cb'])).toBeUndefined();
  });
});

describe('MCP_AZURE_REDIRECT_URIS in the configuration', () => {
  const base = { MCP_ENABLE_AUTH: 'false' };

  it('is unset by default and read as a list', () => {
    expect(loadConfig({ env: base }).auth.redirectUriPatterns).toBeUndefined();
    expect(
      loadConfig({
        env: { ...base, MCP_AZURE_REDIRECT_URIS: 'http://localhost:*/callback, https://*.example.com/cb' },
      }).auth.redirectUriPatterns,
    ).toEqual(['http://localhost:*/callback', 'https://*.example.com/cb']);
  });

  it('refuses a pattern that could never be a safe redirect URI, naming the variable', () => {
    expect(() =>
      loadConfig({
        env: { ...base, MCP_AZURE_REDIRECT_URIS: 'http://localhost:*/callback,http://*.example.com/cb' },
      }),
    ).toThrow(
      /MCP_AZURE_REDIRECT_URIS: 'http:\/\/\*\.example\.com\/cb' is not an acceptable redirect URI: plain http/,
    );
  });
});
