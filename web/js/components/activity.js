// The live activity feed: every event the console hears, newest first.

import { h, clear, formatClock, parseIso } from '../dom.js';
import { eventLabel } from '../labels.js';

const SHOWN = 80;

export class ActivityFeed {
  constructor(store, { onSelectIncident }) {
    this.store = store;
    this.list = h('ol', { class: 'activity-list', 'data-testid': 'activity' });
    this.el = h('section', { class: 'panel activity' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Activity ', h('span', { class: 'zh' }, '动态'))),
      h('div', { class: 'table-wrap' }, this.list));
    this.list.addEventListener('click', (ev) => {
      const li = ev.target.closest('li[data-incident]');
      if (li) onSelectIncident(li.dataset.incident);
    });
  }

  render() {
    clear(this.list);
    const items = this.store.activity.slice(0, SHOWN);
    if (!items.length) {
      this.list.append(h('li', { class: 'muted' }, 'Nothing yet. Events appear here as they happen.'));
      return;
    }
    for (const a of items) {
      if (a.type === 'terminal') {
        this.list.append(h('li', { class: `act act-terminal ${a.online ? 'ok' : 'bad'}` },
          h('span', { class: 'act-time' }, formatClock(parseIso(a.at) || a.receivedAtLocal)),
          h('span', { class: 'act-text' },
            h('b', {}, `Terminal ${a.terminal} ${a.online ? 'online' : 'OFFLINE'}`),
            a.school ? ` · ${this.schoolName(a.school)}` : '')));
        continue;
      }
      const [en] = eventLabel(a.event);
      const inc = this.store.incident(a.incident);
      this.list.append(h('li', { class: `act act-${a.event}`, 'data-incident': a.incident || null },
        h('span', { class: 'act-time' }, formatClock(parseIso(a.at))),
        h('span', { class: 'act-text' },
          h('b', {}, en), a.unit ? ` · ${a.unit}` : '',
          (() => {
            const where = inc ? inc.school_name || inc.school : this.schoolName(a.school);
            return where ? ` · ${where}` : '';
          })(),
          a.actor && a.actor !== 'system' && a.actor !== a.unit ? h('span', { class: 'muted' }, ` · ${a.actor}`) : '')));
    }
  }

  schoolName(id) {
    const sc = this.store.schools.get(id);
    return sc ? sc.name : id || '';
  }
}
