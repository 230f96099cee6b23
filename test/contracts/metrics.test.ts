import { describe, expect, it } from 'vitest';
import { MemoryMetrics } from '../../server/memory/MemoryMetrics.ts';
import { PromMetrics, SERIES_PER_METRIC_MAX } from '../../server/metrics/PromMetrics.ts';
import { NO_METRICS, type Metrics } from '../../server/ports/Metrics.ts';
import { parsePromText, sumSamples } from '../support/promText.ts';

/** Reads a counter or gauge value, or a histogram's count, back from an implementation. */
type ReadBack = (name: string, labels?: Record<string, string>) => Promise<number>;

function describeMetricsContract(name: string, make: () => { metrics: Metrics; read: ReadBack }): void {
  describe(`Metrics contract: ${name}`, () => {
    it('declaring a name again with the same shape returns the same instrument; a different shape throws', async () => {
      const { metrics, read } = make();
      metrics.counter({ name: 'chatsim_t_total', help: 't', labelNames: ['a'] }).inc({ a: 'x' }, 2);
      metrics.counter({ name: 'chatsim_t_total', help: 't', labelNames: ['a'] }).inc({ a: 'x' });
      expect(await read('chatsim_t_total', { a: 'x' })).toBe(3);
      expect(() => metrics.gauge({ name: 'chatsim_t_total', help: 't', labelNames: ['a'] })).toThrow();
      expect(() => metrics.counter({ name: 'chatsim_t_total', help: 't', labelNames: ['b'] })).toThrow();
    });

    it('refuses names outside the rules', () => {
      const { metrics } = make();
      expect(() => metrics.counter({ name: 'other_total', help: 'x' })).toThrow();
      expect(() => metrics.counter({ name: 'chatsim_no_suffix', help: 'x' })).toThrow();
      expect(() => metrics.gauge({ name: 'chatsim_g_total', help: 'x' })).toThrow();
      expect(() => metrics.counter({ name: 'chatsim_l_total', help: 'x', labelNames: ['Bad-Label'] })).toThrow();
    });

    it('recording never throws: negative and non-finite amounts are ignored, missing labels are empty', async () => {
      const { metrics, read } = make();
      const counter = metrics.counter({ name: 'chatsim_c_total', help: 'c', labelNames: ['a'] });
      counter.inc({ a: 'x' }, -1);
      counter.inc({ a: 'x' }, Number.NaN);
      counter.inc({ a: 'x' }, Number.POSITIVE_INFINITY);
      counter.inc({});
      expect(await read('chatsim_c_total', { a: '' })).toBe(1);
      const gauge = metrics.gauge({ name: 'chatsim_g', help: 'g', labelNames: ['a'] });
      gauge.set({ a: 'y' }, 5);
      gauge.set({ a: 'y' }, Number.NaN);
      gauge.inc({ a: 'y' }, 2);
      gauge.dec({ a: 'y' });
      expect(await read('chatsim_g', { a: 'y' })).toBe(6);
      const histogram = metrics.histogram({ name: 'chatsim_h_seconds', help: 'h', labelNames: ['op'], bucketsSeconds: [0.01, 0.1] });
      histogram.observe({ op: 'a' }, 0.05);
      histogram.observe({ op: 'a' }, Number.NaN);
      histogram.observe({ op: 'a' }, 2);
      expect(await read('chatsim_h_seconds', { op: 'a' })).toBe(2);
    });
  });
}

describeMetricsContract('MemoryMetrics', () => {
  const metrics = new MemoryMetrics();
  return { metrics, read: async (name, labels = {}) => (name.endsWith('_seconds') ? metrics.count(name, labels) : metrics.value(name, labels)) };
});

describeMetricsContract('PromMetrics', () => {
  const metrics = new PromMetrics();
  return {
    metrics,
    read: async (name, labels = {}) => {
      const samples = parsePromText((await metrics.exposition('')).text);
      return name.endsWith('_seconds') ? sumSamples(samples, `${name}_count`, labels) : sumSamples(samples, name, labels);
    },
  };
});

describe('PromMetrics exposition', () => {
  it('answers in the Prometheus text format, or OpenMetrics when the scraper asks for it', async () => {
    const metrics = new PromMetrics();
    metrics.counter({ name: 'chatsim_x_total', help: 'x' }).inc();
    const text = await metrics.exposition('text/plain');
    expect(text.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text.text).toMatch(/^chatsim_x_total 1$/m);
    const om = await metrics.exposition('application/openmetrics-text;version=1.0.0,text/plain;q=0.5');
    expect(om.contentType).toMatch(/^application\/openmetrics-text/);
    expect(om.text.trimEnd().endsWith('# EOF')).toBe(true);
  });

  it('keeps counter names across formats (an OpenMetrics scrape does not rename them for the next text scrape), and writes histograms cumulatively', async () => {
    const metrics = new PromMetrics();
    metrics.counter({ name: 'chatsim_x_total', help: 'x' }).inc({}, 2);
    const histogram = metrics.histogram({ name: 'chatsim_h_seconds', help: 'h', labelNames: ['op'], bucketsSeconds: [0.01, 0.1] });
    for (const v of [0.005, 0.01, 0.05, 3]) histogram.observe({ op: 'a' }, v);
    const om = (await metrics.exposition('application/openmetrics-text')).text;
    expect(om).toMatch(/^chatsim_x_total 2$/m);
    expect(om).not.toMatch(/_total_total/);
    const text = (await metrics.exposition('')).text;
    expect(text).toMatch(/^chatsim_x_total 2$/m);
    expect(text).toMatch(/^# TYPE chatsim_x_total counter$/m);
    const samples = parsePromText(text);
    expect(samples.filter((s) => s.name === 'chatsim_h_seconds_bucket').map((s) => [s.labels.le, s.value])).toEqual([['0.01', 2], ['0.1', 3], ['+Inf', 4]]);
    expect(sumSamples(samples, 'chatsim_h_seconds_sum')).toBeCloseTo(3.065);
    expect(sumSamples(samples, 'chatsim_h_seconds_count', { op: 'a' })).toBe(4);
  });

  it('folds label combinations past SERIES_PER_METRIC_MAX into one overflow series', async () => {
    const metrics = new PromMetrics();
    const counter = metrics.counter({ name: 'chatsim_many_total', help: 'm', labelNames: ['k'] });
    for (let i = 0; i < SERIES_PER_METRIC_MAX + 10; i++) counter.inc({ k: `v${i}` });
    const samples = parsePromText((await metrics.exposition('')).text).filter((s) => s.name === 'chatsim_many_total');
    expect(samples).toHaveLength(SERIES_PER_METRIC_MAX + 1);
    expect(sumSamples(samples, 'chatsim_many_total', { k: 'overflow' })).toBe(10);
  });

  it('writes a metric without labels from the start, at 0', async () => {
    const metrics = new PromMetrics();
    metrics.counter({ name: 'chatsim_idle_total', help: 'i' });
    metrics.histogram({ name: 'chatsim_idle_seconds', help: 'i', bucketsSeconds: [1] });
    const samples = parsePromText((await metrics.exposition('')).text);
    expect(samples.find((s) => s.name === 'chatsim_idle_total')?.value).toBe(0);
    expect(samples.find((s) => s.name === 'chatsim_idle_seconds_count')?.value).toBe(0);
  });

  it('NO_METRICS records nothing and never throws', () => {
    NO_METRICS.counter({ name: 'anything', help: '' }).inc({}, -5);
    NO_METRICS.histogram({ name: 'x', help: '', bucketsSeconds: [] }).observe({}, Number.NaN);
  });
});
