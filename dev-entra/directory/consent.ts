import type { EmulatorContext } from '../context.js';
import { AadstsError } from '../errors/aadsts-error.js';
import type { SeedApplication } from '../seed.js';
import type { ResourceRequest } from './scopes.js';

/**
 * Delegated scopes the client may receive on the API for this user: tenant-wide consent (admin
 * consent, pre-authorization) plus what the user accepted at sign-in. Anything else is AADSTS65001.
 */
export function grantedScopes(
  ctx: EmulatorContext,
  client: SeedApplication,
  resource: ResourceRequest,
  userId: string,
): string[] {
  const consented = new Set([
    ...ctx.directory.tenantConsentedScopes(client, resource.app),
    ...ctx.state.consentedBy(userId, client.appId, resource.app.appId),
  ]);
  const missing = resource.isDefault ? consented.size === 0 : resource.scopes.some((s) => !consented.has(s));
  if (missing) {
    throw new AadstsError(65001, {
      detail: `The user or administrator has not consented to use the application with ID '${client.appId}' named '${client.displayName}'. Send an interactive authorization request for this user and resource.`,
      suberror: 'consent_required',
    });
  }
  if (!resource.isDefault) return resource.scopes;
  // Keep the API's declaration order so `scp` reads the same every time.
  return resource.app.scopes.map((s) => s.value).filter((s) => consented.has(s));
}
