// Terminal availability (/api/v1/terminals over the range): offline ones
// first, then the least available; every column sorts on click.

import { h, parseIso, formatDateTime } from '../dom.js';
import { DataTable } from './data-table.js';
import { fmtPct } from '../report-format.js';

const statusOf = (t) => (!t.enabled ? 'disabled' : t.online ? 'online' : 'offline');
const STATUS_ORDER = { offline: 0, online: 1, disabled: 2 };

export class TerminalTable {
  constructor() {
    this.table = new DataTable({
      testid: 'terminal-table', rowTestid: 'terminal-row', sortable: true,
      sort: { key: 'status', dir: 1 },
      tiebreak: (a, b) => (a.availability_pct ?? 101) - (b.availability_pct ?? 101) ||
        String(a.id).localeCompare(String(b.id), undefined, { numeric: true }),
      rowAttrs: (t) => ({ 'data-terminal': t.id, 'data-status': statusOf(t) }),
      empty: 'No terminals',
      columns: [
        { key: 'status', label: 'Now', value: (t) => STATUS_ORDER[statusOf(t)],
          cell: (t) => h('span', { class: `term-status term-${statusOf(t)}` }, statusOf(t)) },
        { key: 'id', label: 'Terminal', value: (t) => t.id },
        { key: 'school', label: 'School', value: (t) => t.school_name || t.school },
        { key: 'district', label: 'District', value: (t) => t.district },
        { key: 'last_seen', label: 'Last seen', value: (t) => parseIso(t.last_seen) || null,
          cell: (t) => (t.last_seen ? formatDateTime(parseIso(t.last_seen)) : 'never') },
        { key: 'availability_pct', label: 'Available', zh: '在线率', num: true, value: (t) => t.availability_pct,
          cell: (t) => fmtPct(t.availability_pct),
          cls: (t) => (t.availability_pct !== null && t.availability_pct < 99 ? 'below-target' : '') },
      ],
    });
    this.el = this.table.el;
  }

  set(items) {
    this.items = items;
    this.table.setRows(items);
  }

  setMessage(text, cls) {
    this.table.setMessage(text, cls);
  }
}

export const terminalCsv = (items) => ({
  header: ['id', 'school', 'school_name', 'district', 'enabled', 'online', 'last_seen', 'availability_pct'],
  rows: items.map((t) => [t.id, t.school, t.school_name, t.district, t.enabled, t.online, t.last_seen, t.availability_pct]),
});
