// Guard-post (护学岗) compliance per post and day: scheduled and present
// minutes, the share, and the missed windows.

import { h, parseIso, formatDateTime } from '../dom.js';
import { DataTable } from './data-table.js';
import { fmtPct, fmtInt, SLA_TARGET_PCT } from '../report-format.js';

function missedList(row) {
  if (!row.missed || !row.missed.length) return h('span', { class: 'muted' }, 'none');
  return h('ul', { class: 'missed-list' }, row.missed.map((m) =>
    h('li', { 'data-testid': 'missed-window' }, h('span', { class: 'mono' }, m.window),
      h('span', { class: 'muted' }, ` ${m.present_min}/${m.scheduled_min} min`))));
}

// Why a report has no rows: no posts at all, posts registered after the
// range, or no window over yet since they were registered (days before a post
// existed are not counted, docs/guard-posts.md).
export function emptyReason(report) {
  const posts = report.posts || [];
  const skipped = report.skipped || [];
  if (!posts.length) {
    return skipped.length ? `No post can be evaluated: ${skipped[0].reason}` : 'No guard posts in the registry for this range';
  }
  // The range's end: a date is a whole (local) day, `to` inclusive.
  const end = /^\d{4}-\d\d-\d\d$/.test(report.to || '')
    ? Date.parse(`${report.to}T00:00:00`) + 86400000 : parseIso(report.to);
  const registered = posts.map((p) => parseIso(p.registered_at)).filter(Number.isFinite);
  if (!posts.some((p) => p.counted_from) && registered.length && registered.every((t) => t >= end)) {
    return 'The guard posts were registered after this range: nothing to count';
  }
  const since = Math.min(...registered);
  return `No window has ended since the posts were registered (${formatDateTime(since).slice(0, 16)})`;
}

export class GuardPostTable {
  constructor() {
    this.threshold = 50;
    this.table = new DataTable({
      testid: 'guard-table', rowTestid: 'guard-row', sortable: true,
      sort: { key: 'share', dir: 1 },
      tiebreak: (a, b) => String(a.date).localeCompare(String(b.date)),
      rowAttrs: (r) => ({ 'data-school': r.school, 'data-unit': r.unit, 'data-date': r.date,
        'data-missed': (r.missed || []).length }),
      empty: 'No guard posts scheduled in this range',
      columns: [
        { key: 'date', label: 'Date', value: (r) => r.date, cell: (r) => h('span', { class: 'mono' }, r.date) },
        { key: 'school', label: 'School', value: (r) => r.school_name || r.school },
        { key: 'unit', label: 'Unit', value: (r) => r.unit },
        { key: 'scheduled', label: 'Scheduled', num: true, value: (r) => r.scheduled_min, cell: (r) => `${fmtInt(r.scheduled_min)} min` },
        { key: 'present', label: 'Present', num: true, value: (r) => r.present_min, cell: (r) => `${fmtInt(r.present_min)} min` },
        { key: 'share', label: 'Share', zh: '在岗率', num: true, value: (r) => r.share_pct, cell: (r) => fmtPct(r.share_pct),
          cls: (r) => (r.share_pct === null ? '' : r.share_pct < this.threshold ? 'below-target'
            : r.share_pct < SLA_TARGET_PCT ? 'warn' : 'on-target') },
        { key: 'missed', label: 'Missed windows', zh: '缺岗时段', value: (r) => -(r.missed || []).length, cell: missedList },
      ],
    });
    this.el = this.table.el;
  }

  set(report) {
    if (Number.isFinite(report.missed_below_pct)) this.threshold = report.missed_below_pct;
    this.table.emptyText = emptyReason(report);
    this.table.setRows(report.items);
  }

  setMessage(text, cls) {
    this.table.setMessage(text, cls);
  }
}
