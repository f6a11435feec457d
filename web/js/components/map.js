// The district map, drawn in SVG from coordinates alone (Web Mercator, so an
// optional tile layer lines up): district areas as the hull of their schools,
// schools, units in their status colours, and lines from units to the
// incidents they are offered (dashed) or assigned (solid). Drag to pan, wheel
// to zoom. A tile URL ({z}/{x}/{y}) can be set in the settings; off by default.

import { h, s, clear } from '../dom.js';
import { kindLabel, stateLabel, unitStatusLabel, CLOSED_STATES } from '../labels.js';

const TILE_KEY = 'huxiao.tileUrl';
const ATTRIBUTION_KEY = 'huxiao.tileAttribution';

export function tileSettings() {
  return {
    url: localStorage.getItem(TILE_KEY) || '',
    attribution: localStorage.getItem(ATTRIBUTION_KEY) || '',
  };
}

export function saveTileSettings({ url, attribution }) {
  localStorage.setItem(TILE_KEY, url || '');
  localStorage.setItem(ATTRIBUTION_KEY, attribution || '');
}

function project(lat, lon) {
  const sin = Math.sin((lat * Math.PI) / 180);
  return {
    x: (lon + 180) / 360,
    y: 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI),
  };
}

const valid = (p) => p && Number.isFinite(p.lat) && Number.isFinite(p.lon) && !(p.lat === 0 && p.lon === 0);

// Andrew's monotone chain over screen points.
function hull(points) {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper = [];
  for (let i = pts.length - 1; i >= 0; i -= 1) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  upper.pop();
  lower.pop();
  return lower.concat(upper);
}

const DISTRICT_HUES = [205, 160, 265, 30, 330, 95, 185, 50];

export class DistrictMap {
  constructor(store, { onSelectIncident, onSelectUnit }) {
    this.store = store;
    this.onSelectIncident = onSelectIncident;
    this.onSelectUnit = onSelectUnit;
    this.view = null;          // {cx, cy, scale}
    this.userMoved = false;
    this.selectedIncident = null;
    this.selectedUnit = null;
    this.size = { w: 0, h: 0 };
    this.tiles = tileSettings();

    this.svg = s('svg', { class: 'map-svg', 'data-testid': 'map' });
    this.layers = {};
    for (const name of ['tiles', 'districts', 'links', 'schools', 'units', 'labels']) {
      this.layers[name] = s('g', { class: `layer-${name}` });
      this.svg.append(this.layers[name]);
    }
    this.attribution = h('div', { class: 'map-attribution' });
    this.el = h('section', { class: 'panel map-panel' },
      h('header', { class: 'panel-head' },
        h('h2', {}, 'Map ', h('span', { class: 'zh' }, '态势图')),
        h('div', { class: 'panel-tools' },
          h('button', { class: 'icon-btn', type: 'button', title: 'Zoom in', onclick: () => this.zoomBy(1.5) }, '+'),
          h('button', { class: 'icon-btn', type: 'button', title: 'Zoom out', onclick: () => this.zoomBy(1 / 1.5) }, '−'),
          h('button', { class: 'btn btn-ghost btn-small', type: 'button', title: 'Show the whole city',
            onclick: () => this.fit(true) }, 'Fit'))),
      h('div', { class: 'map-body' },
        this.svg,
        h('div', { class: 'map-legend' },
          legendItem('unit-available', 'available'),
          legendItem('unit-busy', 'busy'),
          legendItem('unit-out_of_service', 'out of service'),
          legendItem('unit-offline', 'offline'),
          h('span', { class: 'legend-item' }, h('i', { class: 'legend-school' }), 'school'),
          h('span', { class: 'legend-item' }, h('i', { class: 'legend-alarm' }), 'alarm'),
          h('span', { class: 'legend-item' }, h('i', { class: 'legend-offer' }), 'offer'),
          h('span', { class: 'legend-item' }, h('i', { class: 'legend-assigned' }), 'assigned')),
        this.attribution));

    this.installInteraction();
    this.resizeObserver = new ResizeObserver(() => {
      const r = this.svg.getBoundingClientRect();
      if (r.width === this.size.w && r.height === this.size.h) return;
      this.size = { w: r.width, h: r.height };
      if (!this.userMoved) this.view = null;
      this.render();
    });
    this.resizeObserver.observe(this.svg);
  }

  setTiles(settings) {
    this.tiles = settings;
    this.render();
  }

  select({ incident, unit }) {
    if (incident !== undefined) this.selectedIncident = incident;
    if (unit !== undefined) this.selectedUnit = unit;
    this.render();
  }

  // ---- view ---------------------------------------------------------------

  points() {
    const pts = [];
    for (const sc of this.store.schools.values()) if (valid(sc)) pts.push(project(sc.lat, sc.lon));
    for (const u of this.store.units.values()) if (valid(u)) pts.push(project(u.lat, u.lon));
    return pts;
  }

  fit(byUser = false) {
    const pts = this.points();
    const { w, h: hgt } = this.size;
    if (!pts.length || !w || !hgt) return false;
    let x0 = Infinity; let x1 = -Infinity; let y0 = Infinity; let y1 = -Infinity;
    for (const p of pts) {
      x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x);
      y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y);
    }
    const dx = Math.max(x1 - x0, 1e-6);
    const dy = Math.max(y1 - y0, 1e-6);
    const scale = Math.min((w - 60) / dx, (hgt - 70) / dy);
    this.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: Math.min(scale, 256 * 2 ** 19) };
    if (byUser) {
      this.userMoved = false;
      this.render();
    }
    return true;
  }

  zoomBy(factor, sx = this.size.w / 2, sy = this.size.h / 2) {
    if (!this.view) return;
    const v = this.view;
    const wx = v.cx + (sx - this.size.w / 2) / v.scale;
    const wy = v.cy + (sy - this.size.h / 2) / v.scale;
    const scale = Math.max(256, Math.min(v.scale * factor, 256 * 2 ** 20));
    // Keep the point under the cursor where it is.
    this.view = { scale, cx: wx - (sx - this.size.w / 2) / scale, cy: wy - (sy - this.size.h / 2) / scale };
    this.userMoved = true;
    this.render();
  }

  toScreen(lat, lon) {
    const p = project(lat, lon);
    const v = this.view;
    return [(p.x - v.cx) * v.scale + this.size.w / 2, (p.y - v.cy) * v.scale + this.size.h / 2];
  }

  installInteraction() {
    let drag = null;
    this.svg.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0 || !this.view) return;
      drag = { x: ev.clientX, y: ev.clientY, cx: this.view.cx, cy: this.view.cy, moved: false, id: ev.pointerId };
    });
    this.svg.addEventListener('pointermove', (ev) => {
      if (!drag || ev.pointerId !== drag.id) return;
      const dx = ev.clientX - drag.x;
      const dy = ev.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) this.svg.setPointerCapture(ev.pointerId);
      drag.moved = true;
      this.view = { ...this.view, cx: drag.cx - dx / this.view.scale, cy: drag.cy - dy / this.view.scale };
      this.userMoved = true;
      this.svg.classList.add('dragging');
      this.render();
    });
    const end = (ev) => {
      if (!drag || ev.pointerId !== drag.id) return;
      const moved = drag.moved;
      drag = null;
      this.svg.classList.remove('dragging');
      if (moved) return;
      const target = ev.target.closest && ev.target.closest('[data-incident],[data-unit]');
      if (!target) return;
      if (target.dataset.incident) this.onSelectIncident(target.dataset.incident);
      else if (target.dataset.unit) this.onSelectUnit(target.dataset.unit);
    };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', () => { drag = null; });
    this.svg.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
    this.svg.addEventListener('dblclick', (ev) => {
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(2, ev.clientX - r.left, ev.clientY - r.top);
    });
  }

  // ---- drawing ------------------------------------------------------------

  render() {
    if (!this.size.w || !this.size.h) return;
    if (!this.view && !this.fit()) return;
    this.svg.setAttribute('viewBox', `0 0 ${this.size.w} ${this.size.h}`);
    for (const g of Object.values(this.layers)) clear(g);
    this.drawTiles();
    this.drawDistricts();
    this.drawSchoolsAndLinks();
    this.drawUnits();
  }

  drawTiles() {
    const url = this.tiles.url;
    this.attribution.textContent = url ? this.tiles.attribution : '';
    this.attribution.hidden = !url || !this.tiles.attribution;
    if (!url) return;
    const v = this.view;
    const z = Math.max(0, Math.min(19, Math.round(Math.log2(v.scale / 256))));
    const n = 2 ** z;
    const px = v.scale / n;
    const x0 = v.cx - this.size.w / 2 / v.scale;
    const x1 = v.cx + this.size.w / 2 / v.scale;
    const y0 = v.cy - this.size.h / 2 / v.scale;
    const y1 = v.cy + this.size.h / 2 / v.scale;
    for (let tx = Math.floor(x0 * n); tx <= Math.floor(x1 * n); tx += 1) {
      for (let ty = Math.max(0, Math.floor(y0 * n)); ty <= Math.min(n - 1, Math.floor(y1 * n)); ty += 1) {
        const wrapped = ((tx % n) + n) % n;
        const href = url.replace('{z}', z).replace('{x}', wrapped).replace('{y}', ty)
          .replace('{s}', 'abc'[(wrapped + ty) % 3]);
        this.layers.tiles.append(s('image', {
          href,
          x: ((tx / n - v.cx) * v.scale + this.size.w / 2).toFixed(1),
          y: ((ty / n - v.cy) * v.scale + this.size.h / 2).toFixed(1),
          width: (px + 0.5).toFixed(1),
          height: (px + 0.5).toFixed(1),
          preserveAspectRatio: 'none',
        }));
      }
    }
  }

  drawDistricts() {
    const byDistrict = new Map();
    for (const sc of this.store.schools.values()) {
      if (!valid(sc)) continue;
      const list = byDistrict.get(sc.district) || [];
      list.push(this.toScreen(sc.lat, sc.lon));
      byDistrict.set(sc.district, list);
    }
    const ids = [...byDistrict.keys()].sort();
    ids.forEach((id, i) => {
      const pts = byDistrict.get(id);
      const hue = DISTRICT_HUES[i % DISTRICT_HUES.length];
      const hl = hull(pts);
      if (hl.length >= 3) {
        // A wide round stroke in the fill colour pads the hull around its schools.
        this.layers.districts.append(s('polygon', {
          class: 'district-area',
          points: hl.map((p) => p.map((c) => c.toFixed(1)).join(',')).join(' '),
          style: { fill: `hsla(${hue}, 60%, 55%, 0.07)`, stroke: `hsla(${hue}, 60%, 55%, 0.07)` },
        }));
        this.layers.districts.append(s('polygon', {
          class: 'district-outline',
          points: hl.map((p) => p.map((c) => c.toFixed(1)).join(',')).join(' '),
          style: { stroke: `hsla(${hue}, 60%, 60%, 0.35)` },
        }));
      }
      const cx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
      const top = Math.min(...pts.map((p) => p[1]));
      this.layers.labels.append(s('text', {
        class: 'district-label', x: cx.toFixed(1), y: (top - 22).toFixed(1), 'text-anchor': 'middle',
        style: { fill: `hsla(${hue}, 60%, 70%, 0.75)` },
      }, id));
    });
  }

  drawSchoolsAndLinks() {
    const store = this.store;
    const incidentsBySchool = new Map();
    for (const inc of store.incidents.values()) {
      const list = incidentsBySchool.get(inc.school) || [];
      list.push(inc);
      incidentsBySchool.set(inc.school, list);
    }
    const showNames = this.view.scale > 256 * 2 ** 13.6;

    // Links first, so markers sit on top of them.
    for (const inc of store.incidents.values()) {
      const school = store.schools.get(inc.school) || inc;
      if (!valid(school)) continue;
      const [sx, sy] = this.toScreen(school.lat, school.lon);
      const link = (unitId, cls) => {
        const u = store.units.get(unitId);
        if (!valid(u)) return;
        const [ux, uy] = this.toScreen(u.lat, u.lon);
        this.layers.links.append(s('line', {
          class: `map-link ${cls}${this.selectedIncident === inc.id ? ' selected' : ''}`,
          x1: ux.toFixed(1), y1: uy.toFixed(1), x2: sx.toFixed(1), y2: sy.toFixed(1),
          'data-testid': `link-${unitId}`,
        }));
      };
      for (const u of store.unitsOf(inc).active) link(u, 'link-assigned');
      for (const o of inc.offers || []) link(o.unit, 'link-offer');
    }

    for (const sc of store.schools.values()) {
      if (!valid(sc)) continue;
      const [x, y] = this.toScreen(sc.lat, sc.lon);
      const open = (incidentsBySchool.get(sc.id) || []).filter((i) => !CLOSED_STATES.has(i.state));
      const offline = store.offlineSchools.has(sc.id);
      if (open.length) {
        const inc = open[0];
        const drill = open.every((i) => i.drill);
        const selected = open.some((i) => i.id === this.selectedIncident);
        const g = s('g', {
          class: `alarm-marker${drill ? ' drill' : ''}${selected ? ' selected' : ''}${inc.acknowledged ? '' : ' unacked'}`,
          'data-incident': inc.id, transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
          'data-testid': `map-alarm-${sc.id}`,
        },
        s('title', {}, `${sc.name} (${sc.id})\n${open.map((i) =>
          `${kindLabel(i.kind)[0]}${i.drill ? ' (drill)' : ''} — ${stateLabel(i.state)[0]}`).join('\n')}`),
        s('circle', { class: 'alarm-pulse', r: 11 }),
        s('circle', { class: 'alarm-dot', r: 8 }),
        s('text', { class: 'alarm-glyph', y: 3.5, 'text-anchor': 'middle' }, '!'));
        this.layers.schools.append(g);
        this.layers.labels.append(s('text', {
          class: `alarm-label${drill ? ' drill' : ''}`, x: (x + 14).toFixed(1), y: (y - 10).toFixed(1),
        }, sc.name + (drill ? ' · DRILL' : '')));
      } else {
        this.layers.schools.append(s('rect', {
          class: `school${offline ? ' school-offline' : ''}`,
          x: (x - 3.5).toFixed(1), y: (y - 3.5).toFixed(1), width: 7, height: 7, rx: 1.5,
        }, s('title', {}, `${sc.name} (${sc.id}, ${sc.district})${offline ? '\nalarm terminal OFFLINE' : ''}`)));
        if (showNames) {
          this.layers.labels.append(s('text', { class: 'school-label', x: (x + 7).toFixed(1), y: (y + 3.5).toFixed(1) },
            sc.name));
        }
      }
    }
  }

  drawUnits() {
    const units = [...this.store.units.values()].filter(valid);
    // Offline units underneath, so live ones are never hidden by them.
    const order = { offline: 0, out_of_service: 1, available: 2, busy: 3 };
    units.sort((a, b) => (order[a.status] ?? 0) - (order[b.status] ?? 0));
    for (const u of units) {
      const [x, y] = this.toScreen(u.lat, u.lon);
      const selected = this.selectedUnit === u.id;
      this.layers.units.append(s('g', {
        class: `unit unit-${u.status}${selected ? ' selected' : ''}`,
        transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`, 'data-unit': u.id,
        'data-testid': `map-unit-${u.id}`, 'data-status': u.status,
      },
      s('title', {}, `${u.callsign || u.id} (${u.id}) — ${unitStatusLabel(u.status)[0]}${u.incident ? `\nincident ${u.incident}` : ''}`),
      selected ? s('circle', { class: 'unit-halo', r: 12 }) : null,
      s('circle', { class: 'unit-dot', r: 6.5 }),
      s('text', { class: 'unit-label', x: 10, y: 4 }, u.id)));
    }
  }
}

function legendItem(cls, text) {
  return h('span', { class: 'legend-item' }, h('i', { class: `legend-unit ${cls}` }), text);
}
