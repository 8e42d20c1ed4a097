/**
 * A client's `application_type` (OpenID Connect Registration §2) against its redirect URIs, for
 * every client oidc-provider builds: registered (RFC 7591), fetched as a client ID metadata
 * document, or configured.
 *
 * - `web`: the code goes to a web server, so every redirect URI is https.
 * - `native` (RFC 8252): the code goes to an application on the user's device: a loopback http
 *   URI whose port may change from one sign-in to the next (§7.3), an app's private-use scheme such
 *   as `cursor://` (§7.1), or a claimed https URI on a real host (§7.2, never on a loopback host).
 * - Left out: MCP clients rarely send it (Claude Code's and others' metadata documents do not), so
 *   the type the redirect URIs fit is taken: native as soon as one is loopback http or an app
 *   scheme, web otherwise. Taking `web` for them, as OpenID Connect's default would, pins a loopback
 *   redirect to one port and refuses app schemes.
 *
 * The redirect URIs' own form (schemes never allowed, http only on loopback …) is checked first,
 * by redirect-policy.ts; this only says whether the form fits the type.
 */

export type ApplicationType = 'web' | 'native';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

type RedirectKind = 'https' | 'https-loopback' | 'loopback' | 'app-scheme';

function kindOf(uri: string): RedirectKind | undefined {
  const parsed = URL.parse(uri);
  if (parsed === null) return undefined;
  if (parsed.protocol === 'https:') return LOOPBACK_HOSTS.has(parsed.hostname) ? 'https-loopback' : 'https';
  if (parsed.protocol === 'http:') return LOOPBACK_HOSTS.has(parsed.hostname) ? 'loopback' : undefined;
  return 'app-scheme';
}

function stringsOf(uris: unknown): string[] {
  return Array.isArray(uris) ? uris.filter((uri): uri is string => typeof uri === 'string') : [];
}

/** The application type a client that did not name one gets from its redirect URIs. */
export function applicationTypeFor(redirectUris: unknown): ApplicationType {
  return stringsOf(redirectUris).some((uri) => {
    const kind = kindOf(uri);
    return kind === 'loopback' || kind === 'app-scheme';
  })
    ? 'native'
    : 'web';
}

/**
 * What is wrong with these redirect URIs for this application type (the description of an RFC 7591
 * `invalid_redirect_uri`, saying what to change), or undefined when they fit. Types other than web
 * and native are left to oidc-provider, which refuses them as invalid_client_metadata.
 */
export function applicationTypeProblem(type: unknown, redirectUris: unknown): string | undefined {
  for (const uri of stringsOf(redirectUris)) {
    const kind = kindOf(uri);
    const named = `redirect_uri ${JSON.stringify(uri)} does not fit application_type "${String(type)}"`;
    if (type === 'web' && (kind === 'loopback' || kind === 'app-scheme')) {
      const what = kind === 'loopback' ? 'a loopback http address' : "an application's own URI scheme";
      return `${named}: a web client's redirect URIs must be https, and ${what} belongs to a native application; register it with application_type "native" (RFC 8252), or leave application_type out`;
    }
    if (type === 'native' && kind === 'https-loopback') {
      return `${named}: a native application receives the code on loopback over plain http (http://127.0.0.1:PORT/path, RFC 8252 §7.3); an https redirect URI must name a host the application has claimed (§7.2)`;
    }
  }
  return undefined;
}
