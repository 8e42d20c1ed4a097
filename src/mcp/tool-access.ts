import { GatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import type { AuditSink } from '../ops/audit.js';
import { type Decision, decideListTools, decideTool, type PolicySubject } from '../policy/decide.js';
import type { ScopeNames } from '../policy/scopes.js';
import { policyFor, type ToolPolicy } from '../policy/tool-policy.js';

const LIST_METHODS = new Set(['prompts/list', 'resources/list', 'resources/templates/list']);
const USE_METHODS = new Set(['prompts/get', 'resources/read', 'completion/complete']);
const NO_EXTRA_POLICY: ToolPolicy = Object.freeze({ scopes: [], roles: [] });

/**
 * Applies the tool policy to MCP requests: a missing scope stops the whole HTTP request with 403
 * (so the client can step up), a missing role is a JSON-RPC error for that call, and tools/list
 * shows only tools the caller's roles allow. Every decision about a call is audited.
 */
export class ToolAccess {
  readonly #subjects = new WeakMap<Caller, PolicySubject>();

  constructor(
    private readonly scopeNames: ScopeNames,
    private readonly overrides: Readonly<Record<string, ToolPolicy>>,
    private readonly audit: AuditSink,
    /** The policy of a tool Gatehouse does not define itself (an upstream's, through the gateway). */
    private readonly fallbackPolicy: (tool: string) => ToolPolicy | undefined = () => undefined,
    /**
     * What a prompts/get, resources/read or completion/complete uses (its name for errors and
     * audit) and that thing's policy, when it is one of Gatehouse's own: its extra scopes are
     * then asked for before dispatch, with a step-up challenge, as a tool's are.
     */
    private readonly usePolicy: (
      method: string,
      params: Record<string, unknown> | undefined,
    ) => { name: string; policy: ToolPolicy } | undefined = () => undefined,
  ) {}

  /** Before dispatch: the scopes a tools/list or tools/call needs. Throws insufficient_scope. */
  checkScopes(
    caller: Caller,
    method: string,
    params: Record<string, unknown> | undefined,
    requestId: string,
  ): void {
    let decision: Decision;
    let tool = '*';
    if (method === 'tools/list') {
      decision = decideListTools(this.subject(caller), this.scopeNames);
    } else if (method === 'tools/call' && typeof params?.name === 'string') {
      tool = params.name;
      // decideTool checks scopes before roles, so a scope failure shows here; a role failure is left to dispatch.
      decision = decideTool(this.subject(caller), this.policy(tool), 'call', this.scopeNames);
    } else if (LIST_METHODS.has(method)) {
      decision = decideListTools(this.subject(caller), this.scopeNames);
    } else if (USE_METHODS.has(method)) {
      // Getting a prompt, reading a resource or completing an argument is using the server, like a call.
      const used = this.usePolicy(method, params);
      if (used !== undefined) tool = used.name;
      decision = decideTool(this.subject(caller), used?.policy ?? NO_EXTRA_POLICY, 'call', this.scopeNames);
    } else {
      return;
    }
    if (decision.allow || decision.reason !== 'scope') return;
    const what =
      method === 'tools/list'
        ? 'listing tools'
        : method === 'tools/call'
          ? `calling ${tool}`
          : tool === '*'
            ? method
            : `using ${tool}`;
    this.record(caller, tool, method === 'tools/list' ? 'list' : 'call', decision, requestId);
    throw new GatehouseError(
      'GH_AUTH_INSUFFICIENT_SCOPE',
      `${what} needs the scope${decision.requiredScopes.length > 1 ? 's' : ''} ` +
        `${decision.requiredScopes.join(' ')}; the token lacks ${decision.missingScopes.join(' ')}`,
      { detail: { requiredScopes: decision.requiredScopes } },
    );
  }

  visible(caller: Caller, tool: string): boolean {
    return this.canSee(caller, this.policy(tool));
  }

  /** Whether a tool, prompt or resource under `policy` is shown to the caller. */
  canSee(caller: Caller, policy: ToolPolicy): boolean {
    return decideTool(this.subject(caller), policy, 'list', this.scopeNames).allow;
  }

  /**
   * At dispatch: the full decision for a call; throws the role error. `recordAllowed` false: an
   * allowed call is audited by the call's own event (tool.call, gateway.forward), so only a refusal
   * is recorded here.
   */
  authorizeCall(caller: Caller, tool: string, requestId: string, recordAllowed = true): void {
    this.authorize(caller, tool, this.policy(tool), requestId, recordAllowed);
  }

  /** The full decision for using `name` (a tool, prompt or resource) under `policy`; audited; throws when refused. */
  authorize(caller: Caller, tool: string, policy: ToolPolicy, requestId: string, recordAllowed = true): void {
    const decision = decideTool(this.subject(caller), policy, 'call', this.scopeNames);
    if (recordAllowed || !decision.allow) this.record(caller, tool, 'call', decision, requestId);
    if (decision.allow) return;
    if (decision.reason === 'role') {
      const held = caller.roles.length === 0 ? 'none' : caller.roles.join(', ');
      throw new GatehouseError(
        'GH_POLICY_ROLE_REQUIRED',
        `${tool} requires the role ${decision.requiredRoles.join(' or ')}; your roles: ${held}. Ask an administrator for the role.`,
      );
    }
    throw new GatehouseError(
      'GH_AUTH_INSUFFICIENT_SCOPE',
      `calling ${tool} needs the scopes ${decision.requiredScopes.join(' ')}`,
      {
        detail: { requiredScopes: decision.requiredScopes },
      },
    );
  }

  private policy(tool: string): ToolPolicy {
    return this.overrides[tool] ?? this.fallbackPolicy(tool) ?? policyFor(tool, this.overrides);
  }

  private subject(caller: Caller): PolicySubject {
    let subject = this.#subjects.get(caller);
    if (subject === undefined) {
      subject = {
        scopes: caller.scopesApply ? new Set(caller.scopes) : 'unrestricted',
        roles: new Set(caller.roles),
      };
      this.#subjects.set(caller, subject);
    }
    return subject;
  }

  private record(
    caller: Caller,
    tool: string,
    action: 'list' | 'call',
    decision: Decision,
    requestId: string,
  ): void {
    this.audit.emit({
      type: 'tool.decision',
      at: new Date().toISOString(),
      requestId,
      userId: caller.userId,
      tenantId: caller.tenantId,
      tool,
      action,
      outcome: decision.allow ? 'allow' : 'deny',
      reason: decision.allow ? null : decision.reason,
      missing: decision.allow
        ? []
        : decision.reason === 'scope'
          ? decision.missingScopes
          : decision.requiredRoles,
    });
  }
}
