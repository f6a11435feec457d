// Incident detail: facts, the dispatcher's actions and the timeline.
//
// The timeline comes from GET /api/v1/incidents/{id} (contract §5) merged with
// the events this page saw on the socket, since the database may be a moment
// behind the live feed. The panel is built once per selected incident and
// patched afterwards, so text typed into its forms survives updates.

import { h, clear, formatClock, formatDateTime, formatDistance, distanceM, parseIso } from '../dom.js';
import { kindLabel, stateLabel, eventLabel, unitStatusLabel, CLOSED_STATES } from '../labels.js';
import { apiGet, ApiError } from '../session.js';

const STATUS_ORDER = { available: 0, busy: 1, out_of_service: 2, offline: 3 };

export class IncidentDetail {
  constructor(store, { token, command, toast, onClose, onSelectUnit, onAuthLost }) {
    this.store = store;
    this.token = token;
    this.command = command;
    this.toast = toast;
    this.onClose = onClose;
    this.onSelectUnit = onSelectUnit;
    this.onAuthLost = onAuthLost;
    this.id = null;
    this.fetched = null;       // the API's incident, with timeline
    this.fetchError = null;
    this.fetching = null;
    this.refreshTimer = null;
    this.body = h('div', { class: 'detail-body' });
    this.el = h('section', { class: 'panel detail', 'data-testid': 'detail' }, this.body);
    this.showPlaceholder();
  }

  showPlaceholder() {
    this.id = null;
    this.fetched = null;
    clear(this.body).append(h('div', { class: 'detail-empty' },
      h('div', { class: 'empty-title' }, 'No incident selected'),
      h('div', { class: 'muted' }, 'Pick an incident on the board or the map to see its timeline and act on it.')));
  }

  get incident() {
    const live = this.id ? this.store.incident(this.id) : null;
    if (live) return live;
    return this.fetched;
  }

  show(id) {
    if (id === this.id) return;
    if (this.fetching) this.fetching.abort();
    clearTimeout(this.refreshTimer);
    this.id = id;
    this.fetched = null;
    this.fetchError = null;
    if (!id) {
      this.showPlaceholder();
      return;
    }
    this.build();
    this.update();
    this.refresh();
  }

  // Re-read the timeline soon (coalesces bursts of events).
  scheduleRefresh(delay = 400) {
    if (!this.id) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), delay);
  }

  async refresh() {
    const id = this.id;
    if (!id) return;
    if (this.fetching) this.fetching.abort();
    const ctl = new AbortController();
    this.fetching = ctl;
    try {
      const data = await apiGet(this.token, `/incidents/${encodeURIComponent(id)}`, { signal: ctl.signal });
      if (this.id !== id) return;
      this.fetched = data;
      this.fetchError = null;
    } catch (e) {
      if (e.name === 'AbortError' || this.id !== id) return;
      if (e instanceof ApiError && e.status === 401) {
        this.onAuthLost(e);
        return;
      }
      this.fetchError = e instanceof ApiError && e.status === 404
        ? 'not in the database yet' : `timeline unavailable: ${e.message}`;
    } finally {
      if (this.fetching === ctl) this.fetching = null;
    }
    this.update();
  }

  // ---- building -----------------------------------------------------------

  build() {
    const f = {};
    this.f = f;
    f.state = h('span', { class: 'badge', 'data-testid': 'detail-state' });
    f.title = h('h2', { class: 'detail-title', 'data-testid': 'detail-title' });
    f.drill = h('span', { class: 'drill-badge', hidden: true }, 'DRILL 演练');
    f.school = h('div', { class: 'detail-school' });
    f.facts = h('dl', { class: 'facts' });
    f.notice = h('div', { class: 'notice', hidden: true });
    f.actions = h('div', { class: 'actions', 'data-testid': 'actions' });
    f.timeline = h('ol', { class: 'timeline', 'data-testid': 'timeline' });
    f.timelineNote = h('div', { class: 'muted small' });

    clear(this.body).append(
      h('header', { class: 'detail-head' },
        h('div', { class: 'detail-headline' }, f.state, f.drill,
          h('button', { class: 'icon-btn detail-close', type: 'button', title: 'Close', 'aria-label': 'Close',
            onclick: () => this.onClose() }, '×')),
        f.title, f.school),
      f.facts, f.notice, f.actions,
      h('div', { class: 'section-title' }, 'Timeline ', h('span', { class: 'zh' }, '时间线'),
        h('button', { class: 'btn btn-ghost btn-small', type: 'button', onclick: () => this.refresh() }, 'Reload')),
      f.timelineNote, f.timeline);
    this.buildActions();
  }

  buildActions() {
    const f = this.f;
    clear(f.actions);
    f.actionsBuiltFor = this.store.role;
    if (!this.store.canCommand) {
      if (this.store.role) {
        f.actions.append(h('div', { class: 'readonly-note', 'data-testid': 'readonly-note' },
          `Read-only access (role ${this.store.role}): you can watch, not steer.`));
      }
      return;
    }
    const busy = (button, promise) => {
      button.disabled = true;
      button.classList.add('pending');
      return promise.finally(() => {
        button.disabled = false;
        button.classList.remove('pending');
        this.update();
      });
    };

    f.ackButton = h('button', { class: 'btn btn-ack', type: 'button', 'data-testid': 'action-acknowledge',
      onclick: () => busy(f.ackButton, this.run('acknowledge', {}, 'Acknowledged')) }, 'Acknowledge 确认');

    f.unitSelect = h('select', { 'data-testid': 'assign-unit', 'aria-label': 'Unit to assign' });
    f.assignButton = h('button', { class: 'btn btn-primary', type: 'button', 'data-testid': 'action-assign',
      onclick: () => {
        const unit = f.unitSelect.value;
        if (!unit) {
          this.toast('Choose a unit first', 'warn');
          return;
        }
        busy(f.assignButton, this.run('assign', { unit }, `Offer sent to ${unit}`));
      } }, 'Assign 派单');

    f.noteInput = h('input', { type: 'text', maxlength: 500, placeholder: 'Note for the record',
      'data-testid': 'note-text' });
    f.noteButton = h('button', { class: 'btn', type: 'button', 'data-testid': 'action-note',
      onclick: () => {
        const text = f.noteInput.value.trim();
        if (!text) {
          this.toast('Write the note first', 'warn');
          return;
        }
        busy(f.noteButton, this.run('note', { text }, 'Note added').then((ok) => {
          if (ok) f.noteInput.value = '';
        }));
      } }, 'Add note');

    f.resolveInput = h('input', { type: 'text', maxlength: 500, placeholder: 'Outcome (e.g. suspect detained)',
      'data-testid': 'resolve-note' });
    f.resolveButton = h('button', { class: 'btn btn-resolve', type: 'button', 'data-testid': 'action-resolve',
      onclick: () => confirmTwice(f.resolveButton, 'Confirm resolve', () =>
        busy(f.resolveButton, this.run('resolve', { note: f.resolveInput.value.trim() }, 'Incident resolved'))) },
    'Resolve 处置完毕');

    f.cancelInput = h('input', { type: 'text', maxlength: 500, placeholder: 'Reason (e.g. pressed by mistake)',
      'data-testid': 'cancel-reason' });
    f.cancelButton = h('button', { class: 'btn btn-danger', type: 'button', 'data-testid': 'action-cancel',
      onclick: () => {
        const reason = f.cancelInput.value.trim();
        if (!reason) {
          this.toast('Give a reason for cancelling', 'warn');
          f.cancelInput.focus();
          return;
        }
        confirmTwice(f.cancelButton, 'Confirm cancel', () =>
          busy(f.cancelButton, this.run('cancel', { reason }, 'Incident cancelled')));
      } }, 'Cancel alarm 撤销');

    f.actions.append(
      h('div', { class: 'action-row' }, f.ackButton),
      h('div', { class: 'action-row' }, h('label', {}, 'Unit'), f.unitSelect, f.assignButton),
      h('div', { class: 'action-row' }, h('label', {}, 'Note'), f.noteInput, f.noteButton),
      h('div', { class: 'action-row' }, h('label', {}, 'Resolve'), f.resolveInput, f.resolveButton),
      h('div', { class: 'action-row' }, h('label', {}, 'Cancel'), f.cancelInput, f.cancelButton));
  }

  async run(type, fields, success) {
    const id = this.id;
    try {
      await this.command(type, { incident: id, ...fields });
      this.toast(success, 'ok');
      this.scheduleRefresh(300);
      return true;
    } catch (e) {
      this.toast(`${type} failed: ${e.code ? `${e.code} — ` : ''}${e.message}`, 'error');
      if (e.code === 'forbidden') this.store.setRole('read-only');
      return false;
    }
  }

  // ---- updating -----------------------------------------------------------

  update() {
    if (!this.id || !this.f) return;
    const f = this.f;
    if (f.actionsBuiltFor !== this.store.role) this.buildActions();
    const inc = this.incident;
    if (!inc) {
      f.title.textContent = this.id;
      f.school.textContent = this.fetchError || 'loading…';
      return;
    }
    const closed = CLOSED_STATES.has(inc.state) || this.store.closed.has(inc.id) || !!inc.closed_at;
    const [stateEn, stateZh] = stateLabel(inc.state);
    f.state.className = `badge badge-${inc.state}`;
    f.state.textContent = `${stateEn} · ${stateZh}`;
    const [kindEn, kindZh] = kindLabel(inc.kind);
    f.title.textContent = `${kindEn} ${kindZh}`;
    f.drill.hidden = !inc.drill;
    const school = this.store.schools.get(inc.school) || {};
    f.school.textContent = [inc.school_name || school.name, inc.school, inc.district || school.district]
      .filter(Boolean).join(' · ');

    const since = closed ? null : inc.received_at;
    const offers = inc.offers || [];
    const fetched = this.fetched || {};
    // Cleared: what the live feed knows, and the timeline's unit_cleared
    // events (a closed incident loaded from the API has only those).
    const clearedNow = new Set(inc.cleared || []);
    for (const e of this.mergedTimeline()) {
      if (e.type === 'unit_cleared' && e.unit && !(e.details && e.details.arrived === false)) clearedNow.add(e.unit);
      if (e.type === 'unit_accepted' && e.unit) clearedNow.delete(e.unit);
    }
    const units = (inc.units || []).filter((u) => !clearedNow.has(u));
    const cleared = (inc.units || []).filter((u) => clearedNow.has(u));
    clear(f.facts).append(...[
      fact('Incident', inc.id),
      fact('Received', h('span', { title: formatDateTime(parseIso(inc.received_at)) },
        formatClock(parseIso(inc.received_at)))),
      closed ? fact('Closed', fetched.closed_at ? formatClock(parseIso(fetched.closed_at)) : 'yes')
        : fact('Since alarm', h('span', { class: 'since big', 'data-since': since,
          'data-escalate': inc.acknowledged ? null : 'ack', 'data-testid': 'detail-since' }, '')),
      fact('Acknowledged', inc.acknowledged ? h('span', { class: 'ack-ok' }, 'yes')
        : h('span', { class: closed ? 'muted' : 'ack-missing' }, 'no')),
      fact('Units', units.length ? h('span', { 'data-testid': 'detail-units' }, units.join(', ')) : '—'),
      cleared.length ? fact('Cleared', h('span', { class: 'units-cleared', 'data-testid': 'detail-cleared' },
        ...cleared.map((u) => h('s', { title: 'cleared: left the scene' }, u)).flatMap((el, i) => (i ? [', ', el] : [el]))))
        : null,
      fact('Offers', offers.length ? h('span', {}, ...offers.map((o) => h('span', { class: 'chip chip-offer' },
        `${o.unit} `, h('span', { class: 'countdown', 'data-deadline': (o.baseLocal || Date.now()) + (o.expires_in_s || 0) * 1000 }))))
        : '—'),
      fetched.dispatch_s != null ? fact('Dispatch', `${fetched.dispatch_s.toFixed(1)} s`) : null,
      fetched.ack_s != null ? fact('Unit accepted', `${fetched.ack_s.toFixed(1)} s`) : null,
      fetched.arrival_s != null ? fact('Arrival', `${fetched.arrival_s.toFixed(1)} s`) : null,
    ].filter(Boolean));

    const cancelAsked = inc.cancelRequested || (fetched.timeline || []).some((e) => e.type === 'cancel_requested');
    f.notice.hidden = !(cancelAsked && !closed);
    f.notice.textContent = 'The school asked to cancel this alarm. Confirm with “Cancel alarm” once you are sure it is false.';

    if (f.actions && this.store.canCommand) {
      f.actions.hidden = closed;
      if (f.ackButton) {
        f.ackButton.disabled = !!inc.acknowledged || f.ackButton.classList.contains('pending');
        f.ackButton.parentElement.hidden = !!inc.acknowledged;
      }
      if (f.unitSelect) this.fillUnits(inc);
    }
    this.renderTimeline();
  }

  fillUnits(inc) {
    const select = this.f.unitSelect;
    if (document.activeElement === select) return;  // do not disturb an open list
    const previous = select.value;
    const school = this.store.schools.get(inc.school) || inc;
    const taken = new Set([...(inc.units || []), ...(inc.offers || []).map((o) => o.unit)]);
    const units = [...this.store.units.values()].map((u) => ({
      u,
      d: Number.isFinite(school.lat) && Number.isFinite(u.lat) ? distanceM(school, u) : Infinity,
    })).sort((a, b) => (STATUS_ORDER[a.u.status] ?? 9) - (STATUS_ORDER[b.u.status] ?? 9) || a.d - b.d);
    clear(select).append(h('option', { value: '' }, 'Choose a unit…'));
    for (const { u, d } of units) {
      const usable = u.status === 'available' && !taken.has(u.id);
      const why = taken.has(u.id) ? 'on this incident' : unitStatusLabel(u.status)[0].toLowerCase();
      select.append(h('option', { value: u.id, disabled: !usable },
        `${u.id} ${u.callsign && u.callsign !== u.id ? `(${u.callsign}) ` : ''}— ${why}${Number.isFinite(d) ? `, ${formatDistance(d)}` : ''}`));
    }
    if ([...select.options].some((o) => o.value === previous && !o.disabled)) select.value = previous;
  }

  mergedTimeline() {
    const seen = new Set();
    const out = [];
    const add = (e, live) => {
      const key = `${e.at}|${e.type}|${e.unit || ''}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ ...e, live });
    };
    for (const e of (this.fetched && this.fetched.timeline) || []) add(e, false);
    for (const e of this.store.liveEvents.get(this.id) || []) add(e, true);
    out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return out;
  }

  renderTimeline() {
    const f = this.f;
    const events = this.mergedTimeline();
    f.timelineNote.textContent = this.fetchError || (this.fetched ? '' : 'loading…');
    const list = clear(f.timeline);
    for (const e of events) {
      const [en, zh] = eventLabel(e.type);
      list.append(h('li', { class: `tl tl-${e.type}`, 'data-type': e.type, 'data-testid': 'timeline-event' },
        h('span', { class: 'tl-time', title: e.at }, formatClock(parseIso(e.at))),
        h('span', { class: 'tl-dot' }),
        h('div', { class: 'tl-body' },
          h('div', { class: 'tl-title' }, h('b', {}, en), ' ', h('span', { class: 'zh muted' }, zh),
            e.unit ? h('span', { class: 'chip chip-unit' }, e.unit) : null),
          h('div', { class: 'tl-meta muted' }, [e.actor ? `by ${e.actor}` : '', describe(e)].filter(Boolean).join(' · ')))));
    }
    if (!events.length) list.append(h('li', { class: 'muted' }, 'No events yet.'));
  }
}

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

// Two clicks within 4 s: a guard on actions that close an incident.
function confirmTwice(button, prompt, action) {
  if (button.dataset.armed === '1') {
    clearTimeout(Number(button.dataset.timer));
    button.dataset.armed = '';
    button.textContent = button.dataset.label;
    action();
    return;
  }
  button.dataset.label = button.textContent;
  button.dataset.armed = '1';
  button.textContent = prompt;
  button.classList.add('armed');
  button.dataset.timer = String(setTimeout(() => {
    button.dataset.armed = '';
    button.textContent = button.dataset.label;
    button.classList.remove('armed');
  }, 4000));
}

function describe(e) {
  const d = e.details || {};
  const parts = [];
  switch (e.type) {
    case 'alarm_received':
    case 'repeat_alarm':
      if (d.kind) parts.push(kindLabel(d.kind)[0]);
      if (d.alarm) parts.push(`alarm ${d.alarm}`);
      if (d.drill) parts.push('drill');
      if (d.note) parts.push(`“${d.note}”`);
      break;
    case 'offer_sent':
      if (d.eta_s != null) parts.push(`ETA ${Math.round(d.eta_s / 60)} min`);
      if (d.distance_m != null) parts.push(formatDistance(d.distance_m));
      if (d.rank) parts.push(d.rank === 'console' ? 'directed by dispatcher' : d.rank.replace(/_/g, ' '));
      if (d.reinforcement) parts.push('reinforcement');
      break;
    case 'offer_declined':
      if (d.reason) parts.push(`reason: ${d.reason}`);
      if (d.after_accept) parts.push('backed out after accepting');
      break;
    case 'offer_expired':
      if (d.reason) parts.push(d.reason);
      break;
    case 'unit_accepted':
      if (d.eta_s != null) parts.push(`ETA ${Math.round(d.eta_s / 60)} min`);
      break;
    case 'unit_arrived':
      if (d.source) parts.push(d.source);
      break;
    case 'unit_cleared':
      if (d.outcome) parts.push(d.outcome);
      break;
    case 'no_unit_available':
      if (d.missing != null) parts.push(`${d.missing} of ${d.places} place(s) unfilled`);
      break;
    case 'note':
      if (d.text) parts.push(`“${d.text}”`);
      break;
    case 'resolved':
      if (d.note) parts.push(`“${d.note}”`);
      if (d.source) parts.push(d.source);
      break;
    case 'cancelled':
    case 'cancel_requested':
      if (d.reason) parts.push(`reason: ${d.reason}`);
      break;
    default:
      break;
  }
  return parts.join(', ');
}
