// The inspections view (issue 14, contract §10): the district's schools
// coloured by school-safety status on a map, the overdue hazards (oldest
// first) and those awaiting verification, the inspection form for
// inspectors, rectify (education, inspector) and verify (inspector) actions,
// and a school page that puts the checklist, the hazards, the terminals'
// availability and the last incidents and drills side by side.

import { h, clear, parseIso, formatDateTime } from '../dom.js';
import { apiGet, apiGetText, apiPost, saveText, ApiError } from '../session.js';
import { SchoolStatusMap } from '../components/school-status-map.js';
import { fmtPct, fmtSeconds } from '../report-format.js';

const CODES = [
  ['guards_staffed', 'Guards staffed to standard', '保安配备'],
  ['guards_trained', 'Guards trained', '保安培训'],
  ['gate_closed_management', 'Gate under closed management', '校门封闭管理'],
  ['anti_ram_barriers', 'Anti-ram barriers', '防冲撞设施'],
  ['video_linked', 'Video linked', '视频联网'],
  ['alarm_linked', 'One-key alarm linked', '一键报警联网'],
  ['alarm_tested', 'Alarm tested (90 days)', '报警测试'],
  ['guard_post_peak', 'Guard posts at peak hours', '护学岗'],
  ['emergency_plan', 'Emergency plan', '应急预案'],
  ['drill_held', 'Drill held this term', '应急演练'],
];
const AUTO = new Set(['alarm_linked', 'alarm_tested', 'guard_post_peak', 'drill_held']);
const CATEGORIES = { people: ['People', '人防'], physical: ['Physical', '物防'], technical: ['Technical', '技防'], management: ['Management', '制度'] };
const STATUS = { green: ['Green', '良好'], amber: ['Amber', '需关注'], red: ['Red', '严重'] };
const HAZARD_STATUS = { open: ['Open', '待整改'], rectified: ['Rectified', '待验收'], verified: ['Verified', '已销号'] };
const KINDS = { routine: ['Routine', '例行检查'], spot_check: ['Spot check', '暗访抽查'], joint: ['Joint', '联合督导'] };

const fmtTime = (iso) => (iso ? formatDateTime(parseIso(iso)) : '—');
const fmtDate = (iso) => (iso ? fmtTime(iso).slice(0, 10) : '—');
const daysSince = (iso) => Math.floor((Date.now() - parseIso(iso)) / 86400000);
const pad = (n) => String(n).padStart(2, '0');
// A deadline chosen as a date is the end of that day in the browser's own
// time zone (as every time the console shows): a date-time without an offset
// is local time to Date, which applies that zone's rules (DST included). A
// text that is no date goes as it is, for the server to name the field.
const endOfDay = (date) => {
  const end = new Date(`${date}T23:59:59`);
  return Number.isNaN(end.getTime()) ? date : end.toISOString();
};
const localInput = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
const dateInput = (d) => localInput(d).slice(0, 10);

function panel(title, zh, { testid, tools = [], cls = '' } = {}, ...body) {
  return h('section', { class: `panel report-panel ${cls}`, 'data-testid': testid },
    h('header', { class: 'panel-head' },
      h('h2', {}, title, ' ', h('span', { class: 'zh' }, zh)),
      h('div', { class: 'panel-tools' }, tools)),
    ...body);
}

const label = (table, code) => (table[code] ? [table[code][0], ' ', h('span', { class: 'zh' }, table[code][1])] : [code]);
const statusChip = (status) => h('span', { class: `status-chip status-${status}`, 'data-testid': 'status-chip' }, ...label(STATUS, status));
const resultChip = (r) => (r ? h('span', { class: `result result-${r}` }, r) : h('span', { class: 'muted' }, '—'));

export class InspectionsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.token = ctx.token;
    this.toast = ctx.toast;
    this.role = ctx.store.role;
    this.district = '';
    this.report = null;
    this.generation = 0;

    this.map = new SchoolStatusMap({ onSelect: (id) => this.openSchool(id) });
    this.districtSelect = h('select', { 'data-testid': 'insp-district', onchange: () => {
      this.district = this.districtSelect.value;
      this.load();
    } }, h('option', { value: '' }, 'All districts 全部'));
    this.status = h('span', { class: 'report-status muted', 'data-testid': 'insp-status' });
    this.summary = h('span', { class: 'panel-count', 'data-testid': 'insp-summary' });
    this.overdueBox = h('div', { class: 'table-wrap' });
    this.awaitingBox = h('div', { class: 'table-wrap' });
    this.schoolsBox = h('div', { class: 'table-wrap' });
    this.formBox = h('div', { class: 'inspection-form-box' });
    this.main = h('div', { class: 'inspections-main' },
      h('div', { class: 'report-row' },
        panel('Schools by status', '学校安全状态', { testid: 'insp-map-panel', tools: [this.summary] },
          h('div', { class: 'status-map-box' }, this.map.el),
          h('p', { class: 'chart-legend' },
            h('span', { class: 'swatch status-green' }), 'green ', h('span', { class: 'swatch status-amber' }), 'amber ',
            h('span', { class: 'swatch status-red' }), 'red · rules in docs/inspections.md')),
        panel('Overdue hazards', '逾期隐患', { testid: 'overdue-panel' }, this.overdueBox)),
      panel('Rectified, awaiting verification', '待验收', { testid: 'awaiting-panel' }, this.awaitingBox),
      panel('Schools', '学校', { testid: 'schools-panel', tools: [
        h('button', { class: 'btn btn-small', type: 'button', 'data-testid': 'safety-csv', onclick: () => this.downloadCsv(),
          title: 'Download the school-safety report as CSV' }, '⤓ CSV')] }, this.schoolsBox));
    this.detail = h('div', { class: 'school-page', 'data-testid': 'school-page', hidden: true });
    const tools = [h('label', { class: 'toolbar-field' }, 'District ', this.districtSelect)];
    if (this.role === 'inspector') {
      tools.push(h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'new-inspection',
        onclick: () => this.openForm() }, '+ New inspection ', h('span', { class: 'zh' }, '新建检查')));
    }
    tools.push(h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'data-testid': 'insp-refresh',
      onclick: () => this.load() }, '↻ Refresh'), this.status);
    this.el = h('div', { class: 'reports inspections', 'data-testid': 'inspections' },
      h('div', { class: 'report-toolbar' }, h('h1', {}, 'Inspections ', h('span', { class: 'zh' }, '督导检查')), ...tools),
      this.formBox, this.main, this.detail);
  }

  mount(root) {
    root.append(this.el);
    this.load();
  }

  unmount() {
    this.el.remove();
  }

  failed(e, show) {
    if (e instanceof ApiError && e.status === 401) {
      this.ctx.onAuthLost();
      return;
    }
    show(e instanceof ApiError && e.status === 403 ? 'This role may not see this.' : `Could not load: ${e.message}`);
  }

  districtQuery(extra = {}) {
    const q = new URLSearchParams(extra);
    if (this.district) q.set('district', this.district);
    return q.toString();
  }

  async load() {
    const gen = ++this.generation;
    this.status.textContent = 'Loading…';
    try {
      const [report, overdue, awaiting] = await Promise.all([
        apiGet(this.token, `/reports/school-safety?${this.districtQuery()}`),
        apiGet(this.token, `/hazards?${this.districtQuery({ status: 'overdue' })}`),
        apiGet(this.token, `/hazards?${this.districtQuery({ status: 'rectified' })}`),
      ]);
      if (gen !== this.generation) return;
      this.report = report;
      this.renderDistricts(report.schools);
      this.map.set(report.schools);
      const n = report.summary || {};
      this.summary.textContent = `${n.red ?? 0} red · ${n.amber ?? 0} amber · ${n.green ?? 0} green`;
      this.renderHazards(this.overdueBox, overdue.items, { testid: 'overdue-table', empty: 'No overdue hazard' });
      this.renderHazards(this.awaitingBox, awaiting.items, { testid: 'awaiting-table', empty: 'Nothing awaits verification' });
      this.renderSchools(report.schools);
      this.status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      this.el.dataset.loaded = String(gen);
    } catch (e) {
      if (gen !== this.generation) return;
      this.failed(e, (text) => { this.status.textContent = text; });
    }
  }

  renderDistricts(schools) {
    if (this.districtSelect.options.length > 1) return;  // keep the first, complete list
    for (const d of [...new Set(schools.map((x) => x.district))].sort()) {
      this.districtSelect.append(h('option', { value: d }, d));
    }
  }

  // A table of hazards with the actions this role may take on each.
  renderHazards(box, items, { testid, empty, withSchool = true }) {
    clear(box);
    if (!items.length) {
      box.append(h('p', { class: 'table-message', 'data-testid': `${testid}-empty` }, empty));
      return;
    }
    const rows = items.map((x) => {
      const actions = [];
      if (x.status === 'open' && (this.role === 'education' || this.role === 'inspector')) {
        actions.push(h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'rectify',
          onclick: () => this.rectify(x) }, 'Rectified 已整改'));
      }
      if (x.status === 'rectified' && this.role === 'inspector') {
        actions.push(h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'verify',
          onclick: () => this.verify(x) }, 'Verify 验收'));
      }
      const last = x.history[x.history.length - 1];
      return h('tr', { 'data-testid': 'hazard-row', 'data-hazard': x.id, 'data-status': x.status,
        class: x.overdue ? 'overdue' : '' },
        h('td', { class: 'mono' }, x.id),
        withSchool ? h('td', {}, h('a', { href: '#/inspections', class: 'link', onclick: (ev) => {
          ev.preventDefault();
          this.openSchool(x.school);
        } }, x.school_name)) : null,
        h('td', {}, ...label(CATEGORIES, x.category)),
        h('td', {}, x.description),
        h('td', {}, x.responsible),
        h('td', { class: x.overdue ? 'below-target' : '' }, fmtDate(x.deadline),
          x.overdue ? h('span', { class: 'overdue-days' }, ` ${daysSince(x.deadline)} d overdue`) : null),
        h('td', {}, ...label(HAZARD_STATUS, x.status)),
        h('td', { class: 'muted small' }, last && last.note ? last.note : ''),
        h('td', {}, actions));
    });
    box.append(h('table', { class: 'report-table', 'data-testid': testid },
      h('thead', {}, h('tr', {}, h('th', {}, 'Hazard'), withSchool ? h('th', {}, 'School') : null, h('th', {}, 'Category'),
        h('th', {}, 'Description'), h('th', {}, 'Responsible'), h('th', {}, 'Deadline'), h('th', {}, 'Status'),
        h('th', {}, 'Last note'), h('th', {}, ''))),
      h('tbody', {}, rows)));
  }

  renderSchools(schools) {
    clear(this.schoolsBox);
    const order = { red: 0, amber: 1, green: 2 };
    const sorted = [...schools].sort((a, b) => order[a.status] - order[b.status] || a.school.localeCompare(b.school, undefined, { numeric: true }));
    this.schoolsBox.append(h('table', { class: 'report-table', 'data-testid': 'safety-table' },
      h('thead', {}, h('tr', {}, ['Status', 'School', 'District', 'Last inspection', 'Open', 'Overdue', 'Terminals (30 d)',
        'Last drill', 'Guard posts', 'Why'].map((t) => h('th', {}, t)))),
      h('tbody', {}, sorted.map((x) => h('tr', { 'data-testid': 'safety-row', 'data-school': x.school, 'data-status': x.status },
        h('td', {}, statusChip(x.status)),
        h('td', {}, h('a', { href: '#/inspections', class: 'link', onclick: (ev) => {
          ev.preventDefault();
          this.openSchool(x.school);
        } }, x.school_name)),
        h('td', {}, x.district),
        h('td', {}, x.last_inspection ? fmtDate(x.last_inspection.at) : 'never'),
        h('td', { class: 'num' }, String(x.hazards.open + x.hazards.rectified)),
        h('td', { class: `num${x.hazards.overdue ? ' below-target' : ''}` }, String(x.hazards.overdue)),
        h('td', { class: 'num' }, fmtPct(x.availability_pct)),
        h('td', {}, x.last_drill ? `${fmtDate(x.last_drill.at)} · ${fmtSeconds(x.last_drill.arrival_s)}` : 'none'),
        h('td', { class: 'num' }, fmtPct(x.guard_post.compliance_pct)),
        h('td', { class: 'muted small' }, x.reasons.join('; ')))))));
  }

  // ---- actions ------------------------------------------------------------------

  // A small modal form; resolves with the values, or null when cancelled.
  ask(title, fields) {
    return new Promise((resolve) => {
      const inputs = {};
      const body = fields.map((f) => {
        let input;
        if (f.type === 'textarea') input = h('textarea', { rows: 3, 'data-testid': `ask-${f.name}`, required: f.required });
        else if (f.type === 'select') input = h('select', { 'data-testid': `ask-${f.name}` }, f.options.map(([v, t]) => h('option', { value: v }, t)));
        else input = h('input', { type: f.type || 'text', 'data-testid': `ask-${f.name}`, value: f.value || '' });
        inputs[f.name] = input;
        return h('label', { class: 'ask-field' }, f.label, input);
      });
      const error = h('p', { class: 'signin-error', 'data-testid': 'ask-error', hidden: true });
      const dialog = h('dialog', { class: 'dialog', 'data-testid': 'ask-dialog' },
        h('form', { method: 'dialog', class: 'dialog-body' }, h('h2', {}, title), ...body, error,
          h('div', { class: 'dialog-actions' },
            h('button', { value: 'cancel', class: 'btn btn-ghost', formnovalidate: true }, 'Cancel'),
            h('button', { value: 'ok', class: 'btn btn-primary', 'data-testid': 'ask-ok' }, 'Send'))));
      dialog.addEventListener('close', () => {
        const values = {};
        for (const [k, el] of Object.entries(inputs)) values[k] = el.value;
        dialog.remove();
        resolve(dialog.returnValue === 'ok' ? values : null);
      });
      document.body.append(dialog);
      dialog.showModal();
    });
  }

  async act(path, body, done) {
    try {
      await apiPost(this.token, path, body);
      this.toast(done, 'ok');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.ctx.onAuthLost();
      else this.toast(`Refused: ${e.message}`, 'warn');
    }
    this.load();
    if (this.school) this.openSchool(this.school);
  }

  async rectify(x) {
    const v = await this.ask(`Report the rectification of ${x.id}`, [
      { name: 'note', label: 'What was done 整改情况', type: 'textarea', required: true }]);
    if (v) this.act(`/hazards/${encodeURIComponent(x.id)}/rectify`, { note: v.note }, `${x.id} reported rectified`);
  }

  async verify(x) {
    const v = await this.ask(`Verify the rectification of ${x.id}`, [
      { name: 'accepted', label: 'Result 验收结果', type: 'select', options: [['true', 'Accepted 通过 (close)'], ['false', 'Rejected 不通过 (reopen)']] },
      { name: 'note', label: 'Note 意见', type: 'textarea' },
      { name: 'deadline', label: 'New deadline if rejected 新期限', type: 'date' }]);
    if (!v) return;
    const body = { accepted: v.accepted === 'true' };
    if (v.note) body.note = v.note;
    if (!body.accepted && v.deadline) body.deadline = endOfDay(v.deadline);
    this.act(`/hazards/${encodeURIComponent(x.id)}/verify`, body, body.accepted ? `${x.id} verified and closed` : `${x.id} sent back`);
  }

  // ---- the inspection form (inspectors) -------------------------------------------

  openForm(school = '') {
    const schools = this.report ? this.report.schools : [];
    const now = new Date();
    const schoolSelect = h('select', { 'data-testid': 'form-school', required: true },
      schools.map((x) => h('option', { value: x.school, selected: x.school === school }, `${x.school_name} (${x.school})`)));
    const at = h('input', { type: 'datetime-local', 'data-testid': 'form-at', value: localInput(now), required: true });
    const kind = h('select', { 'data-testid': 'form-kind' }, Object.entries(KINDS).map(([k, [en, zh]]) => h('option', { value: k }, `${en} ${zh}`)));
    const inspectors = h('input', { type: 'text', 'data-testid': 'form-inspectors', placeholder: 'names, separated by commas', required: true });
    const items = CODES.map(([code, en, zh]) => {
      const select = h('select', { 'data-testid': `form-item-${code}`, 'data-code': code },
        ['', 'pass', 'fail', 'na'].map((r) => h('option', { value: r }, r || '—')));
      const note = h('input', { type: 'text', 'data-testid': `form-note-${code}`, placeholder: 'note' });
      return { code, select, note, row: h('tr', {}, h('td', {}, en, ' ', h('span', { class: 'zh' }, zh),
        AUTO.has(code) ? h('span', { class: 'tag', title: 'huxiao also fills this from live data' }, 'auto') : null),
      h('td', {}, select), h('td', {}, note)) };
    });
    const hazardRows = h('tbody', {});
    const hazards = [];
    const addHazard = () => {
      const row = {
        category: h('select', { 'data-testid': 'form-hazard-category' }, Object.entries(CATEGORIES).map(([k, [en, zh]]) => h('option', { value: k }, `${en} ${zh}`))),
        description: h('input', { type: 'text', 'data-testid': 'form-hazard-description', required: true }),
        deadline: h('input', { type: 'date', 'data-testid': 'form-hazard-deadline', value: dateInput(new Date(Date.now() + 14 * 86400000)), required: true }),
        responsible: h('input', { type: 'text', 'data-testid': 'form-hazard-responsible', required: true }),
      };
      hazards.push(row);
      hazardRows.append(h('tr', {}, h('td', {}, row.category), h('td', {}, row.description), h('td', {}, row.deadline), h('td', {}, row.responsible)));
    };
    const error = h('p', { class: 'signin-error', 'data-testid': 'form-error', hidden: true });
    const form = h('form', { class: 'inspection-form', 'data-testid': 'inspection-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const body = {
        school: schoolSelect.value,
        at: new Date(at.value).toISOString(),
        kind: kind.value,
        inspectors: inspectors.value.split(/[,，]/).map((x) => x.trim()).filter(Boolean),
        items: items.filter((i) => i.select.value).map((i) => ({ code: i.code, result: i.select.value, ...(i.note.value ? { note: i.note.value } : {}) })),
        hazards: hazards.map((r) => ({ category: r.category.value, description: r.description.value, deadline: endOfDay(r.deadline.value), responsible: r.responsible.value })),
      };
      try {
        const created = await apiPost(this.token, '/inspections', body);
        this.toast(`Inspection ${created.id} recorded with ${created.hazards.length} hazard(s)`, 'ok');
        clear(this.formBox);
        this.load();
        this.openSchool(created.school);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          this.ctx.onAuthLost();
          return;
        }
        error.textContent = e.message;
        error.dataset.field = e.field || '';
        error.hidden = false;
      }
    } },
    h('div', { class: 'form-grid' },
      h('label', {}, 'School 学校', schoolSelect), h('label', {}, 'When 时间', at),
      h('label', {}, 'Kind 类型', kind), h('label', {}, 'Inspectors 检查人员', inspectors)),
    h('table', { class: 'report-table checklist-form' }, h('thead', {}, h('tr', {}, h('th', {}, 'Checklist 检查项目'), h('th', {}, 'Result'), h('th', {}, 'Note'))),
      h('tbody', {}, items.map((i) => i.row))),
    h('h3', {}, 'Hazards 隐患'),
    h('table', { class: 'report-table' }, h('thead', {}, h('tr', {}, ['Category', 'Description', 'Deadline', 'Responsible'].map((t) => h('th', {}, t)))), hazardRows),
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'form-add-hazard', onclick: addHazard }, '+ Hazard 隐患'),
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => clear(this.formBox) }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'form-submit' }, 'Record inspection 提交')),
    error);
    clear(this.formBox).append(panel('New inspection', '新建检查', { testid: 'form-panel' }, form));
    inspectors.focus();
  }

  // ---- the school page ----------------------------------------------------------

  closeSchool() {
    this.school = null;
    this.detail.hidden = true;
    this.main.hidden = false;
  }

  async openSchool(id) {
    this.school = id;
    this.main.hidden = true;
    this.detail.hidden = false;
    let row = this.report && this.report.schools.find((x) => x.school === id);
    const chipBox = h('span', {}, row ? statusChip(row.status) : null);
    const back = h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'data-testid': 'school-back', onclick: () => this.closeSchool() }, '← All schools');
    clear(this.detail).append(h('div', { class: 'report-toolbar' }, back,
      h('h1', { 'data-testid': 'school-title' }, row ? row.school_name : id), chipBox,
      this.role === 'inspector' ? h('button', { type: 'button', class: 'btn btn-small btn-primary', onclick: () => {
        this.closeSchool();
        this.openForm(id);
      } }, '+ Inspect this school') : null),
    h('p', { class: 'muted', 'data-testid': 'school-loading' }, 'Loading…'));
    const q = (extra) => new URLSearchParams({ school: id, ...extra }).toString();
    const from = new Date(Date.now() - 365 * 86400000).toISOString();
    try {
      const [safety, hazards, inspections, terminals, incidents, drills] = await Promise.all([
        apiGet(this.token, `/reports/school-safety?${q({})}`),
        apiGet(this.token, `/hazards?${q({})}`),
        apiGet(this.token, `/inspections?${q({ limit: '20' })}`),
        apiGet(this.token, `/terminals?${q({})}`),
        apiGet(this.token, `/incidents?${q({ drill: 'false', limit: '10', from, to: new Date().toISOString() })}`),
        apiGet(this.token, `/incidents?${q({ drill: 'true', limit: '5', from, to: new Date().toISOString() })}`),
      ]);
      if (this.school !== id) return;
      // The school's own line of the report, as of now (the list may be older).
      row = safety.schools[0] || row;
      if (row) clear(chipBox).append(statusChip(row.status));
      const loading = this.detail.querySelector('[data-testid="school-loading"]');
      if (loading) loading.remove();
      const hazardBox = h('div', { class: 'table-wrap' });
      this.renderHazards(hazardBox, hazards.items, { testid: 'school-hazards', empty: 'No hazard on record', withSchool: false });
      this.detail.append(
        row ? h('p', { class: 'muted', 'data-testid': 'school-reasons' }, row.reasons.length ? row.reasons.join('; ') : 'Nothing wrong on record') : null,
        h('div', { class: 'report-row' },
          panel('Checklist', '检查项目', { testid: 'school-checklist' }, this.checklistTable(row)),
          panel('Terminals', '报警终端', { testid: 'school-terminals' }, h('table', { class: 'report-table' },
            h('thead', {}, h('tr', {}, ['Terminal', 'Now', 'Last seen', 'Available (30 d)'].map((t) => h('th', {}, t)))),
            h('tbody', {}, terminals.items.map((t) => h('tr', {},
              h('td', { class: 'mono' }, t.id),
              h('td', {}, h('span', { class: `term-status term-${!t.enabled ? 'disabled' : t.online ? 'online' : 'offline'}` },
                !t.enabled ? 'disabled' : t.online ? 'online' : 'offline')),
              h('td', {}, fmtTime(t.last_seen)), h('td', { class: 'num' }, fmtPct(t.availability_pct)))))))),
        panel('Hazards', '隐患', { testid: 'school-hazards-panel' }, hazardBox),
        h('div', { class: 'report-row' },
          panel('Last incidents', '近期警情', { testid: 'school-incidents' }, this.incidentTable(incidents.items, 'No incident in the last year')),
          panel('Last drills', '近期演练', { testid: 'school-drills' }, this.incidentTable(drills.items, 'No drill in the last year'))),
        panel('Inspections', '检查记录', { testid: 'school-inspections' }, h('table', { class: 'report-table' },
          h('thead', {}, h('tr', {}, ['When', 'Kind', 'Inspectors', 'Failed', 'Hazards'].map((t) => h('th', {}, t)))),
          h('tbody', {}, inspections.items.map((i) => h('tr', { 'data-testid': 'school-inspection', 'data-inspection': i.id },
            h('td', {}, fmtTime(i.at)), h('td', {}, ...label(KINDS, i.kind)), h('td', {}, i.inspectors.join(', ')),
            h('td', {}, i.items.filter((x) => x.result === 'fail').map((x) => x.code).join(', ') || '—'),
            h('td', { class: 'num' }, String(i.hazards.length))))))));
    } catch (e) {
      this.failed(e, (text) => this.detail.append(h('p', { class: 'table-message error' }, text)));
    }
  }

  checklistTable(row) {
    return h('table', { class: 'report-table', 'data-testid': 'checklist-table' },
      h('thead', {}, h('tr', {}, ['Item', 'Latest result', 'Live (auto)', 'Inspected'].map((t) => h('th', {}, t)))),
      h('tbody', {}, CODES.map(([code, en, zh]) => {
        const c = (row && row.checklist[code]) || {};
        return h('tr', { 'data-testid': 'checklist-row', 'data-code': code, 'data-result': c.result || '', 'data-auto': c.auto || '' },
          h('td', {}, en, ' ', h('span', { class: 'zh' }, zh)),
          h('td', {}, resultChip(c.result)),
          h('td', { title: c.auto_reason || '' }, AUTO.has(code) ? resultChip(c.auto) : ''),
          h('td', {}, c.at ? fmtDate(c.at) : ''));
      })));
  }

  incidentTable(items, empty) {
    if (!items.length) return h('p', { class: 'table-message' }, empty);
    return h('table', { class: 'report-table' },
      h('thead', {}, h('tr', {}, ['Received', 'Kind', 'State', 'Arrival'].map((t) => h('th', {}, t)))),
      h('tbody', {}, items.map((i) => h('tr', {},
        h('td', {}, fmtTime(i.received_at)), h('td', {}, i.kind), h('td', {}, i.state), h('td', { class: 'num' }, fmtSeconds(i.arrival_s))))));
  }

  async downloadCsv() {
    try {
      const { text, filename } = await apiGetText(this.token, `/reports/school-safety.csv?${this.districtQuery()}`);
      saveText(text, filename || 'school-safety.csv');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.ctx.onAuthLost();
      else this.toast(`Download failed: ${e.message}`, 'warn');
    }
  }
}
