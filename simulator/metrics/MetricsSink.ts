/**
 * Where phones report measurements. Samples go into HDR histograms and counters
 * (simulator/metrics/Metrics.ts); reports read those, never raw samples.
 */
export type LatencyMetric = 'sendToAck' | 'sendToDelivered' | 'sendToRead' | 'fanOut' | 'reconnect' | 'syncMessages';

export interface MetricsSink {
  /** A latency sample in ms (or, for syncMessages, a count). */
  observe(metric: LatencyMetric, value: number): void;
  /** A counter, e.g. `frames.out.ack`, `frames.in.message`, `reconnects`, `errors.RATE_LIMITED`. */
  increment(counter: string, by?: number): void;
}
