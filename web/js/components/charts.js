// Small charts drawn as inline SVG (no chart library): a histogram, horizontal
// bars against a target, and vertical bars per period. Each function returns
// an <svg> sized by its viewBox, so it scales with its panel.

import { s } from '../dom.js';

const W = 480;

function frame(height, testid, label) {
  return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': label,
    'data-testid': testid, preserveAspectRatio: 'xMidYMid meet' });
}

function emptyChart(svg, height, text) {
  svg.append(s('text', { x: W / 2, y: height / 2, class: 'chart-empty', 'text-anchor': 'middle' }, text));
  return svg;
}

// Ticks 0..max at round steps.
function niceStep(max, count = 4) {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

// Distribution of `values` (seconds) in bins; a dashed line at `target` seconds.
export function histogram(values, { target = null, testid = 'chart-histogram', label = 'distribution',
  formatX = (v) => String(v) } = {}) {
  const H = 200;
  const svg = frame(H, testid, label);
  if (!values.length) return emptyChart(svg, H, 'No arrivals in this range');
  const left = 34; const right = 10; const top = 12; const bottom = 28;
  const maxV = Math.max(...values, target || 0);
  const bin = niceStep(maxV, 12);
  const bins = new Array(Math.max(1, Math.ceil((maxV + 1e-9) / bin))).fill(0);
  for (const v of values) bins[Math.min(bins.length - 1, Math.floor(v / bin))] += 1;
  const top1 = Math.max(...bins);
  const yStep = niceStep(top1, 4);
  const yMax = Math.ceil(top1 / yStep) * yStep;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const x = (v) => left + (v / (bins.length * bin)) * plotW;
  const y = (c) => top + plotH - (c / yMax) * plotH;
  for (let t = 0; t <= yMax; t += yStep) {
    svg.append(s('line', { x1: left, x2: W - right, y1: y(t), y2: y(t), class: 'chart-grid' }),
      s('text', { x: left - 5, y: y(t) + 3, class: 'chart-axis', 'text-anchor': 'end' }, String(t)));
  }
  bins.forEach((c, i) => {
    if (!c) return;
    const over = target !== null && (i + 1) * bin > target;
    svg.append(s('rect', { x: x(i * bin) + 1, y: y(c), width: Math.max(1, x(bin) - left - 2), height: y(0) - y(c),
      class: `chart-bar${over ? ' over' : ''}`, 'data-count': c },
    s('title', {}, `${formatX(i * bin)}–${formatX((i + 1) * bin)}: ${c}`)));
  });
  const labelEvery = Math.ceil(bins.length / 6);
  for (let i = 0; i <= bins.length; i += labelEvery) {
    svg.append(s('text', { x: x(i * bin), y: H - bottom + 14, class: 'chart-axis', 'text-anchor': 'middle' },
      formatX(i * bin)));
  }
  if (target !== null) {
    svg.append(s('line', { x1: x(target), x2: x(target), y1: top - 4, y2: y(0), class: 'chart-target' }),
      s('text', { x: x(target) + 4, y: top + 6, class: 'chart-target-label' }, `SLA ${formatX(target)}`));
  }
  svg.append(s('line', { x1: left, x2: W - right, y1: y(0), y2: y(0), class: 'chart-baseline' }));
  return svg;
}

// Horizontal bars of percentages (0–100) with a target line.
// items: [{label, value (pct or null), note}]
export function percentBars(items, { target = 90, testid = 'chart-bars', label = 'shares' } = {}) {
  const rowH = 22;
  const top = 8; const bottom = 22; const left = 96; const right = 52;
  const H = top + bottom + Math.max(1, items.length) * rowH;
  const svg = frame(H, testid, label);
  if (!items.length) return emptyChart(svg, H, 'No incidents in this range');
  const plotW = W - left - right;
  const x = (p) => left + (p / 100) * plotW;
  for (const t of [0, 25, 50, 75, 100]) {
    svg.append(s('line', { x1: x(t), x2: x(t), y1: top, y2: H - bottom, class: 'chart-grid' }),
      s('text', { x: x(t), y: H - bottom + 14, class: 'chart-axis', 'text-anchor': 'middle' }, `${t}%`));
  }
  items.forEach((it, i) => {
    const yy = top + i * rowH;
    const v = it.value;
    const below = v !== null && v < target;
    svg.append(s('text', { x: left - 6, y: yy + rowH / 2 + 4, class: 'chart-label', 'text-anchor': 'end' },
      it.label.length > 14 ? `${it.label.slice(0, 13)}…` : it.label));
    if (v !== null) {
      svg.append(s('rect', { x: left, y: yy + 4, width: Math.max(1, x(v) - left), height: rowH - 8,
        class: `chart-bar${below ? ' below' : ' ok'}`, 'data-value': v.toFixed(1) },
      s('title', {}, `${it.label}: ${v.toFixed(1)} %${it.note ? ` (${it.note})` : ''}`)));
    }
    svg.append(s('text', { x: W - right + 6, y: yy + rowH / 2 + 4, class: `chart-value${below ? ' below' : ''}` },
      v === null ? '—' : `${v.toFixed(0)}%`));
  });
  svg.append(s('line', { x1: x(target), x2: x(target), y1: top - 4, y2: H - bottom, class: 'chart-target' }));
  return svg;
}

// Vertical bars per period: count, the unreached part darker; the SLA share above.
// items: [{label, count, unreached, pct}]
export function periodBars(items, { target = 90, testid = 'chart-weeks', label = 'per week' } = {}) {
  const H = 200;
  const svg = frame(H, testid, label);
  if (!items.length) return emptyChart(svg, H, 'No weeks in this range');
  const left = 34; const right = 10; const top = 22; const bottom = 28;
  const maxC = Math.max(1, ...items.map((it) => it.count || 0));
  const yStep = niceStep(maxC, 4);
  const yMax = Math.ceil(maxC / yStep) * yStep;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const y = (c) => top + plotH - (c / yMax) * plotH;
  for (let t = 0; t <= yMax; t += yStep) {
    svg.append(s('line', { x1: left, x2: W - right, y1: y(t), y2: y(t), class: 'chart-grid' }),
      s('text', { x: left - 5, y: y(t) + 3, class: 'chart-axis', 'text-anchor': 'end' }, String(t)));
  }
  const slot = plotW / items.length;
  const bw = Math.min(46, slot * 0.7);
  items.forEach((it, i) => {
    const cx = left + slot * i + slot / 2;
    const c = it.count || 0;
    const un = it.unreached || 0;
    const g = s('g', { class: 'chart-week', 'data-count': c });
    if (c > 0) {
      g.append(s('rect', { x: cx - bw / 2, y: y(c), width: bw, height: y(0) - y(c), class: 'chart-bar' },
        s('title', {}, `${it.label}: ${c} incidents, ${un} unreached`)));
      if (un > 0) g.append(s('rect', { x: cx - bw / 2, y: y(un), width: bw, height: y(0) - y(un), class: 'chart-bar unreached' }));
    }
    if (it.pct !== null && it.pct !== undefined) {
      g.append(s('text', { x: cx, y: y(c) - 5, class: `chart-value${it.pct < target ? ' below' : ''}`,
        'text-anchor': 'middle' }, `${it.pct.toFixed(0)}%`));
    }
    g.append(s('text', { x: cx, y: H - bottom + 14, class: 'chart-axis', 'text-anchor': 'middle' }, it.label));
    svg.append(g);
  });
  svg.append(s('line', { x1: left, x2: W - right, y1: y(0), y2: y(0), class: 'chart-baseline' }));
  return svg;
}
