import type { Gateway } from './gateway.js';
import type { CircuitSnapshot, HealthSnapshot } from './health.js';
import type { ServerView } from './registry.js';

export interface ServerHealth {
  name: string;
  enabled: boolean;
  /** 'disabled', or the active checks' verdict. */
  status: 'disabled' | HealthSnapshot['status'];
  connected: boolean;
  /** The protocol version negotiated with the upstream, once connected. */
  protocolVersion: string | null;
  checks: Omit<HealthSnapshot, 'lastCheckAt' | 'lastOkAt' | 'history'> & {
    lastCheckAt: string | null;
    lastOkAt: string | null;
    history: { at: string; ok: boolean; latencyMs: number; error: string | null }[];
  };
  circuit: Omit<CircuitSnapshot, 'openedAt' | 'retryAt'> & {
    openedAt: string | null;
    retryAt: string | null;
  };
}

/** A server's health and circuit, with times as ISO strings: what the API and get_server_health answer. */
export function serverHealth(gateway: Gateway, name: string): ServerHealth | undefined {
  const runtime = gateway.anyRuntime(name);
  if (runtime === undefined) return undefined;
  const health = runtime.health.snapshot();
  const circuit = runtime.breaker.snapshot();
  return {
    name,
    enabled: runtime.server.enabled,
    status: runtime.server.enabled ? health.status : 'disabled',
    connected: runtime.connection.connected,
    protocolVersion: runtime.connection.protocolVersion ?? null,
    checks: {
      ...health,
      lastCheckAt: iso(health.lastCheckAt),
      lastOkAt: iso(health.lastOkAt),
      history: health.history.map((check) => ({ ...check, at: new Date(check.at).toISOString() })),
    },
    circuit: { ...circuit, openedAt: iso(circuit.openedAt), retryAt: iso(circuit.retryAt) },
  };
}

/** One line per server for lists: its definition (secrets masked) and where it stands. */
export function serverSummary(gateway: Gateway, view: ServerView) {
  const runtime = gateway.anyRuntime(view.name);
  const definition = view.definition;
  return {
    ...view,
    title: typeof definition.title === 'string' ? definition.title : view.name,
    transport:
      runtime?.server.transport.kind ??
      (definition.command !== undefined ? 'stdio' : definition.type === 'sse' ? 'sse' : 'streamable-http'),
    enabled: runtime?.server.enabled ?? definition.enabled !== false,
    status: runtime === undefined ? 'unknown' : runtime.server.enabled ? runtime.health.status : 'disabled',
    circuit: runtime?.breaker.state ?? 'closed',
  };
}

function iso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}
