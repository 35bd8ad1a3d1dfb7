/**
 * The overview's charts as SVG built here (nothing loaded from elsewhere): stacked columns and horizontal bars. Labels
 * and tooltips are text nodes, like every other value on the page.
 */
import { svg } from './dom.js';

export interface Segment {
  readonly value: number;
  /** CSS class giving the segment its colour. */
  readonly className: string;
  readonly label: string;
}

export interface Column {
  readonly label: string;
  readonly segments: readonly Segment[];
}

const FONT_SIZE = 11;

/** A round axis maximum with at most six steps of 1, 2 or 5 times a power of ten. */
function niceScale(max: number): { max: number; step: number } {
  if (max <= 5) return { max: Math.max(1, Math.ceil(max)), step: 1 };
  const rough = max / 6;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough) ?? 10 * magnitude;
  return { max: Math.ceil(max / step) * step, step };
}

function total(column: Column): number {
  return column.segments.reduce((sum, segment) => sum + segment.value, 0);
}

/** Stacked columns, one per entry, with a value axis; every `labelEvery`-th label shown under its column. */
export function columnChart(columns: readonly Column[], options: { readonly height?: number; readonly labelEvery?: number; readonly minColumnWidth?: number; readonly title: string }): SVGSVGElement {
  const height = options.height ?? 220;
  const left = 40;
  const bottom = 34;
  const top = 10;
  const columnWidth = Math.max(options.minColumnWidth ?? 8, Math.min(48, Math.floor(720 / Math.max(1, columns.length))));
  const width = left + columns.length * columnWidth + 10;
  const scale = niceScale(Math.max(0, ...columns.map(total)));
  const plotHeight = height - top - bottom;
  const y = (value: number) => top + plotHeight - (value / scale.max) * plotHeight;

  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'chart' }, svg('title', {}, options.title));
  for (let tick = 0; tick <= scale.max; tick += scale.step) {
    chart.append(
      svg('line', { x1: left, x2: width - 10, y1: y(tick), y2: y(tick), class: 'grid' }),
      svg('text', { x: left - 6, y: y(tick) + FONT_SIZE / 3, 'text-anchor': 'end', class: 'axis' }, String(tick)),
    );
  }
  const labelEvery = options.labelEvery ?? 1;
  columns.forEach((column, index) => {
    const x = left + index * columnWidth + 1;
    let stacked = 0;
    const group = svg('g', { class: 'column' }, svg('title', {}, `${column.label}: ${column.segments.map((segment) => `${segment.value} ${segment.label}`).join(', ')}`));
    for (const segment of column.segments) {
      if (segment.value <= 0) continue;
      group.append(svg('rect', { x, width: columnWidth - 2, y: y(stacked + segment.value), height: y(stacked) - y(stacked + segment.value), class: segment.className }));
      stacked += segment.value;
    }
    chart.append(group);
    if (index % labelEvery === 0) chart.append(svg('text', { x: x + (columnWidth - 2) / 2, y: height - bottom + 14, 'text-anchor': 'middle', class: 'axis' }, column.label));
  });
  return chart;
}

export interface Bar {
  readonly label: string;
  /** 0..1 of the bar's length filled, per segment in order. */
  readonly segments: readonly Segment[];
  /** Text at the end of the bar, e.g. `82% of 120`. */
  readonly annotation: string;
}

/** Horizontal bars of equal length, each split into segments by share (success rate per agent). */
export function shareBars(bars: readonly Bar[], options: { readonly title: string }): SVGSVGElement {
  const rowHeight = 26;
  const labelWidth = 220;
  const barWidth = 360;
  const width = labelWidth + barWidth + 140;
  const height = Math.max(1, bars.length) * rowHeight + 8;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'chart' }, svg('title', {}, options.title));
  bars.forEach((bar, index) => {
    const y = 4 + index * rowHeight;
    const group = svg('g', { class: 'bar' }, svg('title', {}, `${bar.label}: ${bar.annotation}`));
    group.append(svg('text', { x: labelWidth - 8, y: y + 15, 'text-anchor': 'end', class: 'label' }, bar.label.length > 32 ? `${bar.label.slice(0, 31)}…` : bar.label));
    let offset = 0;
    for (const segment of bar.segments) {
      const length = Math.max(0, Math.min(1, segment.value)) * barWidth;
      if (length > 0) group.append(svg('rect', { x: labelWidth + offset, y, width: length, height: rowHeight - 8, class: segment.className }));
      offset += length;
    }
    group.append(svg('text', { x: labelWidth + barWidth + 8, y: y + 15, class: 'label' }, bar.annotation));
    chart.append(group);
  });
  return chart;
}
