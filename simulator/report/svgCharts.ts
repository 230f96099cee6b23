/**
 * Bar charts drawn as inline SVG strings when the report is written (latency distributions,
 * ticks): they need no script and read the same in any browser. Every chart draws its axes
 * and labels even without data, and says "no data" then. Time series are interactive
 * (timeSeriesCharts.ts).
 */

export interface Bar {
  label: string;
  value: number;
  color?: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

const WIDTH = 760;
const HEIGHT = 260;
const MARGIN = { left: 64, right: 16, top: 28, bottom: 44 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const TICKS = 5;

export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Bars in groups (one group may hold one bar), a y axis from 0. */
export function barChart(options: { id: string; title: string; xLabel: string; yLabel: string; groups: BarGroup[]; formatY?: (y: number) => string }): string {
  const values = options.groups.flatMap((g) => g.bars.map((b) => b.value));
  const yMax = niceCeiling(Math.max(0, ...values));
  const sy = (y: number): number => MARGIN.top + PLOT_H - (y / yMax) * PLOT_H;
  const groupW = PLOT_W / Math.max(1, options.groups.length);
  const labelEvery = Math.max(1, Math.ceil(options.groups.length / 12));
  const body: string[] = [];
  options.groups.forEach((g, gi) => {
    const barW = Math.max(1, (groupW * 0.8) / Math.max(1, g.bars.length));
    g.bars.forEach((b, bi) => {
      const x = MARGIN.left + gi * groupW + groupW * 0.1 + bi * barW;
      const h = Math.max(b.value > 0 ? 1 : 0, MARGIN.top + PLOT_H - sy(b.value));
      body.push(`<rect class="bar" x="${fx(x)}" y="${fx(MARGIN.top + PLOT_H - h)}" width="${fx(Math.max(1, barW - 1))}" height="${fx(h)}" fill="${b.color ?? '#2563eb'}"><title>${escapeXml(`${g.label} ${b.label}: ${formatTick(b.value)}`)}</title></rect>`);
    });
    if (gi % labelEvery === 0) body.push(`<text x="${fx(MARGIN.left + gi * groupW + groupW / 2)}" y="${MARGIN.top + PLOT_H + 14}" font-size="10" text-anchor="middle">${escapeXml(g.label)}</text>`);
  });
  if (values.every((v) => v === 0)) body.push(noData());
  const seriesNames = [...new Map(options.groups.flatMap((g) => g.bars).filter((b) => b.color).map((b) => [b.label, b.color!])).entries()];
  return frame(options.id, options.title, [
    yAxis(yMax, options.yLabel, options.formatY ?? formatTick),
    `<line class="axis" x1="${MARGIN.left}" y1="${MARGIN.top + PLOT_H}" x2="${MARGIN.left + PLOT_W}" y2="${MARGIN.top + PLOT_H}" stroke="#333"/>`,
    `<text class="axis-label" x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 6}" font-size="11" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    ...body,
    seriesNames.length > 1 ? legend(seriesNames.map(([name, color]) => ({ name, color }))) : '',
  ]);
}

function frame(id: string, title: string, parts: string[]): string {
  return `<svg data-chart="${escapeXml(id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(title)}" font-family="sans-serif">`
    + `<title>${escapeXml(title)}</title>`
    + `<text class="chart-title" x="${MARGIN.left}" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`
    + parts.join('') + '</svg>';
}

function yAxis(yMax: number, label: string, format: (y: number) => string): string {
  const parts = [`<line class="axis" x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + PLOT_H}" stroke="#333"/>`];
  for (let i = 0; i <= TICKS; i++) {
    const value = (yMax * i) / TICKS;
    const y = MARGIN.top + PLOT_H - (PLOT_H * i) / TICKS;
    parts.push(`<line x1="${MARGIN.left}" y1="${fx(y)}" x2="${MARGIN.left + PLOT_W}" y2="${fx(y)}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${fx(y + 4)}" font-size="10" text-anchor="end">${escapeXml(format(value))}</text>`);
  }
  parts.push(`<text class="axis-label" transform="translate(14 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" font-size="11" text-anchor="middle">${escapeXml(label)}</text>`);
  return parts.join('');
}

function legend(items: Array<{ name: string; color: string }>): string {
  let x = WIDTH - MARGIN.right;
  const parts: string[] = [];
  for (const item of [...items].reverse()) {
    x -= 14 + item.name.length * 6.5;
    parts.push(`<rect x="${fx(x)}" y="8" width="10" height="10" fill="${item.color}"/><text x="${fx(x + 13)}" y="17" font-size="11">${escapeXml(item.name)}</text>`);
  }
  return `<g class="legend">${parts.join('')}</g>`;
}

function noData(): string {
  return `<text class="no-data" x="${MARGIN.left + PLOT_W / 2}" y="${MARGIN.top + PLOT_H / 2}" font-size="14" fill="#6b7280" text-anchor="middle">no data</text>`;
}

/** 1, 2, 2.5, 5 × 10^k at or above the value, so tick labels are round. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatTick(n: number): string {
  if (Math.abs(n) >= 1e6) return `${trim(n / 1e6)}M`;
  if (Math.abs(n) >= 1e4) return `${trim(n / 1e3)}k`;
  return trim(n);
}

function trim(n: number): string {
  return String(Number(n.toFixed(2)));
}

function fx(n: number): string {
  return n.toFixed(1);
}
