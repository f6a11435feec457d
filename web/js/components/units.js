// The unit list: every patrol unit with its status and current incident.

import { h, clear } from '../dom.js';
import { unitStatusLabel } from '../labels.js';

const ORDER = { available: 0, busy: 1, out_of_service: 2, offline: 3 };

export class UnitList {
  constructor(store, { onSelectUnit, onSelectIncident }) {
    this.store = store;
    this.onSelectUnit = onSelectUnit;
    this.onSelectIncident = onSelectIncident;
    this.selected = null;
    this.summary = h('span', { class: 'panel-count', 'data-testid': 'units-summary' });
    this.tbody = h('tbody', { 'data-testid': 'unit-rows' });
    this.el = h('section', { class: 'panel units' },
      h('header', { class: 'panel-head' },
        h('h2', {}, 'Units ', h('span', { class: 'zh' }, '警力')),
        this.summary),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'unit-table' },
          h('thead', {}, h('tr', {},
            h('th', {}, 'Unit'), h('th', {}, 'District'), h('th', {}, 'Status'), h('th', {}, 'Incident'))),
          this.tbody)));
    this.tbody.addEventListener('click', (ev) => {
      const link = ev.target.closest('[data-goto]');
      if (link) {
        ev.stopPropagation();
        this.onSelectIncident(link.dataset.goto);
        return;
      }
      const tr = ev.target.closest('tr[data-unit]');
      if (tr) this.onSelectUnit(tr.dataset.unit);
    });
  }

  select(id) {
    this.selected = id;
    for (const tr of this.tbody.children) tr.classList.toggle('selected', tr.dataset.unit === id);
    const tr = id && this.tbody.querySelector(`tr[data-unit="${CSS.escape(id)}"]`);
    if (tr) tr.scrollIntoView({ block: 'nearest' });
  }

  render() {
    const units = [...this.store.units.values()].sort((a, b) =>
      (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) || a.id.localeCompare(b.id, undefined, { numeric: true }));
    const counts = {};
    for (const u of units) counts[u.status] = (counts[u.status] || 0) + 1;
    this.summary.textContent = `${counts.available || 0} available · ${counts.busy || 0} busy · ` +
      `${units.length - (counts.offline || 0)}/${units.length} online`;
    clear(this.tbody);
    for (const u of units) {
      const [en, zh] = unitStatusLabel(u.status);
      const inc = u.incident ? this.store.incident(u.incident) : null;
      this.tbody.append(h('tr', {
        class: `unit-row${this.selected === u.id ? ' selected' : ''}`, 'data-unit': u.id,
        'data-testid': 'unit-row', 'data-status': u.status,
      },
      h('td', {}, h('span', { class: `dot dot-${u.status}` }), h('b', {}, u.id), ' ',
        h('span', { class: 'muted' }, u.callsign && u.callsign !== u.id ? u.callsign : '')),
      h('td', { class: 'muted' }, u.district || ''),
      h('td', {}, h('span', { class: `status status-${u.status}`, title: zh }, en)),
      h('td', {}, u.incident
        ? h('a', { href: '#', class: 'link', 'data-goto': u.incident, onclick: (e) => e.preventDefault() },
          inc ? `${inc.school_name || inc.school}` : u.incident)
        : h('span', { class: 'muted' }, '—'))));
    }
  }
}
