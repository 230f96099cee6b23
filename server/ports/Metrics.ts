/**
 * Where the cluster's parts count what they do, for an operator's `/metrics` (Prometheus text
 * format; docs/metrics.md lists every metric). Server logic records through this port only; the
 * prom-client registry behind it lives in `server/metrics/PromMetrics.ts`, and tests read
 * values back from `MemoryMetrics`.
 *
 * Contract:
 * - Instruments are declared by name with `counter`, `gauge` or `histogram`. Declaring a name
 *   again with the same kind and label names returns the same instrument, so a replaced part
 *   (a restarted chat server, a revived gateway) keeps counting in the same series; declaring it
 *   with another kind, label names or buckets throws (a programming error, met at assembly).
 * - Names match `^chatsim_[a-z0-9_]+$`; counters end in `_total`; durations are in seconds and
 *   their names end in `_seconds`. Label names match `^[a-z][a-z0-9_]*$`.
 * - Recording (`inc`, `set`, `observe`) is synchronous, never throws and never awaits. A counter
 *   ignores a negative or non-finite amount; a gauge or histogram ignores a non-finite value.
 * - Every label name of the instrument must be given a value on each call; a missing one is
 *   recorded as the empty string. Label values come from bounded sets the caller chooses (gateway
 *   ids, frame types from a fixed list, error and close codes, operation names), never from
 *   client input as such: an unbounded label would make every scrape grow without end.
 * - The port reads no clock: callers measure durations with their injected Clock.
 */
export interface Metrics {
  counter(def: MetricDef): CounterMetric;
  gauge(def: MetricDef): GaugeMetric;
  histogram(def: MetricDef & { bucketsSeconds: readonly number[] }): HistogramMetric;
}

/** A scrape's answer: the body and its content type (Prometheus text 0.0.4 or OpenMetrics 1.0). */
export interface MetricsExposition {
  contentType: string;
  text: string;
}

/**
 * Where a Prometheus finds one node's metrics: an entry of an http_sd / file_sd target list
 * (`{ targets: ['host:port'], labels: {...} }`; `__metrics_path__` is /metrics unless a label says otherwise).
 */
export interface MetricsTarget {
  targets: string[];
  labels: Record<string, string>;
}

export interface MetricDef {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

export type MetricLabels = Readonly<Record<string, string>>;

export interface CounterMetric {
  inc(labels?: MetricLabels, amount?: number): void;
}

export interface GaugeMetric {
  set(labels: MetricLabels, value: number): void;
  inc(labels?: MetricLabels, amount?: number): void;
  dec(labels?: MetricLabels, amount?: number): void;
}

export interface HistogramMetric {
  observe(labels: MetricLabels, valueSeconds: number): void;
}

/** Latency buckets for store, broker and queue times, in seconds (1 ms to 30 s). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const noCounter: CounterMetric = { inc: () => undefined };
const noGauge: GaugeMetric = { set: () => undefined, inc: () => undefined, dec: () => undefined };
const noHistogram: HistogramMetric = { observe: () => undefined };

/** Records nothing: the default where no registry was given (the simulation engine, unit tests). */
export const NO_METRICS: Metrics = {
  counter: () => noCounter,
  gauge: () => noGauge,
  histogram: () => noHistogram,
};

const METRIC_NAME = /^chatsim_[a-z0-9_]+$/;
const LABEL_NAME = /^[a-z][a-z0-9_]*$/;

/** Checks a definition against the naming rules of the contract; throws on a violation. */
export function checkMetricDef(kind: 'counter' | 'gauge' | 'histogram', def: MetricDef): void {
  if (!METRIC_NAME.test(def.name)) throw new Error(`metric name ${def.name} does not match ${METRIC_NAME}`);
  if (kind === 'counter' && !def.name.endsWith('_total')) throw new Error(`counter ${def.name} must end in _total`);
  if (kind !== 'counter' && def.name.endsWith('_total')) throw new Error(`${kind} ${def.name} must not end in _total`);
  for (const label of def.labelNames ?? []) if (!LABEL_NAME.test(label)) throw new Error(`label name ${label} of ${def.name} does not match ${LABEL_NAME}`);
}
