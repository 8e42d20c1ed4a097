/**
 * Which redirect URIs a client may register (DCR, client ID metadata documents, stored clients).
 * oidc-provider then matches the redirect_uri of each authorization request exactly against the
 * registered ones (loopback ports may vary for native clients, RFC 8252 §7.3). These rules come on
 * top of oidc-provider's own:
 *
 * - never javascript:, data:, file:, vbscript:, blob:, about: or filesystem: (they run code or read
 *   local files in the browser instead of delivering the code to an application);
 * - no user information (user:pass@), no dot-segments (/./, /../, also percent-encoded), no fragment
 *   (RFC 6749 §3.1.2), no spaces, control characters or backslashes (parser differentials);
 * - http only to a loopback host (127.0.0.1, [::1], localhost: RFC 8252 §7.3); https anywhere; other
 *   schemes are private-use schemes of native apps (cursor://, vscode://: RFC 8252 §7.1);
 * - when an allow-list is configured (MCP_AZURE_REDIRECT_URIS), the URI must match one pattern, where
 *   `*` stands for a port (any, or none) or for the leftmost label of a host name.
 */

export type RedirectVerdict = { ok: true } | { ok: false; reason: string };

/** A compiled allow-list pattern. */
export interface RedirectPattern {
  readonly source: string;
  /** Matches the lower-cased `scheme://authority` part (or the scheme alone for URIs without one). */
  readonly head: RegExp;
  /** Everything after the authority: path and query, compared exactly. */
  readonly tail: string;
}

const FORBIDDEN_SCHEMES = new Set(['javascript', 'data', 'file', 'vbscript', 'blob', 'about', 'filesystem']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
const DNS_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';

interface RawParts {
  scheme: string;
  /** The authority as written, or undefined when the URI has none (`com.example.app:/cb`). */
  authority: string | undefined;
  /** Path and query as written. */
  tail: string;
}

function splitRaw(uri: string): RawParts | undefined {
  const scheme = SCHEME.exec(uri)?.[1];
  if (scheme === undefined) return undefined;
  const rest = uri.slice(scheme.length + 1);
  if (!rest.startsWith('//')) return { scheme: scheme.toLowerCase(), authority: undefined, tail: rest };
  const afterSlashes = rest.slice(2);
  const end = afterSlashes.search(/[/?#]/);
  const authority = end === -1 ? afterSlashes : afterSlashes.slice(0, end);
  const tail = end === -1 ? '' : afterSlashes.slice(end);
  return { scheme: scheme.toLowerCase(), authority, tail };
}

function hasDotSegment(tail: string): boolean {
  const path = tail.split(/[?#]/)[0] ?? '';
  // %2f and %5c count as slashes here: servers that decode them would see a traversal.
  const decoded = path.replace(/%2e/gi, '.').replace(/%2f|%5c/gi, '/');
  return decoded.split('/').some((segment) => segment === '.' || segment === '..');
}

/** The problem with a redirect URI's form, whatever the allow-list says; undefined when it is fine. */
function formProblem(uri: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u0020\u007f\\]/.test(uri)) return 'it contains spaces, control characters or a backslash';
  const raw = splitRaw(uri);
  if (raw === undefined) return 'it is not an absolute URI';
  if (FORBIDDEN_SCHEMES.has(raw.scheme))
    return `the ${raw.scheme}: scheme is never allowed (it would run in the browser instead of reaching the application)`;
  if (uri.includes('#')) return 'it has a fragment, which redirect URIs must not have (RFC 6749 §3.1.2)';
  if (raw.authority?.includes('@')) return 'it carries user information (user:password@) before the host';
  if (hasDotSegment(raw.tail)) return 'its path has dot-segments (/./ or /../, also percent-encoded)';
  const parsed = URL.parse(uri);
  if (parsed === null) return 'it is not a valid URI';
  if (raw.scheme === 'http' || raw.scheme === 'https') {
    if (!raw.authority || parsed.hostname === '') return 'it has no host';
    if (raw.scheme === 'http' && !LOOPBACK_HOSTS.has(parsed.hostname))
      return 'plain http is only allowed to a loopback address (127.0.0.1, [::1] or localhost): use https';
  }
  return undefined;
}

/**
 * Compiles one MCP_AZURE_REDIRECT_URIS pattern such as `http://localhost:*\/callback` or
 * `https://*.example.com/oauth/callback`; a string says what is wrong with it.
 */
export function compileRedirectPattern(source: string): RedirectPattern | string {
  const raw = splitRaw(source);
  if (raw === undefined) return `'${source}' is not an absolute URI such as https://app.example.com/callback`;
  if (raw.scheme.includes('*') || raw.tail.includes('*'))
    return `'${source}' has a * outside the host or port: * may only stand for a port or the leftmost host label`;
  let head: string;
  let sample = source;
  if (raw.authority === undefined) {
    head = escapeRegExp(raw.scheme);
  } else {
    const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}|\*))?$/.exec(raw.authority.toLowerCase());
    if (match === null) return `'${source}' has a malformed host or port`;
    const [, host = '', port] = match;
    const labels = host.split('.');
    if (labels.slice(1).includes('*') || (labels[0] !== '*' && host.includes('*')))
      return `'${source}': * may only be a whole host label, and only the leftmost one (e.g. https://*.example.com/callback)`;
    if (labels[0] === '*' && labels.length < 3)
      return `'${source}': a wildcard host needs at least two fixed labels after it (e.g. *.example.com)`;
    const hostRegex = labels.map((label) => (label === '*' ? DNS_LABEL : escapeRegExp(label))).join('\\.');
    const portRegex = port === undefined ? '' : port === '*' ? '(?::\\d{1,5})?' : `:${port}`;
    head = `${escapeRegExp(raw.scheme)}://${hostRegex}${portRegex}`;
    // The pattern's own form is checked like a redirect URI, with its wildcards filled in.
    sample = `${raw.scheme}://${host.replace('*', 'x')}${port === undefined ? '' : `:${port === '*' ? '1' : port}`}${raw.tail}`;
  }
  const problem = formProblem(sample);
  if (problem !== undefined) return `'${source}' is not an acceptable redirect URI: ${problem}`;
  return { source, head: new RegExp(`^${head}$`), tail: raw.tail };
}

/** Whether a redirect URI (already found well-formed) matches an allow-list pattern. */
export function matchesRedirectPattern(uri: string, pattern: RedirectPattern): boolean {
  const raw = splitRaw(uri);
  if (raw === undefined) return false;
  const head = raw.authority === undefined ? raw.scheme : `${raw.scheme}://${raw.authority.toLowerCase()}`;
  return pattern.head.test(head) && raw.tail === pattern.tail;
}

/** Checks one redirect URI against the rules above and, when given, the allow-list. */
export function checkRedirectUri(uri: string, allowList?: readonly RedirectPattern[]): RedirectVerdict {
  const problem = formProblem(uri);
  if (problem !== undefined) return { ok: false, reason: problem };
  if (allowList !== undefined && allowList.length > 0) {
    if (!allowList.some((pattern) => matchesRedirectPattern(uri, pattern)))
      return {
        ok: false,
        reason: `it matches none of the allowed patterns (MCP_AZURE_REDIRECT_URIS: ${allowList.map((p) => p.source).join(', ')})`,
      };
  }
  return { ok: true };
}

/**
 * The error description for the first unacceptable URI in a client's redirect_uris, or undefined
 * when all are acceptable. Values that are not strings are left to oidc-provider's own validation.
 */
export function redirectUrisProblem(
  uris: unknown,
  allowList?: readonly RedirectPattern[],
): string | undefined {
  if (!Array.isArray(uris)) return undefined;
  for (const uri of uris) {
    if (typeof uri !== 'string') continue;
    const verdict = checkRedirectUri(uri, allowList);
    if (!verdict.ok) return `redirect_uri ${JSON.stringify(uri)} is not allowed: ${verdict.reason}`;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
