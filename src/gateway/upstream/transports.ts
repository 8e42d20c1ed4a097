import {
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { UpstreamTransport } from '../server-config.js';

/**
 * One way of reaching an upstream per transport kind, all behind the SDK's Transport interface:
 * the rest of the gateway never knows which one it talks through.
 */
export function createTransport(
  transport: UpstreamTransport,
  onStderrLine: (line: string) => void,
): Transport {
  switch (transport.kind) {
    case 'streamable-http':
      return new StreamableHTTPClientTransport(new URL(transport.url), {
        requestInit: { headers: { ...transport.headers } },
        // Never follow an upstream to another origin: the redirect would carry its stored headers along.
        redirectPolicy: 'same-origin',
        fetch: fetchWithOwnSignal,
        // A broken answer stream is resumed briefly; past that the upstream counts as gone (connection.ts).
        reconnectionOptions: {
          initialReconnectionDelay: 250,
          maxReconnectionDelay: 1000,
          reconnectionDelayGrowFactor: 2,
          maxRetries: 2,
        },
      });
    case 'sse':
      return new SSEClientTransport(new URL(transport.url), {
        requestInit: { headers: { ...transport.headers } },
        redirectPolicy: 'same-origin',
        fetch: fetchWithOwnSignal,
      });
    case 'stdio': {
      const child = new StdioClientTransport({
        command: transport.command,
        args: [...transport.args],
        // The child gets a minimal environment (PATH, HOME, …, as the SDK chooses) plus its own env: never Gatehouse's secrets.
        env: { ...stdioBaseEnvironment(), ...transport.env },
        ...(transport.cwd === undefined ? {} : { cwd: transport.cwd }),
        stderr: 'pipe',
      });
      let partial = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        partial += chunk.toString('utf8');
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') onStderrLine(line.trimEnd());
      });
      return child;
    }
  }
}

/**
 * The SDK hands every fetch its connection's one long-lived AbortSignal; undici then keeps an
 * 'abort' listener on it per request until garbage collection, which slows each request down and
 * floods stderr with MaxListenersExceededWarning. A signal of its own per request (following the
 * connection's) keeps the listeners short-lived.
 */
const fetchWithOwnSignal: typeof fetch = (input, init) =>
  fetch(input, init?.signal ? { ...init, signal: AbortSignal.any([init.signal]) } : init);

const INHERITED = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'TMPDIR',
  'LANG',
  'SYSTEMROOT',
  'APPDATA',
];

function stdioBaseEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED) {
    const value = process.env[key];
    if (value !== undefined && !value.startsWith('()')) env[key] = value;
  }
  return env;
}
