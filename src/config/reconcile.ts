import type { ApiScope, Authority } from './source-settings.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Folds AZURE_AUTHORITY and AZURE_SCOPE into the tenant, authority host and identifier URI, and
 * refuses any disagreement with the settings that name the same thing directly.
 */
export function reconcileSourceSettings(
  input: {
    tenant: string | undefined;
    clientId: string | undefined;
    identifierUri: string | undefined;
    authorityHost: string | undefined;
    authority: Authority | undefined;
    apiScopes: ApiScope[] | undefined;
    scopeNames: Readonly<Record<string, string>>;
  },
  problems: string[],
): { tenant: string | undefined; identifierUri: string | undefined; authorityHost: string } {
  let { tenant, identifierUri, authorityHost } = input;
  const { authority, apiScopes, clientId } = input;
  if (authority !== undefined) {
    if (tenant !== undefined && tenant !== authority.tenant) {
      problems.push(
        `MCP_AZURE_AUTHORITY (AZURE_AUTHORITY) names the tenant ${authority.tenant} but MCP_AZURE_TENANT_ID (AZURE_TENANT_ID) is ${tenant}: they must agree; keep one.`,
      );
    }
    if (authorityHost !== undefined && authorityHost !== authority.host) {
      problems.push(
        `MCP_AZURE_AUTHORITY (AZURE_AUTHORITY) is on ${authority.host} but MCP_AZURE_AUTHORITY_HOST is ${authorityHost}: they must agree; keep one.`,
      );
    }
    tenant ??= authority.tenant;
    authorityHost ??= authority.host;
  }
  if (apiScopes !== undefined) {
    const known = Object.values(input.scopeNames);
    for (const scope of apiScopes) {
      const full = `${scope.resource}/${scope.name}`;
      if (GUID.test(scope.resource)) {
        if (clientId !== undefined && scope.resource.toLowerCase() !== clientId) {
          problems.push(
            `MCP_AZURE_API_SCOPE (AZURE_SCOPE) '${full}' is a scope of the app ${scope.resource}, but MCP_AZURE_CLIENT_ID is ${clientId}: name a scope of the Gatehouse API app.`,
          );
        }
      } else {
        const uri = scope.resource.replace(/\/+$/, '');
        if (identifierUri !== undefined && identifierUri.replace(/\/+$/, '') !== uri) {
          problems.push(
            `MCP_AZURE_API_SCOPE (AZURE_SCOPE) '${full}' names the API ${uri}, but MCP_AZURE_IDENTIFIER_URI is ${identifierUri}: they must agree; keep one.`,
          );
        }
        identifierUri ??= uri;
      }
      if (scope.name !== '.default' && !known.includes(scope.name)) {
        problems.push(
          `MCP_AZURE_API_SCOPE (AZURE_SCOPE) '${full}' asks for the scope '${scope.name}', which Gatehouse does not check (it checks ${known.join(', ')}): use one of those or .default, or make '${scope.name}' the name of one with MCP_AZURE_SCOPES (e.g. tools.execute=${scope.name}).`,
        );
      }
    }
  }
  return {
    tenant,
    identifierUri,
    authorityHost: (authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, ''),
  };
}
