import type { UserRepository } from '../storage/contract.js';
import { type Caller, DEVELOPMENT_USER } from './caller.js';

/** Development mode: every request acts as one fixed user holding every scope and role. */
export async function developmentCaller(users: UserRepository): Promise<Caller> {
  const user = await users.upsert(DEVELOPMENT_USER);
  return Object.freeze({
    userId: user.id,
    tenantId: user.tenantId,
    objectId: user.objectId,
    displayName: user.displayName,
    preferredUsername: user.preferredUsername,
    kind: 'development' as const,
    scopes: Object.freeze(['discover', 'tools.read', 'tools.execute', 'chat']),
    scopesApply: false,
    roles: Object.freeze(['admin', 'user']),
    clientAppId: null,
    expiresAt: null,
  });
}
