import type { GetPromptResult, PromptArgument } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../../errors/index.js';
import type { Caller } from '../../identity/caller.js';
import type { NoteResources } from '../resources/notes.js';

/** What a built-in prompt may use besides its arguments. */
export interface PromptContext {
  readonly caller: Caller;
  /** The caller's notes, as the note resources show them. */
  readonly notes: NoteResources;
}

export interface Completion {
  values: string[];
  total?: number;
  hasMore?: boolean;
}

export interface PromptDefinition {
  name: string;
  title: string;
  description: string;
  arguments: readonly PromptArgument[];
  /** Values for one argument that start with what the client typed so far. */
  complete?(argument: string, value: string, context: PromptContext): Promise<Completion> | Completion;
  /** The messages; throw a GatehouseError (GH_MCP_PROMPT_ARGUMENTS_INVALID) for arguments it cannot use. */
  get(
    args: Readonly<Record<string, string>>,
    context: PromptContext,
  ): Promise<GetPromptResult> | GetPromptResult;
}

export function definePrompt(definition: PromptDefinition): PromptDefinition {
  return definition;
}

export function invalidArguments(prompt: string, message: string): GatehouseError {
  return new GatehouseError('GH_MCP_PROMPT_ARGUMENTS_INVALID', `Invalid arguments for ${prompt}: ${message}`);
}

/** Values of a fixed list that start with the typed prefix. */
export function completeFrom(choices: readonly string[], value: string): Completion {
  const values = choices.filter((choice) => choice.startsWith(value));
  return { values, total: values.length, hasMore: false };
}

export type { GetPromptResult };
