import type { GatehouseConfig } from '../config/index.js';
import { effectiveRoles, isAdmitted, type RoleSources } from '../policy/roles.js';
import type { DurableStore, MembershipRecord, UserRecord } from '../storage/contract.js';

/** What Entra says about a signed-in person or app: its app roles and group ids. */
export interface EntraGrantedAccess {
  appRoles: readonly string[];
  groups: readonly string[];
  /** False for app-only identities, which are never auto-assigned a membership. */
  isPerson: boolean;
}

export interface UserAccess {
  /** Whether the user may use Gatehouse at all (policy/roles.ts isAdmitted). */
  admitted: boolean;
  /** Effective roles, sorted. */
  roles: string[];
  memberships: MembershipRecord[];
}

/**
 * A user's roles from the three sources (app roles, mapped groups, memberships), the same way for
 * an MCP caller and for a browser signed in to Gatehouse's own pages. With GATEHOUSE_SSO_AUTO_ASSIGN
 * a person's first sight gives them the default membership.
 */
export async function resolveUserAccess(
  durable: Pick<DurableStore, 'memberships'>,
  config: Pick<GatehouseConfig, 'auth'>,
  user: Pick<UserRecord, 'id'>,
  granted: EntraGrantedAccess,
): Promise<UserAccess> {
  if (granted.isPerson && config.auth.ssoAutoAssign) {
    const { org, team, role } = config.auth.defaultMembership;
    await durable.memberships.addIfNone({ userId: user.id, org, team, role });
  }
  const memberships = await durable.memberships.listForUser(user.id);
  const sources: RoleSources = {
    appRoles: granted.appRoles,
    groups: granted.groups.map((group) => group.toLowerCase()),
    groupRoles: config.auth.groupRoles,
    memberships,
  };
  return { admitted: isAdmitted(sources), roles: [...effectiveRoles(sources)].sort(), memberships };
}
