/**
 * Roles come from three places: Entra app roles in the token, Entra groups mapped to roles in
 * configuration, and Gatehouse's own memberships (a user holds a role in an organization or a team
 * of it, in the manner of Casbin's domain RBAC `g(user, role, domain)`).
 */
export interface Membership {
  org: string;
  /** null for an organization-wide membership. */
  team: string | null;
  role: string;
}

export interface RoleSources {
  appRoles: readonly string[];
  groups: readonly string[];
  groupRoles: Readonly<Record<string, readonly string[]>>;
  memberships: readonly Membership[];
}

export function effectiveRoles(sources: RoleSources): Set<string> {
  const roles = new Set<string>(sources.appRoles);
  for (const group of sources.groups) for (const role of sources.groupRoles[group] ?? []) roles.add(role);
  for (const membership of sources.memberships) roles.add(membership.role);
  return roles;
}

/**
 * Who may use Gatehouse at all: a member of some organization or team, or a user to whom Entra
 * grants a role (app role or mapped group), so that the first administrator can sign in.
 */
export function isAdmitted(sources: RoleSources): boolean {
  if (sources.memberships.length > 0 || sources.appRoles.length > 0) return true;
  return sources.groups.some((group) => (sources.groupRoles[group]?.length ?? 0) > 0);
}
