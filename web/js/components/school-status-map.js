// The district's schools on a plain SVG map, each dot coloured by its
// school-safety status (green / amber / red, docs/inspections.md). Drawn from
// coordinates alone (no tiles); a click opens the school.

import { s, clear } from '../dom.js';

const W = 640;
const H = 420;
const PAD = 28;

export class SchoolStatusMap {
  constructor({ onSelect }) {
    this.onSelect = onSelect;
    this.svg = s('svg', { class: 'status-map', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': 'Schools coloured by status', 'data-testid': 'status-map' });
    this.el = this.svg;
  }

  set(schools) {
    clear(this.svg);
    const placed = schools.filter((x) => Number.isFinite(x.lat) && Number.isFinite(x.lon));
    if (!placed.length) {
      this.svg.append(s('text', { x: W / 2, y: H / 2, class: 'chart-empty', 'text-anchor': 'middle' }, 'No schools'));
      return;
    }
    const lats = placed.map((x) => x.lat);
    const lons = placed.map((x) => x.lon);
    const [minLat, maxLat] = [Math.min(...lats), Math.max(...lats)];
    const [minLon, maxLon] = [Math.min(...lons), Math.max(...lons)];
    // Same scale on both axes (longitude shrunk by cos(latitude)).
    const kx = Math.cos(((minLat + maxLat) / 2) * (Math.PI / 180));
    const spanX = Math.max((maxLon - minLon) * kx, 1e-4);
    const spanY = Math.max(maxLat - minLat, 1e-4);
    const scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
    const ox = (W - spanX * scale) / 2;
    const oy = (H - spanY * scale) / 2;
    // Red last, so that it is drawn on top.
    const order = { green: 0, amber: 1, red: 2 };
    for (const x of [...placed].sort((a, b) => (order[a.status] ?? 0) - (order[b.status] ?? 0))) {
      const cx = ox + (x.lon - minLon) * kx * scale;
      const cy = H - (oy + (x.lat - minLat) * scale);
      const dot = s('circle', {
        cx: cx.toFixed(1), cy: cy.toFixed(1), r: 7, class: `status-dot status-${x.status}`,
        'data-testid': 'school-dot', 'data-school': x.school, 'data-status': x.status,
        tabindex: 0, role: 'button',
        onclick: () => this.onSelect(x.school),
        onkeydown: (ev) => { if (ev.key === 'Enter') this.onSelect(x.school); },
      }, s('title', {}, `${x.school_name} — ${x.status}${x.reasons.length ? `: ${x.reasons.join('; ')}` : ''}`));
      this.svg.append(dot);
    }
  }
}
