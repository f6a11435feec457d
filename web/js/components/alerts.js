// New-alarm alerting: a red banner that stays until the alarm is acknowledged
// or dismissed, a blinking tab title, and sound (three pulses at once, then a
// short reminder every 20 s while a real alarm waits for acknowledgement).

import { h, clear, fill, formatClock, parseIso } from '../dom.js';
import { kindLabel } from '../labels.js';
import { sound } from '../audio.js';

const REMINDER_MS = 20000;
const BASE_TITLE = 'huxiao · dispatch console';

export class AlarmAlerts {
  constructor(store, banner, { onShow, onAcknowledge }) {
    this.store = store;
    this.banner = banner;
    this.onShow = onShow;
    this.onAcknowledge = onAcknowledge;
    this.pending = [];      // incident ids, newest first
    this.titleTimer = null;
    this.reminderTimer = setInterval(() => this.remind(), REMINDER_MS);
    this.banner.addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-do]');
      if (!button) return;
      const id = button.dataset.id;
      if (button.dataset.do === 'show') this.onShow(id);
      if (button.dataset.do === 'ack') this.onAcknowledge(id, button);
      if (button.dataset.do === 'dismiss') this.dismiss(id);
    });
  }

  raise(incidents) {
    if (!incidents.length) return;
    for (const inc of incidents) {
      this.pending = [inc.id, ...this.pending.filter((id) => id !== inc.id)];
    }
    // Sound is for those who can answer; read-only roles see the banner only.
    if (this.store.canCommand) sound.alarm({ drill: incidents.every((i) => i.drill) });
    this.render();
  }

  dismiss(id) {
    this.pending = this.pending.filter((x) => x !== id);
    this.render();
  }

  // Drop alerts that no longer need attention (acknowledged or closed).
  sync() {
    this.pending = this.pending.filter((id) => {
      const inc = this.store.incidents.get(id);
      return inc && !inc.acknowledged;
    });
    this.render();
  }

  remind() {
    const real = this.pending.map((id) => this.store.incidents.get(id)).filter((i) => i && !i.drill);
    if (real.length && this.store.canCommand) sound.reminder();
  }

  // Rebuilt only when what it shows changes, so a click never hits a stale button.
  render() {
    const incs = this.pending.map((id) => this.store.incidents.get(id)).filter(Boolean);
    const sig = JSON.stringify([incs.map((i) => [i.id, i.school_name, i.kind, i.drill]), this.store.canCommand]);
    if (sig === this.shown) return;
    this.shown = sig;
    clear(this.banner);
    this.banner.hidden = incs.length === 0;
    this.banner.classList.toggle('drill-only', incs.length > 0 && incs.every((i) => i.drill));
    this.setTitle(this.store.canCommand ? incs.length : 0);
    if (!incs.length) return;
    const inc = incs[0];
    const [kindEn, kindZh] = kindLabel(inc.kind);
    const school = this.store.schools.get(inc.school) || {};
    fill(this.banner,
      h('span', { class: 'alert-icon', 'aria-hidden': 'true' }, '⚠'),
      h('span', { class: 'alert-title' }, inc.drill ? 'DRILL ALARM 演练' : 'NEW ALARM 新警情'),
      h('span', { class: 'alert-text', 'data-testid': 'alert-text' },
        h('b', {}, `${kindEn} ${kindZh}`), ' at ',
        h('b', {}, inc.school_name || school.name || inc.school),
        ` (${inc.school}) · ${formatClock(parseIso(inc.received_at))}`,
        inc.note ? h('span', { class: 'alert-note' }, ` · “${inc.note}”`) : null),
      incs.length > 1 ? h('span', { class: 'alert-more' }, `+${incs.length - 1} more`) : null,
      h('span', { class: 'alert-actions' },
        h('button', { class: 'btn btn-small btn-light', type: 'button', 'data-do': 'show', 'data-id': inc.id }, 'Show'),
        this.store.canCommand
          ? h('button', { class: 'btn btn-small btn-light', type: 'button', 'data-do': 'ack', 'data-id': inc.id,
            'data-testid': 'alert-ack' }, 'Acknowledge')
          : null,
        h('button', { class: 'icon-btn', type: 'button', 'data-do': 'dismiss', 'data-id': inc.id,
          title: 'Dismiss (the alarm stays on the board)', 'aria-label': 'Dismiss' }, '×')));
  }

  setTitle(count) {
    clearInterval(this.titleTimer);
    this.titleTimer = null;
    if (!count) {
      document.title = BASE_TITLE;
      return;
    }
    let on = false;
    this.titleTimer = setInterval(() => {
      on = !on;
      document.title = on ? `(${count}) ⚠ NEW ALARM` : `(${count}) ${BASE_TITLE}`;
    }, 900);
    document.title = `(${count}) ⚠ NEW ALARM`;
  }

  destroy() {
    clearInterval(this.reminderTimer);
    clearInterval(this.titleTimer);
    document.title = BASE_TITLE;
  }
}

// Short messages in the corner: command results and connection news.
export function makeToaster(container) {
  return (text, kind = 'info') => {
    const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status',
      'data-testid': `toast-${kind}` }, text);
    container.append(el);
    setTimeout(() => el.classList.add('leaving'), kind === 'error' ? 7000 : 3500);
    setTimeout(() => el.remove(), kind === 'error' ? 7600 : 4100);
  };
}
