import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the request path, exposed through a prom-client Registry.
 *
 * prom-client's own `inc()`/`observe()` hash the label object into a string on every call. Here a
 * labelled series is a cell the caller looks up once (and keeps in a Map of its own): counting is
 * then one addition, and observing a duration one short loop over the bucket bounds. The labels
 * are turned into text only when Prometheus scrapes.
 */

interface MetricValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

/** What a prom-client Registry asks of a metric (the shape its own metrics have). */
interface RegistryMetric {
  name: string;
  help: string;
  type: string;
  aggregator: 'sum';
  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' };
}

export interface CounterCell {
  value: number;
}

export class CounterFamily implements RegistryMetric {
  readonly type = 'counter';
  readonly aggregator = 'sum' as const;
  readonly #cells = new Map<string, { labels: Record<string, string>; cell: CounterCell }>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {
    registry.registerMetric(this as never);
  }

  /** The series for these label values (in labelNames order); keep it: it is the cheap part. */
  cell(...values: string[]): CounterCell {
    const key = values.join('\u0000');
    let entry = this.#cells.get(key);
    if (entry === undefined) {
      entry = { labels: labelsOf(this.labelNames, values), cell: { value: 0 } };
      this.#cells.set(key, entry);
    }
    return entry.cell;
  }

  get() {
    const values: MetricValue[] = [];
    for (const { labels, cell } of this.#cells.values()) values.push({ labels, value: cell.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class HistogramCell {
  /** Observations per bucket, not cumulative (the last slot is +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let index = 0;
    while (index < bounds.length && value > (bounds[index] as number)) index++;
    this.counts[index] = (this.counts[index] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

export class HistogramFamily implements RegistryMetric {
  readonly type = 'histogram';
  readonly aggregator = 'sum' as const;
  readonly #cells = new Map<string, { labels: Record<string, string>; cell: HistogramCell }>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    registry.registerMetric(this as never);
  }

  cell(...values: string[]): HistogramCell {
    const key = values.join('\u0000');
    let entry = this.#cells.get(key);
    if (entry === undefined) {
      entry = { labels: labelsOf(this.labelNames, values), cell: new HistogramCell(this.bounds) };
      this.#cells.set(key, entry);
    }
    return entry.cell;
  }

  get() {
    const values: MetricValue[] = [];
    for (const { labels, cell } of this.#cells.values()) {
      let cumulative = 0;
      for (let index = 0; index <= this.bounds.length; index++) {
        cumulative += cell.counts[index] as number;
        const le = index < this.bounds.length ? String(this.bounds[index]) : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((name, index) => {
    labels[name] = values[index] ?? '';
  });
  return labels;
}
