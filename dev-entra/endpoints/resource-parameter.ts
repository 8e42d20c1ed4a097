import type { EmulatorContext } from '../context.js';
import { parseScopes } from '../directory/scopes.js';
import { AadstsError } from '../errors/aadsts-error.js';

/**
 * RFC 8707 `resource` on v2. Entra has long rejected it (AADSTS901002); newer tenants accept it
 * when it names the scopes' API and answer `invalid_target` otherwise. The switch picks one.
 */
export function checkResourceParameter(ctx: EmulatorContext, params: URLSearchParams): void {
  const resource = params.get('resource');
  if (resource === null) return;
  const mode = ctx.switches.resourceParameter;
  if (mode === 'ignore') return;
  if (mode === 'reject') throw new AadstsError(901002);
  const target = ctx.directory.resource(resource);
  const scopeApis = parseScopes(params.get('scope') ?? '', ctx.directory).resources.map((r) => r.app.appId);
  if (!target || scopeApis.some((id) => id !== target.app.appId)) {
    throw new AadstsError(9010010, {
      detail: `The resource parameter provided in the request doesn't match with the requested scopes. Resource '${resource}'.`,
    });
  }
}
