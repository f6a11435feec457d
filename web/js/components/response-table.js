// The response-time figures of /api/v1/reports/response-times: one row per
// group with count, unreached, p50/p90/p99 of dispatch, ack and arrival, and
// the SLA shares, highlighted when below the target share.

import { h } from '../dom.js';
import { DataTable } from './data-table.js';
import { fmtSeconds, fmtPct, fmtInt, SLA_TARGET_PCT } from '../report-format.js';
import { kindLabel } from '../labels.js';

const MEASURES = [['dispatch_s', 'Dispatch', '派单'], ['ack_s', 'Accept', '接单'], ['arrival_s', 'Arrival', '到场']];
const PCTS = ['p50', 'p90', 'p99'];

function groupName(row, groupBy) {
  if (groupBy === 'kind') {
    const [en, zh] = kindLabel(row.key);
    return h('span', {}, en, zh ? h('span', { class: 'zh' }, ` ${zh}`) : null);
  }
  if (row.key === null) return h('span', { class: 'muted' }, row.name || 'unassigned');
  return h('span', {}, row.name || row.key, row.name && row.name !== row.key ? h('span', { class: 'key' }, ` ${row.key}`) : null);
}

function slaCell(field) {
  return {
    key: field, label: field === 'sla_ack_pct' ? 'Accept' : 'Arrival', group: 'Within SLA', num: true,
    value: (r) => r[field],
    cell: (r) => fmtPct(r[field]),
    cls: (r) => (r[field] !== null && r[field] < SLA_TARGET_PCT ? 'below-target' : 'on-target'),
  };
}

export class ResponseTable {
  constructor() {
    this.groupBy = 'district';
    const columns = [
      { key: 'name', label: 'Group', value: (r) => r.name, cell: (r) => groupName(r, this.groupBy) },
      { key: 'count', label: 'Count', num: true, value: (r) => r.count, cell: (r) => fmtInt(r.count) },
      { key: 'unreached', label: 'Unreached', zh: '未到场', num: true, value: (r) => r.unreached,
        cell: (r) => fmtInt(r.unreached), cls: (r) => (r.unreached ? 'warn' : ''),
        title: 'Incidents no unit reached (no arrival): counted, not dropped' },
    ];
    for (const [m, label] of MEASURES) {
      for (const p of PCTS) {
        columns.push({ key: `${m}.${p}`, label: p, group: `${label} (m:ss)`, num: true,
          value: (r) => (r[m] ? r[m][p] : null), cell: (r) => fmtSeconds(r[m] && r[m][p]) });
      }
    }
    columns.push(slaCell('sla_ack_pct'), slaCell('sla_arrival_pct'));
    this.table = new DataTable({
      columns, testid: 'rt-table', rowTestid: 'rt-row', sortable: true,
      rowAttrs: (r) => ({ 'data-key': r.key === null ? '' : r.key, 'data-count': r.count, 'data-unreached': r.unreached }),
      empty: 'No incidents in this range',
    });
    this.el = this.table.el;
  }

  set(report) {
    this.groupBy = report.group_by;
    this.table.setRows(report.groups);
  }

  setMessage(text, cls) {
    this.table.setMessage(text, cls);
  }
}
