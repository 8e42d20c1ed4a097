import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { GatehouseError, isGatehouseError } from '../errors/index.js';
import type { AuditSink } from '../ops/audit.js';
import type { ToolCallContext, ToolDefinition } from './tool.js';

interface RegisteredTool {
  definition: ToolDefinition;
  /** The tools/list entry, computed once. */
  descriptor: Tool;
}

export type ToolFailureLog = (error: unknown, toolName: string) => void;

/** Where a tool-error result carries its GH_… code. */
export const ERROR_CODE_META_KEY = 'io.gatehouse/error-code';

/**
 * The tools Gatehouse serves. Schemas are turned into JSON Schema once at start; a call costs a
 * map lookup, one schema parse and the tool itself.
 */
export class ToolRegistry {
  readonly #tools = new Map<string, RegisteredTool>();

  constructor(
    definitions: readonly ToolDefinition[],
    private readonly onInternalFailure: ToolFailureLog,
    /** Told of every call that reached a tool (tool.call), with its outcome and duration. */
    private readonly audit?: AuditSink,
  ) {
    for (const definition of definitions) {
      if (this.#tools.has(definition.name)) throw new Error(`Tool ${definition.name} is defined twice`);
      this.#tools.set(definition.name, { definition, descriptor: describe(definition) });
    }
  }

  has(name: string): boolean {
    return this.#tools.has(name);
  }

  list(): Tool[] {
    return Array.from(this.#tools.values(), (tool) => tool.descriptor);
  }

  /**
   * Runs a tool. Unknown tools are a protocol error (thrown); bad arguments and tool failures are
   * tool results with isError, so a model can read what to change and try again.
   */
  async call(name: string, rawArguments: unknown, context: ToolCallContext): Promise<CallToolResult> {
    const tool = this.#tools.get(name);
    if (tool === undefined) {
      throw new GatehouseError(
        'GH_TOOL_UNKNOWN',
        `Unknown tool: '${name}'. Call tools/list to see the tools you can use.`,
      );
    }
    const started = performance.now();
    const parsed = tool.definition.input.safeParse(rawArguments ?? {});
    if (!parsed.success) {
      return this.finished(
        name,
        rawArguments,
        context,
        started,
        toolError(
          'GH_TOOL_INVALID_ARGUMENTS',
          `Invalid arguments for ${name}: ${describeIssues(parsed.error)}`,
        ),
      );
    }
    let result: CallToolResult;
    try {
      const output = await tool.definition.run(parsed.data, context);
      if (output.result !== undefined) result = output.result;
      else {
        result = { content: [{ type: 'text', text: output.text }] };
        if (tool.definition.output !== undefined)
          result.structuredContent = output.structured as Record<string, unknown>;
      }
    } catch (error) {
      if (isGatehouseError(error)) result = toolError(error.code, error.message);
      else {
        this.onInternalFailure(error, name);
        result = toolError('GH_INTERNAL', `${name} failed unexpectedly; the server log has the details.`);
      }
    }
    return this.finished(name, rawArguments, context, started, result);
  }

  /** Audits the finished call (one event object, nothing awaited) and hands its result back. */
  private finished(
    name: string,
    rawArguments: unknown,
    context: ToolCallContext,
    started: number,
    result: CallToolResult,
  ): CallToolResult {
    const audit = this.audit;
    if (audit === undefined) return result;
    const failed = result.isError === true;
    const code = failed ? result._meta?.[ERROR_CODE_META_KEY] : undefined;
    audit.emit({
      type: 'tool.call',
      at: Date.now(),
      requestId: context.requestId,
      userId: context.caller.userId,
      tenantId: context.caller.tenantId,
      clientId: context.caller.clientAppId,
      tool: name,
      outcome: failed ? 'tool-error' : 'ok',
      errorCode: typeof code === 'string' ? code : null,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      arguments: rawArguments,
    });
    return result;
  }
}

export function toolError(code: string, message: string): CallToolResult {
  return {
    content: [{ type: 'text', text: message }],
    isError: true,
    _meta: { [ERROR_CODE_META_KEY]: code },
  };
}

function describe(definition: ToolDefinition): Tool {
  const descriptor: Tool = {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema: jsonSchemaOf(definition.input) as Tool['inputSchema'],
  };
  if (definition.output !== undefined)
    descriptor.outputSchema = jsonSchemaOf(definition.output) as Tool['outputSchema'];
  if (definition.annotations !== undefined) descriptor.annotations = definition.annotations;
  return descriptor;
}

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  if (rest.type !== 'object') throw new Error('MCP tool schemas must describe an object');
  return rest;
}

/** "'numbers[1]': expected number, received string; unknown argument 'foo'" */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const where = issue.path.length > 0 ? ` in '${formatPath(issue.path)}'` : '';
        return `unknown argument${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `'${key}'`).join(', ')}${where}`;
      }
      const where = issue.path.length > 0 ? `'${formatPath(issue.path)}'` : 'arguments';
      return `${where}: ${issue.message.replace(/^Invalid input: /, '')}`;
    })
    .join('; ');
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    text +=
      typeof segment === 'number' ? `[${segment}]` : text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}
