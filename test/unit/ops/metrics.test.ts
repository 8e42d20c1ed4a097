import { describe, expect, it } from 'vitest';
import { MemoryAuditSink } from '../../../src/ops/audit.js';
import { Metrics } from '../../../src/ops/metrics.js';

async function text(metrics: Metrics): Promise<string> {
  return (await metrics.scrape()).body;
}

describe('Metrics', () => {
  it('keeps histogram buckets cumulative, with sum and count', async () => {
    const metrics = new Metrics();
    metrics.toolCall('whoami', 'gatehouse', 'ok', 0.0004);
    metrics.toolCall('whoami', 'gatehouse', 'ok', 0.003);
    metrics.toolCall('whoami', 'gatehouse', 'ok', 60);
    const body = await text(metrics);
    const series = (le: string) =>
      `gatehouse_tool_call_duration_seconds_bucket{tool="whoami",server="gatehouse",outcome="ok",le="${le}"}`;
    expect(body).toContain(`${series('0.001')} 1\n`);
    expect(body).toContain(`${series('0.0025')} 1\n`);
    expect(body).toContain(`${series('0.005')} 2\n`);
    expect(body).toContain(`${series('30')} 2\n`);
    expect(body).toContain(`${series('+Inf')} 3\n`);
    expect(body).toContain(
      'gatehouse_tool_call_duration_seconds_count{tool="whoami",server="gatehouse",outcome="ok"} 3\n',
    );
    expect(body).toContain(
      'gatehouse_tool_call_duration_seconds_sum{tool="whoami",server="gatehouse",outcome="ok"} 60.0034\n',
    );
    expect(body).toContain('# TYPE gatehouse_tool_call_duration_seconds histogram');
  });

  it('counts unknown MCP methods as other, so a client cannot grow the label set', async () => {
    const metrics = new Metrics();
    metrics.mcpRequest('tools/list', true);
    for (let index = 0; index < 50; index++) metrics.mcpRequest(`made/up/${index}`, false);
    const body = await text(metrics);
    expect(body).toContain('gatehouse_mcp_requests_total{method="tools/list",outcome="ok"} 1\n');
    expect(body).toContain('gatehouse_mcp_requests_total{method="other",outcome="error"} 50\n');
    expect(body).not.toContain('made/up');
  });

  it('reads the audit writer and the token cache at scrape time', async () => {
    const metrics = new Metrics();
    let stats = { queued: 3, dropped: 1, written: 10, lastError: null as unknown };
    metrics.observeAudit(() => stats);
    let cache = { hits: 5, misses: 2, entries: 2 };
    metrics.observeTokenCache(() => cache);
    let body = await text(metrics);
    expect(body).toContain('gatehouse_audit_queue_depth 3\n');
    expect(body).toContain('gatehouse_audit_events_dropped_total 1\n');
    expect(body).toContain('gatehouse_audit_write_failing 0\n');
    expect(body).toContain('gatehouse_token_cache_lookups_total{result="hit"} 5\n');
    stats = { queued: 0, dropped: 4, written: 12, lastError: new Error('down') };
    cache = { hits: 9, misses: 2, entries: 3 };
    body = await text(metrics);
    expect(body).toContain('gatehouse_audit_queue_depth 0\n');
    expect(body).toContain('gatehouse_audit_events_dropped_total 4\n');
    expect(body).toContain('gatehouse_audit_events_written_total 12\n');
    expect(body).toContain('gatehouse_audit_write_failing 1\n');
    expect(body).toContain('gatehouse_token_cache_lookups_total{result="hit"} 9\n');
    expect(body).toContain('gatehouse_token_cache_entries 3\n');
  });

  it('tees audit events to the inner sink and counts them; two instances never share counts', async () => {
    const one = new Metrics();
    const two = new Metrics();
    const inner = new MemoryAuditSink();
    const sink = one.auditing(inner);
    sink.emit({
      type: 'auth.failure',
      at: new Date().toISOString(),
      requestId: 'r',
      ip: '127.0.0.1',
      code: 'GH_AUTH_EXPIRED_TOKEN',
      reason: 'expired',
    });
    expect(inner.events).toHaveLength(1);
    expect(await text(one)).toContain('gatehouse_auth_failures_total{code="GH_AUTH_EXPIRED_TOKEN"} 1\n');
    expect(await text(two)).not.toContain('GH_AUTH_EXPIRED_TOKEN');
    one.rateLimited('mcp-user');
    expect(await text(one)).toContain('gatehouse_rate_limited_total{scope="mcp-user"} 1\n');
  });

  it('keeps what the inner sink offers besides emit, answered by the inner sink', async () => {
    class CountingSink {
      readonly #seen: string[] = [];
      emit(event: { type: string }): void {
        this.#seen.push(event.type);
      }
      stats() {
        return { queued: this.#seen.length };
      }
      get last() {
        return this.#seen.at(-1);
      }
    }
    const inner = new CountingSink();
    const tee = new Metrics().auditing(inner as never) as unknown as CountingSink;
    tee.emit({ type: 'tool.decision' } as never);
    expect(tee.stats()).toEqual({ queued: 1 });
    expect(tee.last).toBe('tool.decision');
    const memory = new Metrics().auditing(new MemoryAuditSink());
    expect(memory.events).toEqual([]);
  });
});
