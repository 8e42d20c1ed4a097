/**
 * Upstream health as two small state machines, kept pure (no I/O, no timers, the clock injected)
 * so the checker and the forwarder own the side effects and the tests own time:
 * - HealthRecord: what periodic checks said about one server, for the API and the admin pages;
 * - CircuitBreaker: whether calls to one server may go out at all, so a dead upstream costs
 *   callers an immediate refusal instead of a timeout each.
 */

export interface HealthSettings {
  /** consecutive failed checks after which the server is 'unhealthy' */
  unhealthyAfter: number;
  /** how many recent checks to keep */
  historySize: number;
}

export interface CircuitSettings {
  /** consecutive call failures (transport errors, timeouts — never tool errors) that open the circuit */
  failureThreshold: number;
  /** how long the first opening lasts */
  openMs: number;
  /** openings double while half-open probes keep failing, up to this */
  maxOpenMs: number;
}

export const DEFAULT_HEALTH_SETTINGS: HealthSettings = Object.freeze({ unhealthyAfter: 3, historySize: 20 });

export const DEFAULT_CIRCUIT_SETTINGS: CircuitSettings = Object.freeze({
  failureThreshold: 5,
  openMs: 30_000,
  maxOpenMs: 300_000,
});

/** The longest a caller is told to wait while a half-open probe is in flight. */
const PROBE_WAIT_MS = 1000;

export interface HealthCheck {
  at: number;
  ok: boolean;
  latencyMs: number;
  error: string | null;
}

export type HealthStatus = 'unknown' | 'healthy' | 'unhealthy';

export interface HealthSnapshot {
  status: HealthStatus;
  consecutiveFailures: number;
  lastCheckAt: number | null;
  lastOkAt: number | null;
  /** of the last successful check */
  latencyMs: number | null;
  /** of the last failed check; kept after a recovery so the API can still show what went wrong */
  lastError: string | null;
  /** oldest first, at most historySize */
  history: HealthCheck[];
}

/** One server's active health: fed by the checker, read by the API. */
export class HealthRecord {
  readonly #settings: HealthSettings;
  readonly #now: () => number;
  readonly #history: HealthCheck[] = [];
  #consecutiveFailures = 0;
  #lastOkAt: number | null = null;
  #latencyMs: number | null = null;
  #lastError: string | null = null;

  constructor(settings: Partial<HealthSettings> = {}, now: () => number = Date.now) {
    this.#settings = Object.freeze({
      unhealthyAfter: positiveInteger('unhealthyAfter', settings.unhealthyAfter, DEFAULT_HEALTH_SETTINGS),
      historySize: positiveInteger('historySize', settings.historySize, DEFAULT_HEALTH_SETTINGS),
    });
    this.#now = now;
  }

  record(result: { ok: boolean; latencyMs: number; error?: string }): void {
    const check: HealthCheck = {
      at: this.#now(),
      ok: result.ok,
      latencyMs: result.latencyMs,
      error: result.ok ? null : (result.error ?? null),
    };
    this.#history.push(check);
    if (this.#history.length > this.#settings.historySize) this.#history.shift();
    if (check.ok) {
      this.#consecutiveFailures = 0;
      this.#lastOkAt = check.at;
      this.#latencyMs = check.latencyMs;
    } else {
      this.#consecutiveFailures += 1;
      this.#lastError = check.error;
    }
  }

  /** A blip below the threshold keeps the previous verdict, so one lost check does not flap the status. */
  get status(): HealthStatus {
    if (this.#consecutiveFailures >= this.#settings.unhealthyAfter) return 'unhealthy';
    return this.#lastOkAt === null ? 'unknown' : 'healthy';
  }

  snapshot(): HealthSnapshot {
    const last = this.#history.at(-1);
    return {
      status: this.status,
      consecutiveFailures: this.#consecutiveFailures,
      lastCheckAt: last?.at ?? null,
      lastOkAt: this.#lastOkAt,
      latencyMs: this.#latencyMs,
      lastError: this.#lastError,
      history: this.#history.map((check) => ({ ...check })),
    };
  }
}

export type CircuitState = 'closed' | 'open' | 'half-open';
export type Admission = { allowed: true; probe: boolean } | { allowed: false; retryAt: number };

export interface CircuitSnapshot {
  state: CircuitState;
  consecutiveFailures: number;
  openedAt: number | null;
  retryAt: number | null;
  /** openings since the circuit last closed; each one doubles the next open duration */
  openings: number;
}

/**
 * The circuit breaker in front of one upstream, as a small state machine. Time only moves it in
 * admit(): `state` reports 'open' until a caller arrives at or after retryAt, so reading it never
 * changes it and the probe is always handed to someone who will actually make the call.
 */
export class CircuitBreaker {
  readonly #settings: CircuitSettings;
  readonly #now: () => number;
  #state: CircuitState = 'closed';
  #consecutiveFailures = 0;
  #openings = 0;
  #openedAt: number | null = null;
  #retryAt: number | null = null;
  /** When an admitted probe counts as lost (its caller never reported), so half-open cannot stick. */
  #probeExpiresAt = 0;

  constructor(settings: Partial<CircuitSettings> = {}, now: () => number = Date.now) {
    const failureThreshold = positiveInteger(
      'failureThreshold',
      settings.failureThreshold,
      DEFAULT_CIRCUIT_SETTINGS,
    );
    const openMs = positiveInteger('openMs', settings.openMs, DEFAULT_CIRCUIT_SETTINGS);
    const maxOpenMs = positiveInteger('maxOpenMs', settings.maxOpenMs, DEFAULT_CIRCUIT_SETTINGS);
    if (maxOpenMs < openMs)
      throw new Error(`circuit: maxOpenMs (${maxOpenMs}) must be at least openMs (${openMs})`);
    this.#settings = Object.freeze({ failureThreshold, openMs, maxOpenMs });
    this.#now = now;
  }

  admit(): Admission {
    const now = this.#now();
    if (this.#state === 'closed') return { allowed: true, probe: false };
    if (this.#state === 'open' && now < this.#retryAt!) return { allowed: false, retryAt: this.#retryAt! };
    if (this.#state === 'half-open' && now < this.#probeExpiresAt) {
      return { allowed: false, retryAt: now + Math.min(PROBE_WAIT_MS, this.#openDuration()) };
    }
    this.#state = 'half-open';
    this.#probeExpiresAt = now + this.#openDuration();
    return { allowed: true, probe: true };
  }

  success(): void {
    this.#state = 'closed';
    this.#consecutiveFailures = 0;
    this.#openings = 0;
    this.#openedAt = null;
    this.#retryAt = null;
  }

  failure(): void {
    // A straggler admitted before the circuit opened must not push retryAt further away.
    if (this.#state === 'open') return;
    this.#consecutiveFailures += 1;
    if (this.#state === 'half-open' || this.#consecutiveFailures >= this.#settings.failureThreshold) {
      this.#openings += 1;
      this.#state = 'open';
      this.#openedAt = this.#now();
      this.#retryAt = this.#openedAt + this.#openDuration();
    }
  }

  get state(): CircuitState {
    return this.#state;
  }

  snapshot(): CircuitSnapshot {
    return {
      state: this.#state,
      consecutiveFailures: this.#consecutiveFailures,
      openedAt: this.#openedAt,
      retryAt: this.#retryAt,
      openings: this.#openings,
    };
  }

  /** openMs for the first opening, doubled for each failed probe since, capped at maxOpenMs. */
  #openDuration(): number {
    const doublings = Math.max(0, this.#openings - 1);
    return Math.min(this.#settings.openMs * 2 ** doublings, this.#settings.maxOpenMs);
  }
}

/** An omitted (or undefined) setting takes its default; a present one must be a positive integer. */
function positiveInteger<K extends string>(name: K, value: number | undefined, defaults: Record<K, number>) {
  const resolved = value ?? defaults[name];
  if (!Number.isInteger(resolved) || resolved <= 0) {
    throw new Error(`${name} must be a positive integer, got ${String(value)}`);
  }
  return resolved;
}
