import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { ChatCompletions } from '../chat/completions.js';
import type { GatehouseConfig } from '../config/index.js';
import type { DelegatedAccess } from '../entra/delegated-access.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GatewaySurface } from '../gateway/surface.js';
import type { Caller } from '../identity/caller.js';
import type { DurableStore, EphemeralStore } from '../storage/contract.js';

/** What a tool may use besides its arguments. */
export interface ToolServices {
  readonly config: GatehouseConfig;
  readonly durable: DurableStore;
  readonly ephemeral: EphemeralStore;
  readonly version: string;
  readonly startedAt: number;
  /** The upstream servers (the registry tools use it). */
  readonly gateway: Gateway;
  /** The upstreams as /mcp serves them, for proxy_request. */
  readonly gatewaySurface: GatewaySurface;
  /** On-behalf-of toward Graph and other Entra-protected APIs; absent without an Entra credential. */
  readonly delegated?: DelegatedAccess;
  /** The chat backend the chat tools forward to; undefined when CHAT_COMPLETIONS_URL is not set. */
  readonly chat?: ChatCompletions | undefined;
  /** Told when a user's notes change, so that their clients hear of it (the note resources). */
  readonly notesChanged?: (userId: string, noteId: string, change: 'created' | 'deleted') => void;
}

export interface ToolCallContext {
  readonly caller: Caller;
  readonly services: ToolServices;
  /** The HTTP request's id (logs, audit). */
  readonly requestId: string;
  /** Aborted when the client cancels the request or goes away. */
  readonly signal: AbortSignal;
  /** Sends notifications/progress when the client asked for it (a no-op otherwise). */
  reportProgress(progress: number, total?: number, message?: string): void;
}

/** A tool's successful outcome: structured data plus the text a model reads. */
export interface ToolOutput<O> {
  structured: O;
  text: string;
  /** A complete result to return as is instead (a relayed upstream result). */
  result?: CallToolResult;
}

export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  input: I;
  /** When set, results carry structuredContent matching it (MCP outputSchema). */
  output?: O;
  annotations?: ToolAnnotations;
  /** Throw a GatehouseError for failures the caller should read; anything else is an internal error. */
  run(
    args: z.output<I>,
    context: ToolCallContext,
  ): Promise<ToolOutput<z.output<O>>> | ToolOutput<z.output<O>>;
}

/** Keeps each tool file's types checked without repeating the generic parameters. */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(
  definition: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return definition;
}

export type { CallToolResult };
