import { findAll, parseXml, type XmlElement } from './xmlCheck.ts';

/** The SVG charts (drawn without script). */
export const CHART_IDS = ['histogram-sendToDelivered', 'histogram-sendToAck', 'histogram-sendToRead', 'ticks'] as const;
/** The interactive time series (uPlot, drawn by the page's inline script). */
export const TIME_SERIES_IDS = ['throughput', 'latency', 'connections'] as const;

export interface ChartData {
  seconds: number[];
  charts: Array<{ id: string; series: Array<{ label: string; values: Array<number | null> }> }>;
  faults: Array<{ label: string; cls: string; fromS: number; toS: number }>;
  phases: Array<{ name: string; fromS: number; toS: number }>;
}

/** The JSON the page's charts are drawn from. */
export function chartData(html: string): ChartData {
  const json = /<script type="application\/json" id="chart-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (json === undefined) throw new Error('no chart-data in the report');
  return JSON.parse(json) as ChartData;
}

/** Each `<svg data-chart=…>` of an HTML page, parsed as XML (so it must be well-formed). */
export function chartsIn(html: string): Map<string, XmlElement> {
  const charts = new Map<string, XmlElement>();
  for (const match of html.matchAll(/<svg\b[^>]*\bdata-chart="([^"]+)"[\s\S]*?<\/svg>/g)) charts.set(match[1]!, parseXml(match[0]));
  return charts;
}

/** Polylines with at least two distinct points, and rects of a given class with positive size. */
export function drawnPolylines(svg: XmlElement): XmlElement[] {
  return findAll(svg, 'polyline').filter((p) => {
    const points = (p.attributes.points ?? '').trim().split(/\s+/).map((xy) => xy.split(',').map(Number));
    return points.length >= 2 && new Set(points.map(([x, y]) => `${x},${y}`)).size >= 2 && points.every((xy) => xy.length === 2 && xy.every(Number.isFinite));
  });
}

export function drawnRects(svg: XmlElement, className: string): XmlElement[] {
  return findAll(svg, 'rect').filter((r) => r.attributes.class === className && Number(r.attributes.width) > 0 && Number(r.attributes.height) > 0);
}

export function texts(svg: XmlElement): string[] {
  return findAll(svg, 'text').map((t) => t.text);
}
