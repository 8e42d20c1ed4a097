import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { freePort } from './ports.js';

/** The entry point of @modelcontextprotocol/server-everything, a real third-party MCP server. */
export const EVERYTHING_BIN = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

/** The config-file entry that runs server-everything as a stdio upstream. */
export const EVERYTHING_STDIO = { command: process.execPath, args: [EVERYTHING_BIN, 'stdio'] } as const;

export interface RunningUpstream {
  /** The MCP endpoint: /mcp for Streamable HTTP, /sse for the legacy transport. */
  url: string;
  port: number;
  child: ChildProcess;
  /** Stops the process (SIGKILL with `kill: true`, as a crash would). */
  close(options?: { kill?: boolean }): Promise<void>;
}

/**
 * server-everything in its Streamable HTTP mode (`streamableHttp`, endpoint /mcp) or its legacy
 * HTTP+SSE mode (`sse`, endpoint /sse), on a free port; resolves once it listens.
 */
export async function startEverything(
  mode: 'streamableHttp' | 'sse',
  port?: number,
): Promise<RunningUpstream> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, [EVERYTHING_BIN, mode], {
    env: { PATH: process.env.PATH ?? '', PORT: String(chosen) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server-everything did not start: ${output}`)), 15_000);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (/listening on port|running on port/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything exited with ${code}: ${output}`));
    });
  });
  child.stderr?.resume();
  return {
    url: `http://127.0.0.1:${chosen}/${mode === 'sse' ? 'sse' : 'mcp'}`,
    port: chosen,
    child,
    close: ({ kill = false } = {}) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(kill ? 'SIGKILL' : 'SIGTERM');
      }),
  };
}
