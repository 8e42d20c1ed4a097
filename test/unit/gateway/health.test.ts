import { beforeEach, describe, expect, it } from 'vitest';
import {
  CircuitBreaker,
  DEFAULT_CIRCUIT_SETTINGS,
  DEFAULT_HEALTH_SETTINGS,
  HealthRecord,
} from '../../../src/gateway/health.js';

let t = 0;
const now = () => t;

beforeEach(() => {
  t = 1_000_000;
});

describe('HealthRecord', () => {
  const ok = (latencyMs = 10) => ({ ok: true, latencyMs });
  const fail = (error = 'ECONNREFUSED') => ({ ok: false, latencyMs: 5, error });

  it('goes unknown → healthy → stays healthy below the threshold → unhealthy at it → healthy after one success', () => {
    const health = new HealthRecord({ unhealthyAfter: 3 }, now);
    expect(health.status).toBe('unknown');
    health.record(ok());
    expect(health.status).toBe('healthy');
    health.record(fail());
    health.record(fail());
    expect(health.status).toBe('healthy');
    expect(health.snapshot().consecutiveFailures).toBe(2);
    health.record(fail());
    expect(health.status).toBe('unhealthy');
    expect(health.snapshot().consecutiveFailures).toBe(3);
    health.record(ok());
    expect(health.status).toBe('healthy');
    expect(health.snapshot().consecutiveFailures).toBe(0);
  });

  it('stays unknown while failing below the threshold if it was never ok, then turns unhealthy', () => {
    const health = new HealthRecord({ unhealthyAfter: 2 }, now);
    health.record(fail());
    expect(health.status).toBe('unknown');
    health.record(fail());
    expect(health.status).toBe('unhealthy');
  });

  it('uses the default threshold of 3', () => {
    expect(DEFAULT_HEALTH_SETTINGS).toEqual({ unhealthyAfter: 3, historySize: 20 });
    const health = new HealthRecord({}, now);
    health.record(ok());
    health.record(fail());
    health.record(fail());
    expect(health.status).toBe('healthy');
    health.record(fail());
    expect(health.status).toBe('unhealthy');
  });

  it('keeps at most historySize checks, oldest first, each stamped with the clock', () => {
    const health = new HealthRecord({ historySize: 3 }, now);
    for (const latencyMs of [1, 2, 3, 4, 5]) {
      t += 1000;
      health.record(ok(latencyMs));
    }
    const { history } = health.snapshot();
    expect(history.map((check) => check.latencyMs)).toEqual([3, 4, 5]);
    expect(history.map((check) => check.at)).toEqual([1_003_000, 1_004_000, 1_005_000]);
  });

  it('reports the latency of the last success, the last error and when it was last ok', () => {
    const health = new HealthRecord({}, now);
    expect(health.snapshot()).toEqual({
      status: 'unknown',
      consecutiveFailures: 0,
      lastCheckAt: null,
      lastOkAt: null,
      latencyMs: null,
      lastError: null,
      history: [],
    });

    t = 2000;
    health.record(ok(42));
    t = 3000;
    health.record(fail('timeout after 5000 ms'));
    expect(health.snapshot()).toMatchObject({
      lastCheckAt: 3000,
      lastOkAt: 2000,
      latencyMs: 42,
      lastError: 'timeout after 5000 ms',
    });
    expect(health.snapshot().history).toEqual([
      { at: 2000, ok: true, latencyMs: 42, error: null },
      { at: 3000, ok: false, latencyMs: 5, error: 'timeout after 5000 ms' },
    ]);

    t = 4000;
    health.record(ok(7));
    expect(health.snapshot()).toMatchObject({ lastCheckAt: 4000, lastOkAt: 4000, latencyMs: 7 });
    // The error outlives the recovery, so the API can still say what went wrong last.
    expect(health.snapshot().lastError).toBe('timeout after 5000 ms');
  });

  it('hands out a copy that later checks and callers cannot disturb', () => {
    const health = new HealthRecord({}, now);
    health.record(ok(10));
    const snapshot = health.snapshot();
    snapshot.history[0]!.latencyMs = 999;
    snapshot.history.push({ at: 0, ok: false, latencyMs: 0, error: 'forged' });
    health.record(fail());
    expect(snapshot.status).toBe('healthy');
    expect(snapshot.consecutiveFailures).toBe(0);
    const fresh = health.snapshot();
    expect(fresh.history.map((check) => check.latencyMs)).toEqual([10, 5]);
    expect(JSON.parse(JSON.stringify(fresh))).toEqual(fresh);
  });

  it.each([
    ['unhealthyAfter', 0],
    ['unhealthyAfter', 1.5],
    ['historySize', -1],
    ['historySize', Number.NaN],
  ])('refuses %s = %s', (name, value) => {
    expect(() => new HealthRecord({ [name]: value }, now)).toThrow(name);
  });
});

describe('CircuitBreaker', () => {
  const settings = { failureThreshold: 3, openMs: 10_000, maxOpenMs: 35_000 };

  const failTimes = (breaker: CircuitBreaker, n: number) => {
    for (let i = 0; i < n; i++) breaker.failure();
  };

  /** Waits out the current opening, admits the probe and fails it. */
  const failProbe = (breaker: CircuitBreaker) => {
    t = breaker.snapshot().retryAt!;
    expect(breaker.admit()).toEqual({ allowed: true, probe: true });
    breaker.failure();
  };

  it('stays closed below the threshold', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    expect(breaker.admit()).toEqual({ allowed: true, probe: false });
    expect(breaker.snapshot()).toEqual({
      state: 'closed',
      consecutiveFailures: 2,
      openedAt: null,
      retryAt: null,
      openings: 0,
    });
  });

  it('opens at the threshold and refuses calls until openMs has passed', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 3);
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot()).toEqual({
      state: 'open',
      consecutiveFailures: 3,
      openedAt: 1_000_000,
      retryAt: 1_010_000,
      openings: 1,
    });
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1_010_000 });
    t = 1_009_999;
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1_010_000 });
    expect(breaker.state).toBe('open');
  });

  it('uses the default threshold and opening', () => {
    expect(DEFAULT_CIRCUIT_SETTINGS).toEqual({ failureThreshold: 5, openMs: 30_000, maxOpenMs: 300_000 });
    const breaker = new CircuitBreaker({}, now);
    failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1_030_000 });
  });

  it('resets the count on a success in between', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 2);
    breaker.success();
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
    failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('open');
  });

  it('does not let late failures of calls admitted before the opening push retryAt back', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 3);
    t += 5000;
    breaker.failure();
    expect(breaker.snapshot()).toMatchObject({ retryAt: 1_010_000, openings: 1 });
  });

  it('reports open until a caller arrives, then lets exactly one probe through and refuses the rest', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 3);
    t = 1_010_000;
    expect(breaker.state).toBe('open');
    expect(breaker.admit()).toEqual({ allowed: true, probe: true });
    expect(breaker.state).toBe('half-open');
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1_011_000 });
    t += 500;
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: 1_011_500 });
  });

  it('asks for a wait no longer than the opening itself while a probe is in flight', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 200, maxOpenMs: 200 }, now);
    breaker.failure();
    t += 200;
    expect(breaker.admit()).toEqual({ allowed: true, probe: true });
    expect(breaker.admit()).toEqual({ allowed: false, retryAt: t + 200 });
  });

  it('hands out a fresh probe if the one in flight is never reported', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 3);
    t = 1_010_000;
    expect(breaker.admit()).toMatchObject({ probe: true });
    t = 1_019_999;
    expect(breaker.admit()).toMatchObject({ allowed: false });
    t = 1_020_000;
    expect(breaker.admit()).toEqual({ allowed: true, probe: true });
    expect(breaker.admit()).toMatchObject({ allowed: false });
  });

  it('closes on a probe success and resets the opening to openMs', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 3);
    failProbe(breaker);
    expect(breaker.snapshot().openings).toBe(2);
    t = breaker.snapshot().retryAt!;
    expect(breaker.admit()).toMatchObject({ probe: true });
    breaker.success();
    expect(breaker.snapshot()).toEqual({
      state: 'closed',
      consecutiveFailures: 0,
      openedAt: null,
      retryAt: null,
      openings: 0,
    });
    expect(breaker.admit()).toEqual({ allowed: true, probe: false });

    failTimes(breaker, 3);
    expect(breaker.snapshot().retryAt! - t).toBe(10_000);
  });

  it('reopens for twice as long each time a probe fails, up to maxOpenMs', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 3);
    const durations: number[] = [];
    for (let i = 0; i < 4; i++) {
      failProbe(breaker);
      const { state, openedAt, retryAt } = breaker.snapshot();
      expect(state).toBe('open');
      expect(openedAt).toBe(t);
      durations.push(retryAt! - openedAt!);
    }
    expect(durations).toEqual([20_000, 35_000, 35_000, 35_000]);
    expect(breaker.snapshot().openings).toBe(5);
  });

  it('closes on a successful health check even while open', () => {
    const breaker = new CircuitBreaker(settings, now);
    failTimes(breaker, 3);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.admit()).toEqual({ allowed: true, probe: false });
  });

  it.each([
    ['failureThreshold', 0],
    ['openMs', -5],
    ['maxOpenMs', 2.5],
    ['openMs', Number.POSITIVE_INFINITY],
  ])('refuses %s = %s', (name, value) => {
    expect(() => new CircuitBreaker({ [name]: value }, now)).toThrow(name);
  });

  it('refuses a maxOpenMs shorter than openMs', () => {
    expect(() => new CircuitBreaker({ openMs: 60_000, maxOpenMs: 30_000 }, now)).toThrow('maxOpenMs');
  });

  it('takes the default for a setting passed as undefined', () => {
    expect(() => new CircuitBreaker({ openMs: undefined }, now)).not.toThrow();
  });
});
