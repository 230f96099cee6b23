import { ManualTime } from '../../server/memory/ManualTime.ts';
import type { PropertyResult } from '../../simulator/check/PropertyResult.ts';
import { Metrics } from '../../simulator/metrics/Metrics.ts';
import { buildSummary, type SummaryInput, type ThresholdResult } from '../../simulator/report/Summary.ts';
import { parseThreshold } from '../../simulator/scenario/thresholds.ts';

export const START_MS = 1_700_000_000_000;

/** 20 s of load: 50 sends and ~100 deliveries a second, latency doubling during a fault at 8..12 s. */
export function sampleMetrics(): Metrics {
  const time = new ManualTime(START_MS);
  const metrics = new Metrics(time, START_MS);
  for (let second = 0; second < 20; second++) {
    const slow = second >= 8 && second < 12 ? 4 : 1;
    for (let i = 0; i < 50; i++) {
      metrics.increment('messages.sent');
      metrics.increment('frames.out.send');
      metrics.increment('messages.acked');
      metrics.observe('sendToAck', (5 + (i % 20)) * slow);
      for (let d = 0; d < 2; d++) {
        metrics.increment('messages.delivered');
        metrics.increment('frames.in.message');
        metrics.observe('sendToDelivered', (20 + ((i * 7 + d * 13) % 80)) * slow);
        metrics.observe('fanOut', (15 + (i % 60)) * slow);
      }
      metrics.increment('frames.out.ack');
      if (i % 3 === 0) metrics.observe('sendToRead', 500 + i * 40);
      if (i % 10 === 0) metrics.increment('frames.out.read');
      if (i % 25 === 0) metrics.increment('receipts.piggybacked');
      if (i % 7 === 0) metrics.increment('receipts.savedByDebounce');
    }
    if (slow > 1) {
      metrics.increment('errors.UNAVAILABLE', 3);
      metrics.increment('reconnects');
      metrics.observe('reconnect', 1200);
      metrics.observe('syncMessages', 30);
    }
    time.advance(1000);
  }
  return metrics;
}

export function property(overrides: Partial<PropertyResult> = {}): PropertyResult {
  return { id: 'A5', name: 'no lost acknowledged message', verdict: 'pass', violations: 0, examples: [], ...overrides };
}

export function sampleInput(overrides: Partial<SummaryInput> = {}): SummaryInput {
  return {
    scenario: { name: 'flaky-mobile', path: 'scenarios/flaky-mobile.yaml' },
    seed: 42,
    engine: 'live',
    durationMs: 20_000,
    properties: [property(), property({ id: 'B1', name: 'per-chat order', verdict: 'unknown', reason: 'no deliveries observed' })],
    thresholds: [thresholdResult('sendToAck p(99) < 500ms', 95, true)],
    metrics: sampleMetrics().snapshot(),
    phones: 12,
    faults: [{ kind: 'partition', startMs: 8000, endMs: 12_000 }],
    generator: { cpuPercent: 37.5, eventLoopLagMsP99: 12 },
    reproduce: 'chatsim run scenarios/flaky-mobile.yaml --seed 42',
    ...overrides,
  };
}

export function sampleSummary(overrides: Partial<SummaryInput> = {}): ReturnType<typeof buildSummary> {
  return buildSummary(sampleInput(overrides));
}

/**
 * A threshold's result as performRun makes it. A text that does not parse (escaping tests)
 * becomes a threshold on errorRate that keeps the text: the loader never lets one through.
 */
export function thresholdResult(text: string, actual: number | undefined, ok: boolean): ThresholdResult {
  const parsed = parseThreshold(text);
  const threshold = parsed.ok ? parsed.threshold : { text, metric: 'errorRate', tags: {}, stat: 'value' as const, op: '<' as const, limit: 0 };
  return { threshold, actual, ok };
}
