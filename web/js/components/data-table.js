// A plain table of rows with optional sorting by a column header click.
//
// columns: [{key, label, zh, value(row) -> sortable value, cell(row) -> text or node,
//            cls(row) -> class for the cell, num: right-aligned}]

import { h, clear } from '../dom.js';

const collator = new Intl.Collator(undefined, { numeric: true });

function compare(a, b) {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;  // empty values last
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return collator.compare(String(a), String(b));
}

export class DataTable {
  constructor({ columns, testid, rowTestid, rowAttrs = () => ({}), sortable = false, sort = null,
    tiebreak = null, empty = 'Nothing in this range' }) {
    this.columns = columns;
    this.rowTestid = rowTestid;
    this.rowAttrs = rowAttrs;
    this.sortable = sortable;
    this.sort = sort;  // {key, dir: 1|-1}
    this.tiebreak = tiebreak;
    this.emptyText = empty;
    this.rows = [];
    this.head = h('tr');
    this.tbody = h('tbody');
    this.el = h('div', { class: 'table-wrap report-table-wrap' },
      h('table', { class: `report-table${sortable ? ' sortable' : ''}`, 'data-testid': testid },
        h('thead', {}, this.groupHead(), this.head), this.tbody));
    this.renderHead();
  }

  // A row above the headers naming column groups (columns with `group`).
  groupHead() {
    if (!this.columns.some((c) => c.group)) return null;
    const tr = h('tr', { class: 'group-head' });
    let last = null;
    for (const c of this.columns) {
      if (last && c.group && last.group === c.group) {
        last.th.colSpan += 1;
        continue;
      }
      const th = h('th', { class: c.group ? 'group' : '' }, c.group || '');
      tr.append(th);
      last = { group: c.group, th };
    }
    return tr;
  }

  renderHead() {
    clear(this.head);
    for (const c of this.columns) {
      const sorted = this.sort && this.sort.key === c.key;
      const th = h('th', {
        class: `${c.num ? 'num' : ''}${sorted ? ' sorted' : ''}`,
        'data-key': c.key,
        'aria-sort': sorted ? (this.sort.dir > 0 ? 'ascending' : 'descending') : undefined,
        title: c.title,
      }, c.label, c.zh ? h('span', { class: 'zh' }, ` ${c.zh}`) : null,
      sorted ? h('span', { class: 'sort-mark' }, this.sort.dir > 0 ? ' ▲' : ' ▼') : null);
      if (this.sortable && c.value) {
        th.tabIndex = 0;
        const go = () => this.sortBy(c.key);
        th.addEventListener('click', go);
        th.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') go(); });
      }
      this.head.append(th);
    }
  }

  sortBy(key) {
    this.sort = this.sort && this.sort.key === key ? { key, dir: -this.sort.dir } : { key, dir: 1 };
    this.renderHead();
    this.renderBody();
  }

  setRows(rows) {
    this.rows = rows || [];
    this.renderBody();
  }

  setMessage(text, cls = 'muted') {
    clear(this.tbody).append(h('tr', {}, h('td', { colspan: this.columns.length, class: `table-message ${cls}` }, text)));
  }

  renderBody() {
    const rows = [...this.rows];
    const col = this.sort && this.columns.find((c) => c.key === this.sort.key);
    if (col && col.value) {
      rows.sort((a, b) => compare(col.value(a), col.value(b)) * this.sort.dir || (this.tiebreak ? this.tiebreak(a, b) : 0));
    }
    clear(this.tbody);
    if (!rows.length) {
      this.setMessage(this.emptyText);
      return;
    }
    for (const row of rows) {
      const tr = h('tr', { 'data-testid': this.rowTestid, ...this.rowAttrs(row) });
      for (const c of this.columns) {
        const content = c.cell ? c.cell(row) : c.value(row);
        tr.append(h('td', { class: [c.num ? 'num' : '', c.cls ? c.cls(row) : ''].filter(Boolean).join(' ') || undefined },
          content === null || content === undefined ? '—' : content));
      }
      this.tbody.append(tr);
    }
  }
}
