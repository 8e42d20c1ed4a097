import { parseScopes, parseV1Resource, type ResourceRequest } from '../directory/scopes.js';
import { AadstsError } from '../errors/aadsts-error.js';
import { issueAccessToken } from '../tokens/access-token.js';
import { required, type TokenRequest, type TokenResponseBody } from './token-request.js';

function resolveResource(request: TokenRequest): ResourceRequest {
  const { ctx, params, version } = request;
  if (version === 'v1') return parseV1Resource(required(params, 'resource'), ctx.directory);
  const scope = required(params, 'scope');
  const items = scope.split(/\s+/).filter(Boolean);
  const notDefault = items.find((s) => !s.endsWith('/.default'));
  if (notDefault) {
    throw new AadstsError(1002012, {
      detail: `The provided value for scope ${notDefault} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    });
  }
  const parsed = parseScopes(scope, ctx.directory);
  if (parsed.resources.length !== 1) {
    throw new AadstsError(28000, {
      detail: `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
    });
  }
  return parsed.resources[0]!;
}

/** `grant_type=client_credentials`: `{resource}/.default` only; an app-only token with `roles`, no `scp`. */
export async function clientCredentialsGrant(request: TokenRequest): Promise<TokenResponseBody> {
  const { ctx, client, version } = request;
  if (client.acr === '0') throw new AadstsError(7000218);
  const resource = resolveResource(request);
  if (resource.app.appId === client.app.appId && resource.form === 'uri') {
    throw new AadstsError(90009, {
      detail: `Application '${client.app.appId}'(${client.app.displayName}) is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.`,
    });
  }
  const roles = ctx.directory.applicationRoles(client.app, resource.app);
  const access = await issueAccessToken(ctx, {
    kind: 'app',
    client: client.app,
    clientAcr: client.acr,
    resource,
    roles,
  });
  if (version === 'v1') {
    return {
      token_type: 'Bearer',
      expires_in: String(access.expiresIn),
      ext_expires_in: String(access.expiresIn),
      expires_on: String(access.claims.exp),
      not_before: String(access.claims.nbf),
      resource: resource.audience,
      access_token: access.token,
    };
  }
  return {
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    ext_expires_in: access.expiresIn,
    access_token: access.token,
  };
}
