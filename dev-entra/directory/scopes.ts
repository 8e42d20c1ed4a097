import { AadstsError } from '../errors/aadsts-error.js';
import type { SeedApplication } from '../seed.js';
import type { Directory } from './directory.js';

export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

/** The part of a scope string that names one API. */
export interface ResourceRequest {
  app: SeedApplication;
  /** How the API was named: the v1 `aud` repeats it. */
  audience: string;
  form: 'guid' | 'uri' | 'bare';
  /** Scope values on the API, or empty when `.default` was asked for. */
  scopes: string[];
  isDefault: boolean;
}

export interface ScopeRequest {
  oidc: Set<string>;
  resources: ResourceRequest[];
}

export function oidcScopes(scope: string): Set<string> {
  return new Set(
    scope
      .split(/\s+/)
      .map((s) => s.toLowerCase())
      .filter((s) => OIDC_SCOPES.has(s)),
  );
}

function splitScope(item: string): { resourceId: string | undefined; name: string } {
  // `https://graph.microsoft.com/User.Read`, `api://{id}/tools.read`, `{id}/.default`; a bare name means Graph.
  const slash = item.lastIndexOf('/');
  if (slash <= 0) return { resourceId: undefined, name: item };
  return { resourceId: item.slice(0, slash), name: item.slice(slash + 1) };
}

/**
 * Resolves a v2 `scope` parameter to the APIs it names. Unknown APIs are AADSTS500011, unknown
 * scope names AADSTS70011, and mixing `.default` with named scopes of one API is AADSTS70011 too.
 */
export function parseScopes(scope: string, directory: Directory): ScopeRequest {
  const request: ScopeRequest = { oidc: new Set(), resources: [] };
  const items = scope.split(/\s+/).filter(Boolean);
  for (const item of items) {
    if (OIDC_SCOPES.has(item.toLowerCase())) {
      request.oidc.add(item.toLowerCase());
      continue;
    }
    const { resourceId, name } = splitScope(item);
    const found =
      resourceId === undefined
        ? directory.graph && {
            app: directory.graph,
            form: 'bare' as const,
            audience: directory.graph.identifierUris[0] ?? directory.graph.appId,
          }
        : directory.resource(resourceId);
    if (!found) {
      throw new AadstsError(500011, {
        detail: `The resource principal named ${resourceId ?? item} was not found in the tenant named ${directory.seed.tenant.displayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      });
    }
    let entry = request.resources.find((r) => r.app.appId === found.app.appId);
    if (!entry) {
      entry = { app: found.app, audience: found.audience, form: found.form, scopes: [], isDefault: false };
      request.resources.push(entry);
    }
    if (name === '.default') {
      entry.isDefault = true;
    } else {
      const exposed = found.app.scopes.find((s) => s.value.toLowerCase() === name.toLowerCase());
      if (!exposed) {
        throw new AadstsError(70011, {
          detail: `The provided value for the input parameter 'scope' is not valid. The scope '${item}' does not exist on the resource.`,
        });
      }
      if (!entry.scopes.includes(exposed.value)) entry.scopes.push(exposed.value);
    }
    if (entry.isDefault && entry.scopes.length > 0) {
      throw new AadstsError(70011, {
        detail: `The provided value for the input parameter 'scope' is not valid. The '.default' scope can't be combined with resource-specific scopes.`,
      });
    }
  }
  return request;
}

/** A v1 `resource=` parameter: everything consented on that API, like `{resource}/.default`. */
export function parseV1Resource(resource: string, directory: Directory): ResourceRequest {
  const found = directory.resource(resource);
  if (!found) {
    throw new AadstsError(500011, {
      detail: `The resource principal named ${resource} was not found in the tenant named ${directory.seed.tenant.displayName}.`,
    });
  }
  return { app: found.app, audience: found.audience, form: found.form, scopes: [], isDefault: true };
}

/** Token requests name one API only (AADSTS28000). */
export function singleResource(request: ScopeRequest, scope: string): ResourceRequest | undefined {
  if (request.resources.length > 1) {
    throw new AadstsError(28000, {
      detail: `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
    });
  }
  return request.resources[0];
}

/** The scope strings as Entra echoes them in a v2 token response. */
export function describeScopes(
  resource: ResourceRequest | undefined,
  granted: string[],
  oidc: Set<string>,
): string {
  const prefix = !resource || resource.form === 'bare' ? '' : `${resource.audience.replace(/\/$/, '')}/`;
  const named = granted.map((s) => `${prefix}${s}`);
  const openid = ['openid', 'profile', 'email'].filter((s) => oidc.has(s));
  return [...named, ...openid].join(' ');
}
