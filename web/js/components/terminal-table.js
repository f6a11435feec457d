// Terminal availability (/api/v1/terminals over the range): offline ones
// first, then the least available; every column sorts on click.

import { h, parseIso, formatDateTime } from '../dom.js';
import { DataTable } from './data-table.js';
import { fmtPct } from '../report-format.js';

const statusOf = (t) => (!t.enabled ? 'disabled' : t.online ? 'online' : 'offline');
const STATUS_ORDER = { offline: 0, online: 1, disabled: 2 };

// "registered 2026-11-30 08:12" when registration cut the range short, else
// the range's start (muted: nothing special about it).
function countedSince(t) {
  if (!t.counted_from) return h('span', { class: 'muted' }, '—');
  const at = formatDateTime(parseIso(t.counted_from)).slice(0, 16);  // to the minute
  return t.registered_at && t.registered_at === t.counted_from
    ? h('span', { 'data-testid': 'registered-in-range', title: 'registered then: earlier time is not counted' },
      `registered ${at}`)
    : h('span', { class: 'muted' }, at);
}

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
        // Availability counts from the terminal's registration when that
        // falls inside the range (docs/reports.md).
        { key: 'counted_from', label: 'Counted since', value: (t) => parseIso(t.counted_from) || null,
          cell: (t) => countedSince(t) },
        { key: 'availability_pct', label: 'Available', zh: '在线率', num: true, value: (t) => t.availability_pct,
          cell: (t) => (t.availability_pct === null || t.availability_pct === undefined
            ? h('span', { class: 'muted', title: 'registered after this range' }, 'not yet installed')
            : fmtPct(t.availability_pct)),
          cls: (t) => (Number.isFinite(t.availability_pct) && t.availability_pct < 99 ? 'below-target' : '') },
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
  header: ['id', 'school', 'school_name', 'district', 'enabled', 'online', 'last_seen', 'registered_at', 'counted_from',
    'availability_pct'],
  rows: items.map((t) => [t.id, t.school, t.school_name, t.district, t.enabled, t.online, t.last_seen, t.registered_at,
    t.counted_from, t.availability_pct]),
});
