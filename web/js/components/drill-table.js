// Drills (演练) in the range, per school: when, what, and the times reached.

import { h, parseIso, formatDateTime } from '../dom.js';
import { DataTable } from './data-table.js';
import { fmtSeconds } from '../report-format.js';
import { kindLabel, stateLabel } from '../labels.js';

export class DrillTable {
  constructor({ arrivalTarget = () => null } = {}) {
    this.table = new DataTable({
      testid: 'drill-table', rowTestid: 'drill-row', sortable: true,
      sort: { key: 'received', dir: -1 },
      rowAttrs: (i) => ({ 'data-incident': i.id, 'data-school': i.school }),
      empty: 'No drills in this range',
      columns: [
        { key: 'received', label: 'Alarm', value: (i) => parseIso(i.received_at), cell: (i) => formatDateTime(parseIso(i.received_at)) },
        { key: 'school', label: 'School', value: (i) => i.school_name || i.school },
        { key: 'district', label: 'District', value: (i) => i.district },
        { key: 'kind', label: 'Kind', value: (i) => i.kind, cell: (i) => kindLabel(i.kind)[0] },
        { key: 'state', label: 'State', value: (i) => i.state, cell: (i) => stateLabel(i.state)[0] },
        { key: 'units', label: 'Units', value: (i) => (i.units || []).join(' '), cell: (i) => (i.units || []).join(', ') || '—' },
        { key: 'dispatch_s', label: 'Dispatch', num: true, value: (i) => i.dispatch_s, cell: (i) => fmtSeconds(i.dispatch_s) },
        { key: 'ack_s', label: 'Accept', num: true, value: (i) => i.ack_s, cell: (i) => fmtSeconds(i.ack_s) },
        { key: 'arrival_s', label: 'Arrival', num: true, value: (i) => i.arrival_s,
          cell: (i) => (i.arrival_s === null ? 'not reached' : fmtSeconds(i.arrival_s)),
          cls: (i) => {
            const t = arrivalTarget();
            return i.arrival_s === null ? 'warn' : t !== null && i.arrival_s > t ? 'below-target' : 'on-target';
          } },
      ],
    });
    this.el = this.table.el;
  }

  set(items) {
    this.table.setRows(items);
  }

  setMessage(text, cls) {
    this.table.setMessage(text, cls);
  }
}

export const drillCsv = (items) => ({
  header: ['id', 'received_at', 'school', 'school_name', 'district', 'kind', 'state', 'units', 'dispatch_s', 'ack_s', 'arrival_s'],
  rows: items.map((i) => [i.id, i.received_at, i.school, i.school_name, i.district, i.kind, i.state,
    (i.units || []).join(' '), i.dispatch_s, i.ack_s, i.arrival_s]),
});
