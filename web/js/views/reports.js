// The reports view (issue 5) for auditors, the education bureau, dispatchers
// and admins: pick a range and a grouping; response-time figures, charts of
// arrival times, SLA share by district and the weekly trend; terminal
// availability, guard-post compliance and drills. Read-only: every figure is
// a GET under /api/v1, the CSV files are fetched with the token and saved
// through a Blob link.

import { h, clear } from '../dom.js';
import { apiGet, apiGetText, saveText, ApiError } from '../session.js';
import { histogram, percentBars, periodBars } from '../components/charts.js';
import { ResponseTable } from '../components/response-table.js';
import { TerminalTable, terminalCsv } from '../components/terminal-table.js';
import { GuardPostTable } from '../components/guard-post-table.js';
import { DrillTable, drillCsv } from '../components/drill-table.js';
import {
  PRESETS, presetRange, dayRange, parseDateText, weeksOf, toCsv, fmtSeconds, fmtPct, SLA_TARGET_PCT,
} from '../report-format.js';

const GROUPINGS = { district: ['District', '区'], school: ['School', '学校'], unit: ['Unit', '警力'], kind: ['Kind', '类别'] };
const INCIDENT_PAGES = 4;    // up to 2,000 incidents for the arrival histogram
const MAX_WEEKS = 26;
const PARALLEL = 4;          // report calls in flight at once for the weekly trend

function panel(title, zh, { testid, tools = [], cls = '' } = {}, ...body) {
  return h('section', { class: `panel report-panel ${cls}`, 'data-testid': testid },
    h('header', { class: 'panel-head' },
      h('h2', {}, title, ' ', h('span', { class: 'zh' }, zh)),
      h('div', { class: 'panel-tools' }, tools)),
    ...body);
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function csvButton(testid, onClick) {
  return h('button', { class: 'btn btn-small', type: 'button', 'data-testid': testid, onclick: onClick,
    title: 'Download as CSV' }, '⤓ CSV');
}

// Runs fn over items with at most `n` calls in flight.
async function mapLimited(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export class ReportsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.token = ctx.token;
    this.toast = ctx.toast;
    this.preset = 'last7';
    this.groupBy = 'district';
    this.range = presetRange(this.preset);
    this.generation = 0;
    this.abort = null;
    this.report = null;
    this.terminals = [];
    this.drills = [];

    this.responseTable = new ResponseTable();
    this.terminalTable = new TerminalTable();
    this.guardTable = new GuardPostTable();
    this.drillTable = new DrillTable({ arrivalTarget: () => (this.report && this.report.sla ? this.report.sla.arrival_s : null) });

    this.buildToolbar();
    this.rangeText = h('span', { class: 'panel-count', 'data-testid': 'rt-range' });
    this.rtSummary = h('span', { class: 'panel-count', 'data-testid': 'rt-summary' });
    this.histBox = h('div', { class: 'chart-box', 'data-testid': 'arrival-chart' });
    this.histNote = h('span', { class: 'panel-count' });
    this.slaBox = h('div', { class: 'chart-box', 'data-testid': 'sla-chart' });
    this.weekBox = h('div', { class: 'chart-box', 'data-testid': 'week-chart' });
    this.terminalSummary = h('span', { class: 'panel-count', 'data-testid': 'terminal-summary' });
    this.guardSummary = h('span', { class: 'panel-count', 'data-testid': 'guard-summary' });
    this.drillSummary = h('span', { class: 'panel-count' });

    this.el = h('div', { class: 'reports', 'data-testid': 'reports' },
      this.toolbar,
      panel('Response times', '响应时间', {
        testid: 'rt-panel', tools: [csvButton('rt-csv', () => this.downloadResponseCsv())],
      }, h('div', { class: 'panel-sub' }, this.rangeText, this.rtSummary), this.responseTable.el),
      h('div', { class: 'report-row charts' },
        panel('Arrival times', '到场时间分布', { testid: 'arrival-panel', tools: [this.histNote] }, this.histBox),
        panel('Arrival within SLA by district', '各区达标率', { testid: 'sla-panel' }, this.slaBox),
        panel('Weekly trend', '周趋势', { testid: 'week-panel' }, this.weekBox)),
      h('div', { class: 'report-row' },
        panel('Terminal availability', '报警终端在线', {
          testid: 'terminal-panel', tools: [this.terminalSummary, csvButton('terminal-csv', () => this.downloadTerminalCsv())],
        }, this.terminalTable.el),
        panel('Guard posts', '护学岗', {
          testid: 'guard-panel', tools: [this.guardSummary, csvButton('guard-csv', () => this.downloadGuardCsv())],
        }, this.guardTable.el)),
      panel('Drills', '演练', {
        testid: 'drill-panel', tools: [this.drillSummary, csvButton('drill-csv', () => this.downloadDrillCsv())],
      }, this.drillTable.el));
  }

  // ---- toolbar ------------------------------------------------------------------

  buildToolbar() {
    this.presetButtons = Object.entries(PRESETS).map(([id, p]) =>
      h('button', { type: 'button', class: 'seg', 'data-preset': id, 'data-testid': `preset-${id}`,
        onclick: () => this.choosePreset(id) }, p.label, ' ', h('span', { class: 'zh' }, p.zh)));
    this.fromInput = h('input', { type: 'date', 'data-testid': 'range-from', value: this.range.fromDate });
    this.toInput = h('input', { type: 'date', 'data-testid': 'range-to', value: this.range.toDate });
    this.applyButton = h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'range-apply',
      onclick: () => this.applyCustom() }, 'Apply');
    this.customBox = h('span', { class: 'custom-range' }, this.fromInput, '–', this.toInput, this.applyButton);
    this.groupSelect = h('select', { 'data-testid': 'group-by', onchange: () => {
      this.groupBy = this.groupSelect.value;
      this.loadResponseTimes(this.generation);
    } }, Object.entries(GROUPINGS).map(([id, [en, zh]]) => h('option', { value: id }, `${en} ${zh}`)));
    this.status = h('span', { class: 'report-status muted', 'data-testid': 'report-status' });
    this.toolbar = h('div', { class: 'report-toolbar' },
      h('h1', {}, 'Reports ', h('span', { class: 'zh' }, '报表')),
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'Range' }, this.presetButtons),
      this.customBox,
      h('label', { class: 'toolbar-field' }, 'Group by ', this.groupSelect),
      h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'data-testid': 'report-refresh',
        onclick: () => this.load(), title: 'Fetch the figures again' }, '↻ Refresh'),
      this.status);
    this.renderToolbar();
  }

  renderToolbar() {
    for (const b of this.presetButtons) b.classList.toggle('active', b.dataset.preset === this.preset);
    this.customBox.hidden = this.preset !== 'custom';
    this.fromInput.value = this.range.fromDate;
    this.toInput.value = this.range.toDate;
  }

  choosePreset(id) {
    this.preset = id;
    if (id !== 'custom') {
      this.range = presetRange(id);
      this.renderToolbar();
      this.load();
    } else {
      this.renderToolbar();
      this.fromInput.focus();
    }
  }

  applyCustom() {
    const first = parseDateText(this.fromInput.value);
    const last = parseDateText(this.toInput.value);
    if (!first || !last) {
      this.toast('Choose both dates', 'warn');
      return;
    }
    if (last < first) {
      this.toast('The end date is before the start date', 'warn');
      return;
    }
    this.range = dayRange(first, last);
    this.load();
  }

  // ---- loading --------------------------------------------------------------------

  mount(root) {
    root.append(this.el);
    this.load();
  }

  unmount() {
    if (this.abort) this.abort.abort();
    this.el.remove();
  }

  get(path) {
    return apiGet(this.token, path, { signal: this.abort.signal });
  }

  query(extra = {}) {
    return new URLSearchParams({ from: this.range.from, to: this.range.to, ...extra }).toString();
  }

  // A failed request: a refused token signs out, others show in the panel.
  failed(e, show) {
    if (e.name === 'AbortError') return;
    if (e instanceof ApiError && e.status === 401) {
      this.ctx.onAuthLost();
      return;
    }
    const text = e instanceof ApiError && e.status === 404
      ? 'This server does not offer this report yet.'
      : `Could not load: ${e.message}`;
    show(text);
  }

  load() {
    if (this.abort) this.abort.abort();
    this.abort = new AbortController();
    const gen = ++this.generation;
    this.rangeText.textContent = `${this.range.fromDate} – ${this.range.toDate} (${this.range.days} days)`;
    this.el.dataset.from = this.range.fromDate;
    this.el.dataset.to = this.range.toDate;
    this.status.textContent = 'Loading…';
    const jobs = [
      this.loadResponseTimes(gen),
      this.loadArrivals(gen),
      this.loadWeeks(gen),
      this.loadTerminals(gen),
      this.loadGuardPosts(gen),
      this.loadDrills(gen),
    ];
    Promise.allSettled(jobs).then(() => {
      if (gen !== this.generation) return;
      this.status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      this.el.dataset.loaded = String(gen);
    });
  }

  async loadResponseTimes(gen) {
    const groupBy = this.groupBy;
    this.responseTable.setMessage('Loading…');
    this.el.dataset.rtLoaded = '';
    try {
      const report = await this.get(`/reports/response-times?${this.query({ group_by: groupBy, drill: 'false' })}`);
      if (gen !== this.generation || groupBy !== this.groupBy) return;
      this.report = report;
      this.responseTable.set(report);
      const total = report.groups.reduce((n, g) => n + g.count, 0);
      const unreached = report.groups.reduce((n, g) => n + g.unreached, 0);
      const sla = report.sla || {};
      this.rtSummary.textContent = `${plural(total, 'incident')} · ${unreached} unreached · SLA: accept ≤ ${fmtSeconds(sla.ack_s)}, ` +
        `arrival ≤ ${fmtSeconds(sla.arrival_s)} (district overrides apply) · shares below ${SLA_TARGET_PCT} % highlighted`;
      this.el.dataset.rtLoaded = groupBy;
      const byDistrict = groupBy === 'district'
        ? report
        : await this.get(`/reports/response-times?${this.query({ group_by: 'district', drill: 'false' })}`);
      if (gen !== this.generation) return;
      this.renderSla(byDistrict);
    } catch (e) {
      if (gen !== this.generation) return;
      this.failed(e, (text) => {
        this.responseTable.setMessage(text, 'error');
        clear(this.slaBox).append(h('p', { class: 'chart-message' }, text));
      });
    }
  }

  renderSla(report) {
    const items = report.groups.filter((g) => g.key !== null).map((g) => ({
      label: g.name || g.key, value: g.sla_arrival_pct,
      note: `${g.count} incidents, arrival ≤ ${fmtSeconds(g.sla_arrival_s ?? report.sla?.arrival_s)}, accept ${fmtPct(g.sla_ack_pct)}`,
    }));
    clear(this.slaBox).append(percentBars(items, { target: SLA_TARGET_PCT, testid: 'sla-bars', label: 'Arrival within SLA by district' }));
  }

  // Arrival times of the incidents in the range (the newest 2,000 at most).
  async loadArrivals(gen) {
    clear(this.histBox).append(h('p', { class: 'chart-message' }, 'Loading…'));
    try {
      const items = [];
      let cursor = null;
      let more = false;
      for (let page = 0; page < INCIDENT_PAGES; page++) {
        const body = await this.get(`/incidents?${this.query({ drill: 'false', limit: '500', ...(cursor ? { cursor } : {}) })}`);
        items.push(...body.items);
        cursor = body.next_cursor;
        more = Boolean(cursor);
        if (!cursor) break;
      }
      if (gen !== this.generation) return;
      const arrivals = items.map((i) => i.arrival_s).filter((v) => v !== null && v !== undefined);
      const target = this.report && this.report.sla ? this.report.sla.arrival_s : 900;
      this.histNote.textContent = `${plural(arrivals.length, 'arrival')}${more ? ` (newest ${items.length} incidents)` : ''} · ` +
        `${items.length - arrivals.length} unreached`;
      clear(this.histBox).append(histogram(arrivals, {
        target, testid: 'arrival-histogram', label: 'Distribution of arrival times', formatX: (v) => fmtSeconds(v),
      }));
    } catch (e) {
      if (gen !== this.generation) return;
      this.failed(e, (text) => clear(this.histBox).append(h('p', { class: 'chart-message' }, text)));
    }
  }

  // One report call per week: counts add up, the SLA share is weighted by count.
  async loadWeeks(gen) {
    clear(this.weekBox).append(h('p', { class: 'chart-message' }, 'Loading…'));
    const weeks = weeksOf(this.range).slice(-MAX_WEEKS);
    try {
      const rows = await mapLimited(weeks, PARALLEL, async (w) => {
        const q = new URLSearchParams({ from: w.from, to: w.to, group_by: 'district', drill: 'false' });
        const r = await this.get(`/reports/response-times?${q}`);
        const count = r.groups.reduce((n, g) => n + g.count, 0);
        const within = r.groups.reduce((n, g) => n + (g.sla_arrival_pct * g.count) / 100, 0);
        return { label: w.label, count, unreached: r.groups.reduce((n, g) => n + g.unreached, 0),
          pct: count ? (100 * within) / count : null };
      });
      if (gen !== this.generation) return;
      clear(this.weekBox).append(periodBars(rows, { target: SLA_TARGET_PCT, testid: 'week-bars', label: 'Incidents per week' }),
        h('p', { class: 'chart-legend' }, h('span', { class: 'swatch' }), 'incidents ',
          h('span', { class: 'swatch unreached' }), 'unreached · % = arrival within SLA'));
    } catch (e) {
      if (gen !== this.generation) return;
      this.failed(e, (text) => clear(this.weekBox).append(h('p', { class: 'chart-message' }, text)));
    }
  }

  async loadTerminals(gen) {
    this.terminalTable.setMessage('Loading…');
    try {
      const body = await this.get(`/terminals?${this.query()}`);
      if (gen !== this.generation) return;
      this.terminals = body.items;
      this.terminalTable.set(body.items);
      const offline = body.items.filter((t) => t.enabled && !t.online).length;
      const below = body.items.filter((t) => t.availability_pct !== null && t.availability_pct < 99).length;
      this.terminalSummary.textContent = `${offline} offline now · ${below} below 99 %`;
    } catch (e) {
      if (gen !== this.generation) return;
      this.failed(e, (text) => this.terminalTable.setMessage(text, 'error'));
    }
  }

  async loadGuardPosts(gen) {
    this.guardTable.setMessage('Loading…');
    try {
      const q = new URLSearchParams({ from: this.range.fromDate, to: this.range.toDate });
      const body = await this.get(`/reports/guard-posts?${q}`);
      if (gen !== this.generation) return;
      this.guardTable.set(body);
      const s = body.summary || {};
      this.guardSummary.textContent = s.share_pct === null || s.share_pct === undefined
        ? 'nothing scheduled yet'
        : `${fmtPct(s.share_pct)} present · ${s.missed_windows ?? 0} missed windows`;
    } catch (e) {
      if (gen !== this.generation) return;
      this.failed(e, (text) => this.guardTable.setMessage(text, 'error'));
    }
  }

  async loadDrills(gen) {
    this.drillTable.setMessage('Loading…');
    try {
      const body = await this.get(`/incidents?${this.query({ drill: 'true', limit: '500' })}`);
      if (gen !== this.generation) return;
      this.drills = body.items;
      this.drillTable.set(body.items);
      const reached = body.items.filter((i) => i.arrival_s !== null).length;
      this.drillSummary.textContent = `${plural(body.items.length, 'drill')} · ${reached} reached`;
    } catch (e) {
      if (gen !== this.generation) return;
      this.failed(e, (text) => this.drillTable.setMessage(text, 'error'));
    }
  }

  // ---- CSV ------------------------------------------------------------------------

  async download(path, fallbackName) {
    try {
      const { text, filename } = await apiGetText(this.token, path);
      saveText(text, fallbackName || filename);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.ctx.onAuthLost();
      else this.toast(`Download failed: ${e.message}`, 'warn');
    }
  }

  downloadResponseCsv() {
    const name = `response-times-${this.groupBy}-${this.range.fromDate}-${this.range.toDate}.csv`;
    return this.download(`/reports/response-times.csv?${this.query({ group_by: this.groupBy, drill: 'false' })}`, name);
  }

  downloadGuardCsv() {
    const q = new URLSearchParams({ from: this.range.fromDate, to: this.range.toDate });
    return this.download(`/reports/guard-posts.csv?${q}`, `guard-posts-${this.range.fromDate}-${this.range.toDate}.csv`);
  }

  // Terminals and drills have no CSV endpoint: written from the rows shown.
  downloadTerminalCsv() {
    const { header, rows } = terminalCsv(this.terminals);
    saveText(toCsv(header, rows), `terminals-${this.range.fromDate}-${this.range.toDate}.csv`);
  }

  downloadDrillCsv() {
    const { header, rows } = drillCsv(this.drills);
    saveText(toCsv(header, rows), `drills-${this.range.fromDate}-${this.range.toDate}.csv`);
  }
}
