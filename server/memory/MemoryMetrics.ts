import {
  checkMetricDef, type CounterMetric, type GaugeMetric, type HistogramMetric, type MetricDef, type MetricLabels, type Metrics,
} from '../ports/Metrics.ts';

interface Series {
  value: number;
  /** Histograms: observations and their sum. */
  count: number;
  sum: number;
}

interface Declared {
  signature: string;
  labelNames: readonly string[];
  series: Map<string, Series>;
  instrument: CounterMetric | GaugeMetric | HistogramMetric;
}

/**
 * The `Metrics` port in memory, with read-back for tests (`value`, `count`, `sum`, `total`).
 * Same contract as PromMetrics (test/contracts/metrics.test.ts runs both).
 */
export class MemoryMetrics implements Metrics {
  private readonly declared = new Map<string, Declared>();

  counter(def: MetricDef): CounterMetric {
    return this.declare('counter', def, '', (series, key) => ({
      inc: (labels = {}, amount = 1) => {
        if (!(amount >= 0) || !Number.isFinite(amount)) return;
        series(key(labels)).value += amount;
      },
    })) as CounterMetric;
  }

  gauge(def: MetricDef): GaugeMetric {
    return this.declare('gauge', def, '', (series, key) => ({
      set: (labels, value) => { if (Number.isFinite(value)) series(key(labels)).value = value; },
      inc: (labels = {}, amount = 1) => { if (Number.isFinite(amount)) series(key(labels)).value += amount; },
      dec: (labels = {}, amount = 1) => { if (Number.isFinite(amount)) series(key(labels)).value -= amount; },
    })) as GaugeMetric;
  }

  histogram(def: MetricDef & { bucketsSeconds: readonly number[] }): HistogramMetric {
    return this.declare('histogram', def, def.bucketsSeconds.join(','), (series, key) => ({
      observe: (labels, value) => {
        if (!Number.isFinite(value)) return;
        const s = series(key(labels));
        s.count++;
        s.sum += value;
      },
    })) as HistogramMetric;
  }

  /** A counter's or gauge's value for exactly these labels (0 when never recorded). */
  value(name: string, labels: MetricLabels = {}): number {
    return this.series(name, labels)?.value ?? 0;
  }

  /** A histogram's observation count for these labels. */
  count(name: string, labels: MetricLabels = {}): number {
    return this.series(name, labels)?.count ?? 0;
  }

  /** A histogram's sum for these labels. */
  sum(name: string, labels: MetricLabels = {}): number {
    return this.series(name, labels)?.sum ?? 0;
  }

  /** Summed over every series of `name` whose labels include `match` (values, or counts for histograms). */
  total(name: string, match: MetricLabels = {}): number {
    const declared = this.declared.get(name);
    if (!declared) return 0;
    let total = 0;
    for (const [key, s] of declared.series) {
      const labels = JSON.parse(key) as Record<string, string>;
      if (Object.entries(match).every(([k, v]) => labels[k] === v)) total += declared.signature.startsWith('histogram') ? s.count : s.value;
    }
    return total;
  }

  /** Every instrument declared so far: name, kind and label names. */
  declaredMetrics(): Array<{ name: string; kind: 'counter' | 'gauge' | 'histogram'; labelNames: readonly string[] }> {
    return [...this.declared].map(([name, d]) => ({ name, kind: d.signature.split('|')[0] as 'counter' | 'gauge' | 'histogram', labelNames: d.labelNames }));
  }

  private series(name: string, labels: MetricLabels): Series | undefined {
    const declared = this.declared.get(name);
    return declared?.series.get(labelKey(declared.labelNames, labels));
  }

  private declare(
    kind: 'counter' | 'gauge' | 'histogram', def: MetricDef, extra: string,
    make: (series: (key: string) => Series, key: (labels: MetricLabels) => string) => Declared['instrument'],
  ): Declared['instrument'] {
    checkMetricDef(kind, def);
    const labelNames = def.labelNames ?? [];
    const signature = `${kind}|${labelNames.join(',')}|${extra}`;
    const known = this.declared.get(def.name);
    if (known) {
      if (known.signature !== signature) throw new Error(`metric ${def.name} declared again differently (${known.signature} then ${signature})`);
      return known.instrument;
    }
    const all = new Map<string, Series>();
    const series = (key: string): Series => {
      let s = all.get(key);
      if (!s) all.set(key, s = { value: 0, count: 0, sum: 0 });
      return s;
    };
    const instrument = make(series, (labels) => labelKey(labelNames, labels));
    this.declared.set(def.name, { signature, labelNames, series: all, instrument });
    return instrument;
  }
}

function labelKey(labelNames: readonly string[], labels: MetricLabels): string {
  const out: Record<string, string> = {};
  for (const name of labelNames) out[name] = labels[name] ?? '';
  return JSON.stringify(out);
}
