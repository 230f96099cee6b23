/** What a scrape exposes: metric name -> its label names (histograms by their base name). */
export type ExposedMetrics = Map<string, { kind: string; labelNames: ReadonlySet<string> }>;

/** Labels Prometheus adds to every series of a target (job, instance, and the http_sd labels of the target list). */
const TARGET_LABELS = new Set(['job', 'instance', 'chatsim_node', 'chatsim_role']);
/** Series Prometheus makes itself. */
const PROMETHEUS_SERIES = new Set(['up']);

interface DashboardJson { panels?: Array<{ title?: string; targets?: Array<{ expr?: string }> }> }

/** Every PromQL expression of a Grafana dashboard, with its panel title. */
export function dashboardExpressions(dashboard: DashboardJson): Array<{ panel: string; expr: string }> {
  return (dashboard.panels ?? []).flatMap((p) => (p.targets ?? []).filter((t) => typeof t.expr === 'string').map((t) => ({ panel: p.title ?? '?', expr: t.expr! })));
}

/**
 * Problems of a dashboard against what the cluster exposes: a metric name that is not exposed
 * (histogram series `_bucket`, `_count`, `_sum` of an exposed histogram are), a label matched
 * or grouped by that none of the expression's metrics has, a histogram_quantile over a series
 * that is not a histogram's `_bucket`, an expression that names no series (chatsim's, or Prometheus's `up`).
 */
export function dashboardProblems(dashboard: DashboardJson, exposed: ExposedMetrics): string[] {
  const problems: string[] = [];
  for (const { panel, expr } of dashboardExpressions(dashboard)) {
    const where = `panel "${panel}": ${expr}`;
    // Series names, once grouping clauses and label matchers (which hold label names) are cut out.
    const bare = expr.replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ').replace(/\{[^}]*\}/g, '{}');
    const names = [...bare.matchAll(/\b([a-z_][a-z0-9_]*)\s*(?=[{[)]|$)/g)].map((m) => m[1]!).filter((n) => n.startsWith('chatsim_') || PROMETHEUS_SERIES.has(n));
    if (names.length === 0) problems.push(`${where}: names no chatsim metric`);
    const labelsOf = new Set<string>(TARGET_LABELS);
    for (const name of names) {
      if (PROMETHEUS_SERIES.has(name)) continue;
      const base = exposed.has(name) ? name : name.replace(/_(bucket|count|sum)$/, '');
      const metric = exposed.get(base);
      if (!metric || (base !== name && metric.kind !== 'histogram')) {
        problems.push(`${where}: ${name} is not a metric the cluster exposes`);
        continue;
      }
      for (const l of metric.labelNames) labelsOf.add(l);
      if (name.endsWith('_bucket')) labelsOf.add('le');
    }
    const used = new Set<string>();
    for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) for (const l of m[1]!.split(',')) if (l.trim()) used.add(l.trim());
    for (const m of expr.matchAll(/\{([^}]*)\}/g)) for (const matcher of m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) used.add(matcher[1]!);
    for (const label of used) if (!labelsOf.has(label)) problems.push(`${where}: label ${label} is on none of its metrics`);
    if (expr.includes('histogram_quantile(')) {
      for (const name of names) if (!name.endsWith('_bucket')) problems.push(`${where}: histogram_quantile over ${name}, not a _bucket series`);
    }
  }
  return problems;
}
