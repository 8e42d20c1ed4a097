import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** mcp-remote, fetched by npx from the npm registry on the first run and cached after. */
export const MCP_REMOTE = 'mcp-remote@0.15.1';
/** The $BROWSER mcp-remote opens the authorize URL with: a script that submits the forms over HTTP. */
export const BROWSER = fileURLToPath(new URL('../e2e/fixtures/submit-forms-browser.mjs', import.meta.url));
/** Longest wait for one answer (the first one includes npx fetching mcp-remote, and the sign-in). */
const ANSWER_DEADLINE_MS = 150_000;

export interface JsonRpcAnswer {
  jsonrpc: '2.0';
  id: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/**
 * mcp-remote in bridge mode: an MCP client speaks JSON-RPC on its stdin and stdout, and it speaks
 * Streamable HTTP (or, with transport sse-only, the legacy HTTP+SSE transport) to Gatehouse, signing in through OAuth first (it opens the authorize URL with
 * $BROWSER, then waits for the code on its loopback callback port). Its stdin stays open until
 * close(): mcp-remote exits as soon as stdin ends.
 */
export class McpRemoteBridge {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers = new Map<number, JsonRpcAnswer>();
  private readonly waiting = new Map<number, () => void>();
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  stderr = '';

  constructor(
    mcpUrl: string,
    callbackPort: number,
    /** Where the browser script writes the pages it saw (SUBMIT_FORMS_LOG). */
    private readonly browserLog: string,
    env: Record<string, string>,
    transport: 'http-only' | 'sse-only' = 'http-only',
  ) {
    this.child = spawn(
      'npx',
      [
        '-y',
        MCP_REMOTE,
        mcpUrl,
        String(callbackPort),
        '--host',
        '127.0.0.1',
        '--allow-http',
        '--transport',
        transport,
      ],
      { env: { ...process.env, ...env, SUBMIT_FORMS_LOG: browserLog }, detached: true },
    );
    let partial = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim().startsWith('{')) continue;
        const message = JSON.parse(line) as JsonRpcAnswer;
        if (typeof message.id !== 'number') continue;
        this.answers.set(message.id, message);
        this.waiting.get(message.id)?.();
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        this.exitCode = code;
        for (const wake of this.waiting.values()) wake();
        resolve(code);
      }),
    );
  }

  notify(method: string, params: Record<string, unknown> = {}): void {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  }

  /** Sends a request and resolves with its answer; rejects if mcp-remote exits or hangs first. */
  async request(id: number, method: string, params: Record<string, unknown> = {}): Promise<JsonRpcAnswer> {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    let deadline: NodeJS.Timeout | undefined;
    let probe: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      if (this.answers.has(id) || this.exitCode !== undefined) return resolve();
      this.waiting.set(id, resolve);
      deadline = setTimeout(resolve, ANSWER_DEADLINE_MS);
      // A browser that gave up means no code will ever come: stop waiting at once.
      probe = setInterval(() => {
        if (this.browserError() !== undefined) resolve();
      }, 250);
    });
    clearTimeout(deadline);
    clearInterval(probe);
    const answer = this.answers.get(id);
    if (answer === undefined) {
      const why = this.exitCode === undefined ? 'gave no answer' : `exited (${this.exitCode})`;
      const browser = this.browserError();
      throw new Error(
        `mcp-remote ${why} to ${method}${browser ? `; the browser script failed: ${browser}` : ''}; its log:\n${this.stderr.slice(-4000)}`,
      );
    }
    return answer;
  }

  private browserError(): string | undefined {
    return pagesSeen(this.browserLog).find((page) => page.kind === 'error')?.message;
  }

  /** Closes stdin, on which mcp-remote shuts down; stops it if it does not. */
  async close(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.stdin.end();
    const stop = setTimeout(() => {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGTERM');
    }, 5_000);
    await this.exited;
    clearTimeout(stop);
  }
}

export interface PageSeen {
  kind: 'redirect' | 'consent' | 'sign-in' | 'callback' | 'error';
  url?: string;
  status?: number;
  message?: string;
}

/** What the browser script recorded, one JSON line per page (see fixtures/submit-forms-browser.mjs). */
export function pagesSeen(log: string): PageSeen[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as PageSeen);
}
