import type { ServerResponse } from 'node:http';
import type { EmulatorContext, ProtocolVersion } from '../context.js';
import type { TenantSegmentKind } from '../directory/directory.js';
import { sendJson } from '../lib/http.js';

const TENANT_TEMPLATE = '{tenantid}';

/**
 * OpenID configuration, shaped like Entra's: no `registration_endpoint`, no
 * `code_challenge_methods_supported`, and the literal `{tenantid}` issuer for common/organizations.
 */
export function discoveryDocument(
  ctx: EmulatorContext,
  version: ProtocolVersion,
  segment: string,
  kind: TenantSegmentKind,
  appId: string | null,
): Record<string, unknown> {
  const base = ctx.baseUrl;
  // A tenant named by domain is answered with its GUID, as Entra does.
  const t = kind === 'tenant' ? ctx.tenantId : segment.toLowerCase();
  const issuerTid = kind === 'tenant' ? ctx.tenantId : TENANT_TEMPLATE;
  const host = new URL(base).host;
  const appQuery = appId ? `?appid=${encodeURIComponent(appId)}` : '';
  const shared = {
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
  const cloud = {
    tenant_region_scope: 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: host,
    rbac_url: 'https://pas.windows.net',
  };
  if (version === 'v2') {
    return {
      token_endpoint: `${base}/${t}/oauth2/v2.0/token`,
      ...shared,
      jwks_uri: `${base}/${t}/discovery/v2.0/keys${appQuery}`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: ctx.issuerV2(issuerTid),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/oidc/userinfo`,
      authorization_endpoint: `${base}/${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/${t}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      kerberos_endpoint: `${base}/${t}/kerberos`,
      ...cloud,
    };
  }
  return {
    token_endpoint: `${base}/${t}/oauth2/token`,
    ...shared,
    jwks_uri: `${base}/${t}/discovery/keys${appQuery}`,
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    scopes_supported: ['openid'],
    issuer: ctx.issuerV1(issuerTid),
    microsoft_multi_refresh_token: true,
    authorization_endpoint: `${base}/${t}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/${t}/oauth2/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/${t}/oauth2/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'amr',
      'nonce',
      'email',
      'given_name',
      'family_name',
      'nickname',
    ],
    check_session_iframe: `${base}/${t}/oauth2/checksession`,
    userinfo_endpoint: `${base}/${t}/openid/userinfo`,
    kerberos_endpoint: `${base}/${t}/kerberos`,
    ...cloud,
  };
}

export function handleDiscovery(
  ctx: EmulatorContext,
  res: ServerResponse,
  url: URL,
  version: ProtocolVersion,
  segment: string,
  kind: TenantSegmentKind,
): void {
  sendJson(res, 200, discoveryDocument(ctx, version, segment, kind, url.searchParams.get('appid')), {
    'cache-control': 'max-age=86400, private',
    'access-control-allow-origin': '*',
  });
}

/** JWKS; each key's `issuer` is the tenant's issuer, or the `{tenantid}` template off-tenant. */
export function handleJwks(
  ctx: EmulatorContext,
  res: ServerResponse,
  version: ProtocolVersion,
  kind: TenantSegmentKind,
): void {
  const tid = kind === 'tenant' ? ctx.tenantId : TENANT_TEMPLATE;
  sendJson(res, 200, ctx.keys.jwks(ctx.issuer(version, tid)), {
    'cache-control': 'max-age=86400, private',
    'access-control-allow-origin': '*',
  });
}
