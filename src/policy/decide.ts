import type { ScopeNames } from './scopes.js';
import type { ToolPolicy } from './tool-policy.js';

/** Who is asking, as far as policy is concerned. */
export interface PolicySubject {
  /** Token scopes; 'unrestricted' for callers whose tokens carry roles instead (app-only, path token, development). */
  scopes: ReadonlySet<string> | 'unrestricted';
  roles: ReadonlySet<string>;
}

export type Decision =
  | { allow: true }
  /** A scope is missing: answered with 403 insufficient_scope, naming every scope the request needs. */
  | { allow: false; reason: 'scope'; requiredScopes: string[]; missingScopes: string[] }
  /** A role is missing: answered with a JSON-RPC error naming the roles that would do. */
  | { allow: false; reason: 'role'; requiredRoles: string[] };

const ALLOW: Decision = Object.freeze({ allow: true });

/**
 * The one decision for tools. 'list' decides whether tools/list shows the tool, 'call' whether
 * tools/call runs it. Roles decide both the same way, so a tool the caller may never call is never
 * listed; scopes are checked per action, because a missing scope can be granted by a step-up.
 */
export function decideTool(
  subject: PolicySubject,
  tool: ToolPolicy,
  action: 'list' | 'call',
  names: ScopeNames,
): Decision {
  if (action === 'call') {
    const requiredScopes = [names.toolsExecute, ...tool.scopes.map((scope) => names[scope])];
    const scopeDecision = checkScopes(subject, requiredScopes);
    if (scopeDecision !== ALLOW) return scopeDecision;
  }
  if (tool.roles.length > 0 && !tool.roles.some((role) => subject.roles.has(role))) {
    return { allow: false, reason: 'role', requiredRoles: [...tool.roles] };
  }
  return ALLOW;
}

/** tools/list as a whole: discover (or tools.read) is needed to see any tool. */
export function decideListTools(subject: PolicySubject, names: ScopeNames): Decision {
  if (
    subject.scopes === 'unrestricted' ||
    subject.scopes.has(names.discover) ||
    subject.scopes.has(names.toolsRead)
  )
    return ALLOW;
  return { allow: false, reason: 'scope', requiredScopes: [names.discover], missingScopes: [names.discover] };
}

function checkScopes(subject: PolicySubject, requiredScopes: string[]): Decision {
  if (subject.scopes === 'unrestricted') return ALLOW;
  const granted = subject.scopes;
  const missingScopes = requiredScopes.filter((scope) => !granted.has(scope));
  return missingScopes.length === 0
    ? ALLOW
    : { allow: false, reason: 'scope', requiredScopes, missingScopes };
}
