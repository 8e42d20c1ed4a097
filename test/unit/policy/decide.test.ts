import { describe, expect, it } from 'vitest';
import { decideListTools, decideTool, type PolicySubject } from '../../../src/policy/decide.js';
import { effectiveRoles, isAdmitted } from '../../../src/policy/roles.js';
import { DEFAULT_SCOPE_NAMES as names } from '../../../src/policy/scopes.js';
import { policyFor } from '../../../src/policy/tool-policy.js';

const subject = (scopes: string[] | 'unrestricted', roles: string[]): PolicySubject => ({
  scopes: scopes === 'unrestricted' ? scopes : new Set(scopes),
  roles: new Set(roles),
});

describe('decideTool', () => {
  const adminTool = policyFor('get_server_info', {});
  const openTool = policyFor('calculate_sum', {});
  const chatTool = { scopes: ['chat'] as const, roles: [] };

  it('allows a call with tools.execute and no role requirement', () => {
    expect(decideTool(subject(['tools.execute'], []), openTool, 'call', names)).toEqual({ allow: true });
  });

  it('asks for tools.execute when a tools.read token calls a tool (scope escalation)', () => {
    expect(decideTool(subject(['tools.read', 'discover'], ['user']), openTool, 'call', names)).toEqual({
      allow: false,
      reason: 'scope',
      requiredScopes: ['tools.execute'],
      missingScopes: ['tools.execute'],
    });
  });

  it('names every scope a chat tool needs when one is missing', () => {
    expect(decideTool(subject(['tools.execute'], []), chatTool, 'call', names)).toMatchObject({
      reason: 'scope',
      requiredScopes: ['tools.execute', 'chat'],
      missingScopes: ['chat'],
    });
  });

  it('refuses an admin tool to a user, for listing and calling alike (role escalation)', () => {
    const bob = subject(['discover', 'tools.execute'], ['user']);
    expect(decideTool(bob, adminTool, 'call', names)).toEqual({
      allow: false,
      reason: 'role',
      requiredRoles: ['admin'],
    });
    expect(decideTool(bob, adminTool, 'list', names)).toEqual({
      allow: false,
      reason: 'role',
      requiredRoles: ['admin'],
    });
    expect(decideTool(subject(['tools.execute'], ['admin']), adminTool, 'call', names)).toEqual({
      allow: true,
    });
  });

  it('lists a tool whose scope is missing, since a step-up can grant it', () => {
    expect(decideTool(subject(['discover'], []), chatTool, 'list', names)).toEqual({ allow: true });
  });

  it('lets unrestricted callers through scopes but not through roles', () => {
    expect(decideTool(subject('unrestricted', []), openTool, 'call', names)).toEqual({ allow: true });
    expect(decideTool(subject('unrestricted', []), adminTool, 'call', names)).toMatchObject({
      reason: 'role',
    });
  });

  it('uses configured scope names', () => {
    const renamed = { ...names, toolsExecute: 'mcp.call' };
    expect(decideTool(subject(['mcp.call'], []), openTool, 'call', renamed)).toEqual({ allow: true });
    expect(decideTool(subject(['tools.execute'], []), openTool, 'call', renamed)).toMatchObject({
      missingScopes: ['mcp.call'],
    });
  });

  it('lets configuration override a built-in tool policy', () => {
    expect(policyFor('calculate_sum', { calculate_sum: { scopes: [], roles: ['finance'] } }).roles).toEqual([
      'finance',
    ]);
  });
});

describe('decideListTools', () => {
  it('needs discover or tools.read', () => {
    expect(decideListTools(subject(['discover'], []), names)).toEqual({ allow: true });
    expect(decideListTools(subject(['tools.read'], []), names)).toEqual({ allow: true });
    expect(decideListTools(subject(['tools.execute'], []), names)).toMatchObject({
      reason: 'scope',
      requiredScopes: ['discover'],
    });
  });
});

describe('roles and admission', () => {
  const groupRoles = { 'group-admins': ['admin'], 'group-empty': [] };

  it('unites app roles, mapped groups and memberships', () => {
    const roles = effectiveRoles({
      appRoles: ['user'],
      groups: ['group-admins', 'group-unmapped'],
      groupRoles,
      memberships: [{ org: 'default', team: 'platform', role: 'maintainer' }],
    });
    expect([...roles].sort()).toEqual(['admin', 'maintainer', 'user']);
  });

  it('admits members and users with an Entra role, and nobody else', () => {
    const none = { appRoles: [], groups: [], groupRoles, memberships: [] };
    expect(isAdmitted(none)).toBe(false);
    expect(isAdmitted({ ...none, groups: ['group-empty'] })).toBe(false);
    expect(isAdmitted({ ...none, groups: ['group-admins'] })).toBe(true);
    expect(isAdmitted({ ...none, appRoles: ['user'] })).toBe(true);
    expect(isAdmitted({ ...none, memberships: [{ org: 'default', team: null, role: 'user' }] })).toBe(true);
  });
});
