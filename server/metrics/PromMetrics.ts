import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  checkMetricDef, type CounterMetric, type GaugeMetric, type HistogramMetric, type MetricDef, type MetricLabels, type Metrics, type MetricsExposition,
} from '../ports/Metrics.ts';

type Kind = 'counter' | 'gauge' | 'histogram';

interface Declared {
  kind: Kind;
  signature: string;
  instrument: CounterMetric | GaugeMetric | HistogramMetric;
}

/**
 * The `Metrics` port on prom-client: one registry per process, written in the Prometheus text
 * format (0.0.4) or, when the scraper asks for it (`Accept: application/openmetrics-text`), in
 * OpenMetrics 1.0. The only module of server/ that imports prom-client (lint enforces it).
 */
export class PromMetrics implements Metrics {
  private readonly text = new Registry();
  private readonly openMetrics = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
  private readonly declared = new Map<string, Declared>();

  /** `constantLabels` go on every series (e.g. `{ node: 'gw1' }`). */
  constructor(constantLabels: Record<string, string> = {}) {
    this.openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    this.text.setDefaultLabels(constantLabels);
    this.openMetrics.setDefaultLabels(constantLabels);
  }

  counter(def: MetricDef): CounterMetric {
    return this.declare('counter', def, '', () => {
      const counter = new Counter({ name: def.name, help: def.help, labelNames: [...(def.labelNames ?? [])], registers: [this.text, this.openMetrics] });
      const labelNames = def.labelNames ?? [];
      return {
        inc: (labels = {}, amount = 1) => {
          if (!(amount >= 0) || !Number.isFinite(amount)) return;
          counter.inc(complete(labelNames, labels), amount);
        },
      };
    }) as CounterMetric;
  }

  gauge(def: MetricDef): GaugeMetric {
    return this.declare('gauge', def, '', () => {
      const gauge = new Gauge({ name: def.name, help: def.help, labelNames: [...(def.labelNames ?? [])], registers: [this.text, this.openMetrics] });
      const labelNames = def.labelNames ?? [];
      return {
        set: (labels, value) => { if (Number.isFinite(value)) gauge.set(complete(labelNames, labels), value); },
        inc: (labels = {}, amount = 1) => { if (Number.isFinite(amount)) gauge.inc(complete(labelNames, labels), amount); },
        dec: (labels = {}, amount = 1) => { if (Number.isFinite(amount)) gauge.dec(complete(labelNames, labels), amount); },
      };
    }) as GaugeMetric;
  }

  histogram(def: MetricDef & { bucketsSeconds: readonly number[] }): HistogramMetric {
    return this.declare('histogram', def, def.bucketsSeconds.join(','), () => {
      const histogram = new Histogram({ name: def.name, help: def.help, labelNames: [...(def.labelNames ?? [])], buckets: [...def.bucketsSeconds], registers: [this.text, this.openMetrics] });
      const labelNames = def.labelNames ?? [];
      return { observe: (labels, value) => { if (Number.isFinite(value)) histogram.observe(complete(labelNames, labels), value); } };
    }) as HistogramMetric;
  }

  /** The registry's current state, in the format `accept` prefers. */
  async exposition(accept = ''): Promise<MetricsExposition> {
    const registry = /application\/openmetrics-text/i.test(accept) ? this.openMetrics : this.text;
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  private declare(kind: Kind, def: MetricDef, extra: string, make: () => Declared['instrument']): Declared['instrument'] {
    checkMetricDef(kind, def);
    const signature = `${kind}|${(def.labelNames ?? []).join(',')}|${extra}`;
    const known = this.declared.get(def.name);
    if (known) {
      if (known.signature !== signature) throw new Error(`metric ${def.name} declared again differently (${known.signature} then ${signature})`);
      return known.instrument;
    }
    const instrument = make();
    this.declared.set(def.name, { kind, signature, instrument });
    return instrument;
  }
}

/** Every label name gets a value (the empty string when the caller left it out); extra labels are dropped. */
function complete(labelNames: readonly string[], labels: MetricLabels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of labelNames) out[name] = labels[name] ?? '';
  return out;
}
