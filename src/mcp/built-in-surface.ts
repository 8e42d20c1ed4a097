import { GatehouseError } from '../errors/index.js';
import type { Caller } from '../identity/caller.js';
import {
  contentPolicyFor,
  DEFAULT_PROMPT_POLICIES,
  DEFAULT_RESOURCE_POLICIES,
} from '../policy/content-policy.js';
import type { ToolPolicy } from '../policy/tool-policy.js';
import type { NoteRepository } from '../storage/contract.js';
import type { RequestContext } from './dispatcher.js';
import type { PromptContext, PromptDefinition } from './prompts/prompt.js';
import type { NoteEvents } from './resources/note-events.js';
import { isNoteUri, NOTE_URI_TEMPLATE, noteIdOf } from './resources/note-uri.js';
import { NOTES_RESOURCE, NoteResources, notFound } from './resources/notes.js';
import type { ToolAccess } from './tool-access.js';

type Item = Record<string, unknown>;

export interface BuiltInPolicies {
  /** The config file's "prompts" section, by prompt name. */
  prompts: Readonly<Record<string, ToolPolicy>>;
  /** The config file's "resources" section, by resource family ("notes"). */
  resources: Readonly<Record<string, ToolPolicy>>;
}

/**
 * Gatehouse's own prompts and resources as the MCP endpoint serves them: the caller's notes as
 * `note://{id}` resources and the built-in prompts. Lists are filtered and uses decided by the
 * same ToolAccess policy as tools (a refused prompt or resource is neither listed nor served),
 * and every use is audited as a tool call is.
 */
export class BuiltInSurface {
  readonly #prompts: ReadonlyMap<string, PromptDefinition>;
  readonly #notes: NoteResources;

  constructor(
    prompts: readonly PromptDefinition[],
    notes: NoteRepository,
    private readonly access: ToolAccess,
    private readonly policies: BuiltInPolicies,
    private readonly events: NoteEvents,
  ) {
    this.#prompts = new Map(prompts.map((prompt) => [prompt.name, prompt]));
    this.#notes = new NoteResources(notes);
  }

  hasPrompt(name: string): boolean {
    return this.#prompts.has(name);
  }

  /** Whether a URI (or the URI template of a completion) is one of the built-in resources'. */
  ownsUri(uri: string): boolean {
    return isNoteUri(uri);
  }

  listPrompts(caller: Caller): Item[] {
    const out: Item[] = [];
    for (const prompt of this.#prompts.values()) {
      if (!this.access.canSee(caller, this.promptPolicy(prompt.name))) continue;
      out.push({
        name: prompt.name,
        title: prompt.title,
        description: prompt.description,
        arguments: prompt.arguments,
      });
    }
    return out;
  }

  async listResources(caller: Caller): Promise<Item[]> {
    if (!this.access.canSee(caller, this.notesPolicy())) return [];
    return this.#notes.list(caller.userId);
  }

  listResourceTemplates(caller: Caller): Item[] {
    return this.access.canSee(caller, this.notesPolicy()) ? this.#notes.templates() : [];
  }

  async getPrompt(params: Item, context: RequestContext): Promise<Item> {
    const prompt = this.authorizedPrompt(String(params.name ?? ''), context);
    const args = promptArguments(prompt, params.arguments);
    return (await prompt.get(args, this.promptContext(context.caller))) as Item;
  }

  async readResource(params: Item, context: RequestContext): Promise<Item> {
    const uri = String(params.uri ?? '');
    this.access.authorize(context.caller, uri, this.notesPolicy(), context.requestId);
    return this.#notes.read(context.caller.userId, uri);
  }

  async subscription(
    action: 'subscribe' | 'unsubscribe',
    params: Item,
    context: RequestContext,
  ): Promise<Item> {
    const uri = String(params.uri ?? '');
    if (context.sessionId === undefined) {
      throw new GatehouseError(
        'GH_MCP_SESSION_REQUIRED',
        `resources/${action} needs a session: updates are sent on the session's listening stream (GET with Mcp-Session-Id).`,
      );
    }
    this.access.authorize(context.caller, uri, this.notesPolicy(), context.requestId);
    const id = noteIdOf(uri);
    if (action === 'unsubscribe') {
      if (id !== undefined) this.events.unsubscribe(id, context.sessionId);
      return {};
    }
    if (id === undefined || (await this.#notes.find(context.caller.userId, uri)) === undefined)
      throw notFound(uri);
    this.events.subscribe(id, context.sessionId, context.caller.userId);
    return {};
  }

  async complete(params: Item, context: RequestContext): Promise<Item> {
    const ref = (params.ref ?? {}) as Item;
    const argument = (params.argument ?? {}) as Item;
    const name = String(argument.name ?? '');
    const value = String(argument.value ?? '');
    if (ref.type === 'ref/prompt') {
      const prompt = this.authorizedPrompt(String(ref.name ?? ''), context);
      const completion = (await prompt.complete?.(name, value, this.promptContext(context.caller))) ?? {
        values: [],
      };
      return { completion };
    }
    const uri = String(ref.uri ?? '');
    this.access.authorize(context.caller, uri, this.notesPolicy(), context.requestId);
    if (uri !== NOTE_URI_TEMPLATE) throw notFound(uri);
    if (name !== 'id') return { completion: { values: [] } };
    return { completion: await this.#notes.completeId(context.caller.userId, value) };
  }

  /**
   * What a prompts/get, resources/read or completion/complete would use, and its policy, when it is
   * one of the built-ins (for the scope check made before dispatch).
   */
  policyOfUse(method: string, params: Item | undefined): { name: string; policy: ToolPolicy } | undefined {
    const ref = (params?.ref ?? {}) as Item;
    const prompt = method === 'prompts/get' ? params?.name : ref.type === 'ref/prompt' ? ref.name : undefined;
    if (typeof prompt === 'string' && this.#prompts.has(prompt))
      return { name: prompt, policy: this.promptPolicy(prompt) };
    const uri = method === 'resources/read' ? params?.uri : ref.type === 'ref/resource' ? ref.uri : undefined;
    if (typeof uri === 'string' && isNoteUri(uri)) return { name: uri, policy: this.notesPolicy() };
    return undefined;
  }

  /** The prompt, once the policy allows the caller to use it (audited); throws as tools/call does. */
  private authorizedPrompt(name: string, context: RequestContext): PromptDefinition {
    const prompt = this.#prompts.get(name);
    if (prompt === undefined) {
      throw new GatehouseError(
        'GH_MCP_PROMPT_NOT_FOUND',
        `Unknown prompt: '${name}'. Call prompts/list to see the prompts you can use.`,
      );
    }
    this.access.authorize(context.caller, name, this.promptPolicy(name), context.requestId);
    return prompt;
  }

  private promptContext(caller: Caller): PromptContext {
    return { caller, notes: this.#notes };
  }

  private promptPolicy(name: string): ToolPolicy {
    return contentPolicyFor(name, this.policies.prompts, DEFAULT_PROMPT_POLICIES);
  }

  private notesPolicy(): ToolPolicy {
    return contentPolicyFor(NOTES_RESOURCE, this.policies.resources, DEFAULT_RESOURCE_POLICIES);
  }
}

/** prompts/get arguments are a map of names to strings (MCP); unknown names and missing required ones are refused. */
function promptArguments(prompt: PromptDefinition, raw: unknown): Record<string, string> {
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    throw new GatehouseError(
      'GH_MCP_PROMPT_ARGUMENTS_INVALID',
      `Invalid arguments for ${prompt.name}: params.arguments must be an object of argument names to strings.`,
    );
  }
  const args: Record<string, string> = {};
  const known = new Set(prompt.arguments.map((argument) => argument.name));
  for (const [key, value] of Object.entries((raw ?? {}) as Item)) {
    if (!known.has(key) || typeof value !== 'string') {
      throw new GatehouseError(
        'GH_MCP_PROMPT_ARGUMENTS_INVALID',
        `Invalid arguments for ${prompt.name}: ${known.has(key) ? `'${key}' must be a string` : `unknown argument '${key.slice(0, 64)}'`}.`,
      );
    }
    args[key] = value;
  }
  for (const argument of prompt.arguments) {
    if (argument.required && args[argument.name] === undefined) {
      throw new GatehouseError(
        'GH_MCP_PROMPT_ARGUMENTS_INVALID',
        `Invalid arguments for ${prompt.name}: '${argument.name}' is required.`,
      );
    }
  }
  return args;
}
