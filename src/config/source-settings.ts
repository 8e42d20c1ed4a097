import { type Parsed, tenantValue } from './variables.js';

/**
 * The settings other Entra-secured MCP servers write differently from Gatehouse, read in their
 * own shape (AZURE_AUTHORITY is a URL with the tenant in it, AZURE_SCOPE a full scope string,
 * OAUTH_SCOPES the extra delegated scopes asked for at sign-in) and turned into Gatehouse's.
 */

export interface Authority {
  /** Origin (and any path before the tenant), no trailing slash. */
  host: string;
  tenant: string;
}

/** `https://login.microsoftonline.com/{tenant}[/v2.0]`, or the emulator's `http://127.0.0.1:8001/{tenant}`. */
export function authorityValue(raw: string): Parsed<Authority> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return {
      ok: false,
      problem: `'${raw}' is not a URL: set e.g. https://login.microsoftonline.com/{tenant-id}`,
    };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return {
      ok: false,
      problem: `'${raw}' has protocol ${url.protocol}: use https: (or http: for the emulator)`,
    };
  if (url.search !== '' || url.hash !== '')
    return { ok: false, problem: `'${raw}' has a query or fragment: give the authority only` };
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments.at(-1)?.toLowerCase() === 'v2.0') segments.pop();
  const tenantSegment = segments.pop();
  if (tenantSegment === undefined) {
    return {
      ok: false,
      problem: `'${raw}' names no tenant: write the authority with the Directory (tenant) ID, e.g. ${url.origin}/{tenant-id}`,
    };
  }
  const tenant = tenantValue(tenantSegment);
  if (!tenant.ok) {
    return {
      ok: false,
      problem: `the tenant '${tenantSegment}' in '${raw}' is not a tenant ID: use the Directory (tenant) GUID (or common / organizations with MCP_AZURE_ALLOWED_TENANTS), not a domain name`,
    };
  }
  const prefix = segments.length === 0 ? '' : `/${segments.join('/')}`;
  return { ok: true, value: { host: `${url.origin}${prefix}`, tenant: tenant.value } };
}

export interface ApiScope {
  /** What names the API: its identifier URI (api://…) or client id (GUID). */
  resource: string;
  /** The scope's name on it, or '.default'. */
  name: string;
}

/** AZURE_SCOPE: one or more full scope strings of the API, e.g. api://{client-id}/tools.execute or {client-id}/.default. */
export function apiScopesValue(raw: string): Parsed<ApiScope[]> {
  const items = raw.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0) return { ok: false, problem: 'the list is empty: unset it or give a scope' };
  const scopes: ApiScope[] = [];
  for (const item of items) {
    const slash = item.lastIndexOf('/');
    if (slash <= 0 || slash === item.length - 1 || item.endsWith('://')) {
      return {
        ok: false,
        problem: `'${item}' is not a full scope of the API: write it as api://{client-id}/{scope} (or {client-id}/.default)`,
      };
    }
    scopes.push({ resource: item.slice(0, slash), name: item.slice(slash + 1) });
  }
  return { ok: true, value: scopes };
}

/** OAUTH_SCOPES: extra delegated scopes asked for at sign-in (User.Read, email, https://graph.microsoft.com/Mail.Read). */
export function signInScopesValue(raw: string): Parsed<string[]> {
  const items = raw.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0) return { ok: false, problem: 'the list is empty: unset it or give a scope' };
  for (const item of items) {
    if (item.includes('=')) {
      return {
        ok: false,
        problem: `'${item}' is a rename of Gatehouse's scopes: OAUTH_SCOPES lists extra delegated scopes to ask for at sign-in (e.g. User.Read email); set renames in MCP_AZURE_SCOPES`,
      };
    }
    if (!/^[\w.:/-]+$/.test(item)) return { ok: false, problem: `'${item}' is not a scope name` };
  }
  return { ok: true, value: [...new Set(items)] };
}
