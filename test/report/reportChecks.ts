import { findAll, parseXml, type XmlElement } from './xmlCheck.ts';

export const CHART_IDS = ['throughput', 'latency', 'histogram-sendToDelivered', 'histogram-sendToAck', 'histogram-sendToRead', 'ticks'] as const;

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
