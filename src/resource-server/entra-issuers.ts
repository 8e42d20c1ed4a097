import type { EntraSettings } from '../config/config.js';
import { GatehouseError } from '../errors/index.js';

export interface IssuerTemplates {
  v1: string;
  v2: string;
}

const MICROSOFT_HOSTS = new Set([
  'https://login.microsoftonline.com',
  'https://login.microsoftonline.us',
  'https://login.partner.microsoftonline.cn',
]);

/**
 * The v1 and v2 issuers of the configured authority, with {tenantid} where the tenant goes. The
 * public Microsoft clouds have well-known forms; any other authority (Entra External ID, the
 * development emulator) is asked through its OpenID discovery documents, once.
 */
export function issuerResolver(
  settings: EntraSettings,
  fetchImpl: typeof fetch = fetch,
): () => Promise<IssuerTemplates> {
  if (MICROSOFT_HOSTS.has(settings.authorityHost)) {
    const templates = {
      v1:
        settings.authorityHost === 'https://login.microsoftonline.com'
          ? 'https://sts.windows.net/{tenantid}/'
          : `${settings.authorityHost}/{tenantid}/`,
      v2: settings.issuerTemplate ?? `${settings.authorityHost}/{tenantid}/v2.0`,
    };
    return async () => templates;
  }
  let resolved: Promise<IssuerTemplates> | undefined;
  return () => {
    resolved ??= discover(settings, fetchImpl).catch((error: unknown) => {
      resolved = undefined;
      throw error;
    });
    return resolved;
  };
}

async function discover(settings: EntraSettings, fetchImpl: typeof fetch): Promise<IssuerTemplates> {
  const [v2, v1] = await Promise.all([
    issuerOf(`${settings.authorityHost}/${settings.tenant}/v2.0/.well-known/openid-configuration`, fetchImpl),
    issuerOf(`${settings.authorityHost}/${settings.tenant}/.well-known/openid-configuration`, fetchImpl),
  ]);
  const template = (issuer: string) =>
    settings.tenant.includes('-') ? issuer.replace(settings.tenant, '{tenantid}') : issuer;
  return { v1: template(v1), v2: settings.issuerTemplate ?? template(v2) };
}

async function issuerOf(url: string, fetchImpl: typeof fetch): Promise<string> {
  try {
    const response = await fetchImpl(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const issuer = ((await response.json()) as { issuer?: unknown }).issuer;
    if (typeof issuer !== 'string') throw new Error('no issuer in the document');
    return issuer;
  } catch (error) {
    throw new GatehouseError(
      'GH_AUTH_KEYS_UNAVAILABLE',
      `the authority's discovery document ${url} could not be read (${(error as Error).message}); retry shortly (operators: check MCP_AZURE_AUTHORITY_HOST)`,
      { cause: error },
    );
  }
}
