import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Cluster } from '../../server/Cluster.ts';
import { MemoryMetrics } from '../../server/memory/MemoryMetrics.ts';
import { ManualTime } from '../../server/memory/ManualTime.ts';
import { openOutputs } from '../../simulator/output/runOutputs.ts';
import { dashboardExpressions, dashboardProblems, type ExposedMetrics } from '../support/dashboardCheck.ts';
import { parsePromText } from '../support/promText.ts';

const dashboardPath = new URL('../../docs/grafana/chatsim.json', import.meta.url);
const docsPath = new URL('../../docs/metrics.md', import.meta.url);

/** Every metric the in-process cluster declares (all parts declare theirs at assembly), and the runner's endpoint's. */
async function exposedMetrics(): Promise<ExposedMetrics> {
  const metrics = new MemoryMetrics();
  const cluster = new Cluster({ time: new ManualTime(), gateways: 2, chatServers: 2, metrics, http: 'in-process' });
  const exposed: ExposedMetrics = new Map();
  for (const m of metrics.declaredMetrics()) exposed.set(m.name, { kind: m.kind, labelNames: new Set(m.labelNames) });
  void cluster;
  const outputs = await openOutputs([{ kind: 'prometheus', host: '127.0.0.1', port: 0 }]);
  try {
    outputs.progress({ elapsedMs: 1000, phase: 'load', phones: 1, connected: 1, sent: 1, acked: 1, delivered: 1, errors: 0 });
    const text = await (await fetch(`http://127.0.0.1:${outputs.endpoints()[0]!.port}/metrics`)).text();
    const kinds = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    for (const sample of parsePromText(text)) {
      const known = exposed.get(sample.name);
      const labels = new Set([...(known?.labelNames ?? []), ...Object.keys(sample.labels)]);
      exposed.set(sample.name, { kind: kinds.get(sample.name) ?? 'gauge', labelNames: labels });
    }
  } finally {
    await outputs.close();
  }
  return exposed;
}

describe('docs/grafana/chatsim.json', () => {
  it('names only metrics and labels the cluster and the runner expose, and every cluster metric is on it and in docs/metrics.md', async () => {
    const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8'));
    const exposed = await exposedMetrics();
    expect(dashboardExpressions(dashboard).length).toBeGreaterThan(20);
    expect(dashboardProblems(dashboard, exposed)).toEqual([]);
    const all = dashboardExpressions(dashboard).map((e) => e.expr).join('\n');
    const docs = readFileSync(docsPath, 'utf8');
    for (const name of exposed.keys()) {
      expect(all, `${name} is on no panel`).toContain(name);
      expect(docs, `${name} is not in docs/metrics.md`).toContain(`\`${name}\``);
    }
    // And the page names no metric that is not there (a histogram's series by its base name).
    const documented = new Set([...docs.matchAll(/`(chatsim_[a-z0-9_]+)`/g)].map((m) => m[1]!));
    expect([...documented].filter((name) => !exposed.has(name) && name !== 'chatsim_node' && name !== 'chatsim_role')).toEqual([]);
  });

  it('the check catches a metric the cluster does not expose, a label it does not have, and a quantile over a counter', async () => {
    const exposed = await exposedMetrics();
    const broken = { panels: [
      { title: 'typo', targets: [{ expr: 'sum(rate(chatsim_gateway_frame_in_total[1m]))' }] },
      { title: 'label', targets: [{ expr: 'sum by (profile) (chatsim_gateway_connections)' }, { expr: 'chatsim_gateway_connections{chat="x"}' }] },
      { title: 'quantile', targets: [{ expr: 'histogram_quantile(0.99, sum by (le) (rate(chatsim_gateway_frames_in_total[1m])))' }] },
      { title: 'not a histogram', targets: [{ expr: 'chatsim_gateway_connections_count' }] },
    ] };
    const problems = dashboardProblems(broken, exposed);
    expect(problems).toEqual([
      expect.stringContaining('chatsim_gateway_frame_in_total is not a metric the cluster exposes'),
      expect.stringContaining('label profile is on none of its metrics'),
      expect.stringContaining('label chat is on none of its metrics'),
      expect.stringContaining('label le is on none of its metrics'),
      expect.stringContaining('histogram_quantile over chatsim_gateway_frames_in_total'),
      expect.stringContaining('chatsim_gateway_connections_count is not a metric the cluster exposes'),
    ]);
  });
});
