// The dispatch view: board and units on the left, the map in the middle,
// the selected incident and the activity feed on the right.

import { h, perFrame, formatElapsed } from '../dom.js';
import { Board } from '../components/board.js';
import { DistrictMap, tileSettings } from '../components/map.js';
import { UnitList } from '../components/units.js';
import { IncidentDetail } from '../components/detail.js';
import { ActivityFeed } from '../components/activity.js';
import { AlarmAlerts } from '../components/alerts.js';

// Timeline events after which unit positions or statuses change on the server:
// ask for a fresh snapshot instead of waiting for the next poll.
const UNIT_EVENTS = new Set(['offer_sent', 'offer_declined', 'offer_expired', 'unit_accepted', 'unit_en_route',
  'unit_arrived', 'unit_cleared', 'resolved', 'cancelled', 'no_unit_available']);

const ACK_WARN_S = 30;
const ACK_CRIT_S = 90;

export class ConsoleView {
  constructor(ctx) {
    this.ctx = ctx;
    const { store, socket, toast } = ctx;
    this.store = store;
    this.socket = socket;
    this.toast = toast;
    this.selectedIncident = null;

    const selectIncident = (id) => this.selectIncident(id);
    const selectUnit = (id) => this.selectUnit(id);
    const acknowledge = (id, button) => this.acknowledge(id, button);

    this.board = new Board(store, { onSelect: selectIncident, onAcknowledge: acknowledge });
    this.map = new DistrictMap(store, { onSelectIncident: selectIncident, onSelectUnit: selectUnit });
    this.units = new UnitList(store, { onSelectUnit: selectUnit, onSelectIncident: selectIncident });
    this.detail = new IncidentDetail(store, {
      token: ctx.token,
      command: (type, fields) => socket.command(type, fields),
      toast,
      onClose: () => this.selectIncident(null),
      onSelectUnit: selectUnit,
      onAuthLost: ctx.onAuthLost,
    });
    this.activity = new ActivityFeed(store, { onSelectIncident: selectIncident });
    this.alerts = new AlarmAlerts(store, ctx.banner, { onShow: selectIncident, onAcknowledge: acknowledge });

    // Read-only roles watch: say so once, instead of controls they cannot use.
    this.readonly = h('div', { class: 'readonly-banner', 'data-testid': 'readonly-banner', hidden: true });
    this.el = h('div', { class: 'console-grid', 'data-testid': 'console' },
      h('div', { class: 'col col-left' }, this.readonly, this.board.el, this.units.el),
      h('div', { class: 'col col-center' }, this.map.el),
      h('div', { class: 'col col-right' }, this.detail.el, this.activity.el));

    this.dirty = new Set();
    this.renderSoon = perFrame(() => this.render());
    this.snapshotSoon = debounce(() => socket.requestSnapshot(), 250);

    this.onChange = (ev) => {
      const { what, newAlarms, incident } = ev.detail;
      for (const w of what) this.dirty.add(w);
      if (newAlarms.length) {
        for (const inc of newAlarms) this.board.markNew(inc.id);
        this.alerts.raise(newAlarms);
        this.dirty.add('incidents');
      }
      if (incident && incident === this.selectedIncident) this.detail.scheduleRefresh();
      this.renderSoon();
    };
    this.onMessage = (ev) => {
      const msg = ev.detail.msg;
      if (msg.type === 'event') {
        const unknown = store.applyEvent(msg);
        if (unknown || UNIT_EVENTS.has(msg.event) || msg.event === 'alarm_received') this.snapshotSoon();
      }
    };
    store.addEventListener('change', this.onChange);
    socket.addEventListener('message', this.onMessage);
    this.ticker = setInterval(() => this.tick(), 1000);
    this.pruner = setInterval(() => {
      store.pruneClosed();
      this.dirty.add('incidents');
      this.renderSoon();
    }, 30000);
  }

  mount(root) {
    root.append(this.el);
    for (const w of ['incidents', 'units', 'schools', 'activity']) this.dirty.add(w);
    this.render();
  }

  unmount() {
    this.store.removeEventListener('change', this.onChange);
    this.socket.removeEventListener('message', this.onMessage);
    clearInterval(this.ticker);
    clearInterval(this.pruner);
    this.alerts.destroy();
    this.map.resizeObserver.disconnect();
    this.el.remove();
  }

  setTiles() {
    this.map.setTiles(tileSettings());
  }

  render() {
    const d = this.dirty;
    this.dirty = new Set();
    if (d.has('incidents') || d.has('role') || d.has('schools')) this.board.render();
    if (d.has('units') || d.has('incidents')) this.units.render();
    if (d.has('incidents') || d.has('units') || d.has('schools') || d.has('terminals')) this.map.render();
    if (d.has('activity') || d.has('incidents')) this.activity.render();
    this.detail.update();
    this.alerts.sync();
    if (d.has('role')) this.alerts.render();
    this.renderReadOnly();
    this.tick();
  }

  renderReadOnly() {
    const { role, districts } = this.store;
    const show = !!role && !this.store.canCommand;
    this.readonly.hidden = !show;
    if (!show) return;
    const scope = districts.length
      ? ` of ${districts.map((d) => this.store.districtNames.get(d) || d).join(', ')}` : ' of the whole city';
    this.readonly.textContent = `Read-only (${role}): the live picture${scope}. ` +
      'Dispatchers acknowledge and assign; alarms here make no sound.';
  }

  selectIncident(id) {
    this.selectedIncident = id;
    this.board.select(id);
    this.map.select({ incident: id });
    this.detail.show(id);
    if (id) {
      const row = this.board.rows.get(id);
      if (row) row.tr.scrollIntoView({ block: 'nearest' });
    }
  }

  selectUnit(id) {
    this.units.select(id);
    this.map.select({ unit: id });
  }

  async acknowledge(id, button) {
    if (button) button.disabled = true;
    try {
      await this.socket.command('acknowledge', { incident: id });
      this.toast('Acknowledged', 'ok');
    } catch (e) {
      this.toast(`acknowledge failed: ${e.code ? `${e.code} — ` : ''}${e.message}`, 'error');
      if (button) button.disabled = false;
    }
  }

  // Once a second: the clocks since each alarm and the offers' countdowns.
  tick() {
    for (const el of this.el.querySelectorAll('[data-since]')) {
      const secs = this.store.secondsSince(el.dataset.since);
      el.textContent = formatElapsed(secs);
      el.dataset.seconds = Number.isFinite(secs) ? String(Math.floor(secs)) : '';
      if (el.dataset.escalate) {
        el.classList.toggle('warn', secs >= ACK_WARN_S && secs < ACK_CRIT_S);
        el.classList.toggle('crit', secs >= ACK_CRIT_S);
      } else {
        el.classList.remove('warn', 'crit');
      }
    }
    const now = Date.now();
    for (const el of this.el.querySelectorAll('[data-deadline]')) {
      const left = Math.max(0, Math.round((Number(el.dataset.deadline) - now) / 1000));
      el.textContent = `${left}s`;
    }
  }
}

function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
