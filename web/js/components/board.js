// The incident board: every open incident, newest first, then the recently
// closed ones greyed. Rows are keyed by incident id and rebuilt only when
// their data changes, so a click never lands on a row being replaced; the
// "since" clocks tick in place (see ticker in views/console.js).

import { h, clear, formatClock, parseIso } from '../dom.js';
import { kindLabel, stateLabel, CLOSED_STATES, URGENT_STATES } from '../labels.js';

export class Board {
  constructor(store, { onSelect, onAcknowledge }) {
    this.store = store;
    this.onSelect = onSelect;
    this.onAcknowledge = onAcknowledge;
    this.selected = null;
    this.rows = new Map();   // id -> {tr, sig}
    this.flash = new Set();  // ids to highlight as new

    this.count = h('span', { class: 'panel-count', 'data-testid': 'open-count' });
    this.drillToggle = h('input', { type: 'checkbox', checked: true, onchange: () => this.render() });
    this.tbody = h('tbody', { 'data-testid': 'board-rows' });
    this.empty = h('div', { class: 'empty', 'data-testid': 'board-empty' },
      h('div', { class: 'empty-title' }, 'No open incidents'),
      h('div', { class: 'muted' }, 'All quiet · 当前无警情'));
    this.el = h('section', { class: 'panel board', 'data-testid': 'board' },
      h('header', { class: 'panel-head' },
        h('h2', {}, 'Incidents ', h('span', { class: 'zh' }, '警情')),
        this.count,
        h('label', { class: 'panel-tool' }, this.drillToggle, ' show drills')),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'board-table' },
          h('thead', {}, h('tr', {},
            h('th', { class: 'col-since' }, 'Since'),
            h('th', { class: 'col-state' }, 'State'),
            h('th', { class: 'col-school' }, 'School'),
            h('th', { class: 'col-kind' }, 'Kind'),
            h('th', { class: 'col-units' }, 'Units'),
            h('th', { class: 'col-ack' }, 'Ack'))),
          this.tbody),
        this.empty));
    this.tbody.addEventListener('click', (ev) => {
      const ack = ev.target.closest('[data-ack]');
      if (ack) {
        ev.stopPropagation();
        this.onAcknowledge(ack.dataset.ack, ack);
        return;
      }
      const tr = ev.target.closest('tr[data-incident]');
      if (tr) this.onSelect(tr.dataset.incident);
    });
  }

  select(id) {
    this.selected = id;
    for (const [rid, row] of this.rows) row.tr.classList.toggle('selected', rid === id);
  }

  markNew(id) {
    this.flash.add(id);
    setTimeout(() => {
      this.flash.delete(id);
      const row = this.rows.get(id);
      if (row) row.tr.classList.remove('flash');
    }, 8000);
  }

  render() {
    const store = this.store;
    const showDrills = this.drillToggle.checked;
    const open = [...store.incidents.values()]
      .filter((i) => showDrills || !i.drill)
      .sort((a, b) => parseIso(b.received_at) - parseIso(a.received_at));
    const closed = [...store.closed.values()]
      .filter((i) => showDrills || !i.drill)
      .sort((a, b) => (b.closedAtLocal || 0) - (a.closedAtLocal || 0));
    const list = [...open, ...closed];
    const realOpen = [...store.incidents.values()].filter((i) => !i.drill).length;
    const drills = store.incidents.size - realOpen;
    this.count.textContent = `${realOpen} open` + (drills ? ` · ${drills} drill` : '');
    this.count.classList.toggle('hot', realOpen > 0);

    const keep = new Set(list.map((i) => i.id));
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    let prev = null;
    for (const inc of list) {
      const sig = this.signature(inc);
      let row = this.rows.get(inc.id);
      if (!row || row.sig !== sig) {
        const tr = this.row(inc);
        if (row) row.tr.replaceWith(tr);
        row = { tr, sig };
        this.rows.set(inc.id, row);
      }
      // Keep DOM order equal to list order, moving as little as possible.
      const want = prev ? prev.nextSibling : this.tbody.firstChild;
      if (want !== row.tr) this.tbody.insertBefore(row.tr, want);
      prev = row.tr;
    }
    this.empty.hidden = open.length > 0;
  }

  signature(inc) {
    return JSON.stringify([inc.state, inc.acknowledged, inc.units, inc.cleared, (inc.offers || []).map((o) => [o.unit, o.baseLocal]),
      inc.cancelRequested, inc.drill, inc.school_name, this.selected === inc.id, this.flash.has(inc.id),
      this.store.canCommand, CLOSED_STATES.has(inc.state)]);
  }

  row(inc) {
    const closed = CLOSED_STATES.has(inc.state) || this.store.closed.has(inc.id);
    const [kindEn, kindZh] = kindLabel(inc.kind);
    const [stateEn, stateZh] = stateLabel(inc.state);
    const school = this.store.schools.get(inc.school);
    const schoolName = inc.school_name || (school && school.name) || inc.school;
    const district = inc.district || (school && school.district) || '';
    const classes = ['row', `state-${inc.state}`];
    if (inc.drill) classes.push('drill');
    if (closed) classes.push('closed');
    if (!inc.acknowledged && !closed) classes.push('unacked');
    if (URGENT_STATES.has(inc.state)) classes.push('urgent');
    if (this.selected === inc.id) classes.push('selected');
    if (this.flash.has(inc.id)) classes.push('flash');

    const units = h('div', { class: 'unit-chips' });
    const { active, cleared } = this.store.unitsOf(inc);
    for (const u of active) {
      units.append(h('span', { class: 'chip chip-unit', title: 'assigned', 'data-unit': u }, u));
    }
    for (const o of inc.offers || []) {
      const deadline = (o.baseLocal || Date.now()) + (o.expires_in_s || 0) * 1000;
      units.append(h('span', { class: 'chip chip-offer', title: 'offered, waiting for the unit' },
        `${o.unit} `, h('span', { class: 'countdown', 'data-deadline': deadline }, '')));
    }
    for (const u of cleared) {
      units.append(h('span', { class: 'chip chip-cleared', title: 'cleared: left the scene', 'data-unit': u,
        'data-testid': 'cleared-unit' }, u));
    }
    if (!units.childElementCount) units.append(h('span', { class: 'muted' }, closed ? '' : '—'));

    let ack;
    if (closed) {
      ack = h('span', { class: 'muted' }, inc.acknowledged ? '✓' : '');
    } else if (inc.acknowledged) {
      ack = h('span', { class: 'ack-ok', 'data-testid': 'acked' }, '✓ ACK');
    } else if (this.store.canCommand) {
      ack = h('button', { class: 'btn btn-ack btn-small', type: 'button', 'data-ack': inc.id,
        'data-testid': 'ack-button', title: 'Acknowledge: I am handling this alarm' }, 'ACK');
    } else {
      ack = h('span', { class: 'ack-missing' }, 'not ack');
    }

    return h('tr', { class: classes.join(' '), 'data-incident': inc.id, 'data-testid': 'incident-row',
      'data-state': inc.state, 'data-drill': inc.drill ? 'true' : 'false' },
      h('td', { class: 'col-since' },
        h('div', { class: 'since', 'data-since': closed ? null : inc.received_at,
          'data-escalate': closed || inc.acknowledged ? null : 'ack', 'data-testid': 'since' },
          closed ? formatClock(inc.closedAtLocal) : ''),
        h('div', { class: 'muted small' }, closed ? 'closed' : formatClock(parseIso(inc.received_at)))),
      h('td', { class: 'col-state' },
        h('span', { class: `badge badge-${inc.state}`, 'data-testid': 'state' }, stateEn),
        h('div', { class: 'zh small muted' }, stateZh)),
      h('td', { class: 'col-school' },
        h('div', { class: 'school-name', 'data-testid': 'school' }, schoolName),
        h('div', { class: 'muted small', title: `incident ${inc.id}` }, [inc.school, district].filter(Boolean).join(' · ')),
        inc.cancelRequested && !closed ? h('span', { class: 'tag tag-cancel' }, 'school asks to cancel') : null),
      h('td', { class: 'col-kind' },
        h('div', { class: `kind kind-${inc.kind}`, 'data-testid': 'kind' }, kindEn),
        h('div', { class: 'zh small muted' }, kindZh),
        inc.drill ? h('span', { class: 'drill-badge', 'data-testid': 'drill-badge' }, 'DRILL 演练') : null),
      h('td', { class: 'col-units', 'data-testid': 'units' }, units),
      h('td', { class: 'col-ack' }, ack));
  }

  destroy() {
    clear(this.tbody);
    this.rows.clear();
  }
}
