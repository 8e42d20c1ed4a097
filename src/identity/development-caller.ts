import type { UserRepository } from '../storage/contract.js';
import { type Caller, callerFromUser, DEVELOPMENT_USER } from './caller.js';

/** Development mode: every request acts as one fixed user holding every scope and role. */
export async function developmentCaller(users: UserRepository): Promise<Caller> {
  const user = await users.upsert(DEVELOPMENT_USER);
  return callerFromUser(user, {
    kind: 'development',
    scopes: ['discover', 'tools.read', 'tools.execute', 'chat'],
    scopesApply: false,
    roles: ['admin', 'user'],
    clientAppId: null,
    expiresAt: null,
  });
}
