// Store: what the console knows, built from snapshots and live events
// (contract §4 /ws/console). Snapshots are the truth for open incidents, units,
// schools and terminals; events between them update the picture at once so the
// board never waits for the next snapshot. Closed incidents stay on the board
// for a while, greyed, so the dispatcher sees how they ended.
//
// Emits 'change' with detail {what: Set of 'incidents'|'units'|'schools'|
// 'terminals'|'activity'|'role', newAlarms: [incident…], incident ids touched}.

import { parseIso } from './dom.js';
import { CLOSED_STATES } from './labels.js';

const CLOSED_KEEP_MS = 10 * 60 * 1000;
const ACTIVITY_MAX = 200;
const LIVE_EVENTS_MAX = 300;

export class Store extends EventTarget {
  constructor() {
    super();
    this.incidents = new Map();     // open, by id
    this.closed = new Map();        // id -> incident with closedAtLocal
    this.units = new Map();
    this.schools = new Map();
    this.terminals = { online: 0, offline: [] };
    this.offlineSchools = new Set();  // schools whose terminal is offline, when known
    this.liveEvents = new Map();    // incident id -> events seen on the socket
    this.cancelRequested = new Set();
    this.activity = [];             // newest first
    this.role = null;               // 'dispatcher', 'auditor', … once known
    this.name = null;
    this.districts = [];            // the token's districts (education); empty: the whole city
    this.districtNames = new Map(); // id -> name, from the snapshot
    this.haveSnapshot = false;
    this.seen = new Set();          // every incident id this page has shown
    this.skewMs = 0;                // local clock minus server clock
    this.skewSamples = [];
    this.lastUpdate = 0;
  }

  // Server time now, in ms, corrected for this browser's clock.
  serverNow() {
    return Date.now() - this.skewMs;
  }

  secondsSince(iso) {
    const t = parseIso(iso);
    if (!Number.isFinite(t)) return NaN;
    return Math.max(0, (this.serverNow() - t) / 1000);
  }

  allIncidents() {
    return [...this.incidents.values(), ...this.closed.values()];
  }

  incident(id) {
    return this.incidents.get(id) || this.closed.get(id) || null;
  }

  // Contract §4: commands are the dispatcher's alone; an admin watches.
  get canCommand() {
    return this.role === 'dispatcher';
  }

  setRole(role, name) {
    if (role === this.role && (name || null) === this.name) return;
    this.role = role;
    if (name) this.name = name;
    this.emit(new Set(['role']));
  }

  // ---- snapshot ---------------------------------------------------------

  applySnapshot(msg) {
    const what = new Set(['incidents', 'units', 'terminals']);
    const newAlarms = [];
    const first = !this.haveSnapshot;
    const now = Date.now();
    this.haveSnapshot = true;
    this.lastUpdate = Date.now();
    if (msg.server_time) this.sampleSkew(msg.server_time, true);
    if (msg.you && typeof msg.you === 'object') {
      this.districts = Array.isArray(msg.you.districts) ? msg.you.districts : [];
      this.setRole(msg.you.role || this.role, msg.you.name);
    } else if (typeof msg.role === 'string') {
      this.setRole(msg.role, msg.name);
    }

    if (Array.isArray(msg.districts)) {
      this.districtNames = new Map(msg.districts.map((d) => [d.id, d.name]));
    }
    if (Array.isArray(msg.schools)) {
      this.schools = new Map(msg.schools.map((s) => [s.id, s]));
      what.add('schools');
    }
    const fresh = new Map();
    // A token limited to districts is shown only their units (the server
    // decides what it sends; this keeps the page to the token's scope).
    const inScope = (u) => !this.districts.length || !u.district || this.districts.includes(u.district);
    const unitsById = new Map((msg.units || []).filter(inScope).map((u) => [u.id, u]));
    for (const inc of msg.incidents || []) {
      const before = this.incidents.get(inc.id);
      const merged = { ...inc, offers: (inc.offers || []).map((o) => ({ ...o, baseLocal: now })) };
      // The snapshot lists every unit ever assigned; one whose current
      // incident is another (or none) has cleared. A unit this token does not
      // see keeps what the events said.
      merged.cleared = (inc.units || []).filter((u) => {
        const unit = unitsById.get(u);
        return unit ? unit.incident !== inc.id : (before?.cleared || []).includes(u);
      });
      if (before && before.cancelRequested) merged.cancelRequested = true;
      if (this.cancelRequested.has(inc.id)) merged.cancelRequested = true;
      fresh.set(inc.id, merged);
      if (!this.seen.has(inc.id)) {
        this.seen.add(inc.id);
        // Alarms raised while this page was away still alert, except the ones
        // already open when the page was first loaded.
        if (!first) newAlarms.push(merged);
      }
      this.closed.delete(inc.id);
    }
    // Open before, missing now: closed in between (the event was missed).
    for (const [id, inc] of this.incidents) {
      if (!fresh.has(id) && !this.closed.has(id)) {
        this.closed.set(id, { ...inc, state: CLOSED_STATES.has(inc.state) ? inc.state : 'closed',
          closedAtLocal: Date.now() });
      }
    }
    this.incidents = fresh;
    this.units = unitsById;
    if (msg.terminals) {
      const offline = (msg.terminals.offline || []).map((t) => (typeof t === 'string' ? { id: t } : t));
      this.terminals = { online: msg.terminals.online ?? 0, offline };
      const schools = new Set();
      for (const t of offline) if (t.school) schools.add(t.school);
      if (schools.size || offline.length === 0) this.offlineSchools = schools;
    }
    this.pruneClosed();
    this.emit(what, newAlarms);
  }

  // ---- live events --------------------------------------------------------

  // Returns true when the store cannot place the event (an incident it does
  // not know): the caller should ask for a snapshot.
  applyEvent(msg) {
    this.lastUpdate = Date.now();
    this.sampleSkew(msg.at, false);
    const id = msg.incident;
    const type = msg.event;
    const details = msg.details || {};
    const what = new Set(['activity']);
    const newAlarms = [];
    let unknown = false;

    if (id) {
      const list = this.liveEvents.get(id) || [];
      list.push({ at: msg.at, type, actor: msg.actor, unit: msg.unit, details });
      if (list.length > LIVE_EVENTS_MAX) list.shift();
      this.liveEvents.set(id, list);
    }
    this.activity.unshift({ ...msg, receivedAtLocal: Date.now() });
    if (this.activity.length > ACTIVITY_MAX) this.activity.length = ACTIVITY_MAX;

    let inc = id ? this.incidents.get(id) : null;
    if (!inc && id && type === 'alarm_received') {
      const school = this.schools.get(msg.school) || {};
      inc = {
        id,
        school: msg.school,
        school_name: school.name || '',
        district: school.district || '',
        lat: school.lat,
        lon: school.lon,
        kind: details.kind || 'other',
        drill: !!details.drill,
        state: msg.state || 'received',
        received_at: msg.at,
        acknowledged: false,
        units: [],
        cleared: [],
        offers: [],
        note: details.note,
      };
      this.incidents.set(id, inc);
      what.add('incidents');
      if (!this.seen.has(id)) {
        this.seen.add(id);
        newAlarms.push(inc);
      }
    } else if (!inc && id) {
      unknown = !this.closed.has(id);
    }

    if (inc) {
      what.add('incidents');
      if (msg.state) inc.state = msg.state;
      const unit = msg.unit;
      const dropOffer = (u) => {
        inc.offers = (inc.offers || []).filter((o) => o.unit !== u);
      };
      switch (type) {
        case 'console_acknowledged':
          inc.acknowledged = true;
          break;
        case 'cancel_requested':
          inc.cancelRequested = true;
          this.cancelRequested.add(id);
          break;
        case 'offer_sent':
          if (unit) {
            dropOffer(unit);
            inc.offers.push({ unit, eta_s: details.eta_s, expires_in_s: details.expires_in_s,
              baseLocal: Date.now() });
            this.setUnit(unit, { status: 'busy', incident: id }, what);
          }
          break;
        case 'offer_declined':
        case 'offer_expired':
          if (unit) {
            dropOffer(unit);
            if (details.after_accept) inc.units = (inc.units || []).filter((u) => u !== unit);
            this.releaseUnit(unit, id, what);
          }
          break;
        case 'unit_accepted':
          if (unit) {
            dropOffer(unit);
            if (!(inc.units || []).includes(unit)) inc.units = [...(inc.units || []), unit];
            inc.cleared = (inc.cleared || []).filter((u) => u !== unit);
            for (const w of details.withdrawn || []) {
              dropOffer(w);
              this.releaseUnit(w, id, what);
            }
          }
          break;
        case 'unit_cleared':
          if (unit) {
            // Clearing before arriving is backing out: the unit leaves the
            // incident's list, as the server's does.
            if (details.arrived === false) inc.units = (inc.units || []).filter((u) => u !== unit);
            else if (!(inc.cleared || []).includes(unit)) inc.cleared = [...(inc.cleared || []), unit];
            this.releaseUnit(unit, id, what);
          }
          break;
        case 'resolved':
        case 'cancelled':
          this.closeIncident(inc, type, what);
          break;
        default:
          break;
      }
    }
    this.emit(what, newAlarms, id);
    return unknown;
  }

  // {"type":"terminal","terminal","school","online","at"}: supervision.
  applyTerminal(msg) {
    this.sampleSkew(msg.at, false);
    const offline = this.terminals.offline.filter((t) => t.id !== msg.terminal);
    if (msg.online) {
      this.terminals.online += 1;
      if (msg.school) this.offlineSchools.delete(msg.school);
    } else {
      offline.push({ id: msg.terminal, school: msg.school });
      this.terminals.online = Math.max(0, this.terminals.online - 1);
      if (msg.school) this.offlineSchools.add(msg.school);
    }
    this.terminals.offline = offline;
    this.activity.unshift({ type: 'terminal', ...msg, receivedAtLocal: Date.now() });
    if (this.activity.length > ACTIVITY_MAX) this.activity.length = ACTIVITY_MAX;
    this.emit(new Set(['terminals', 'activity', 'schools']));
  }

  // ---- helpers ------------------------------------------------------------

  // The units of an incident split into those still on it and those that
  // cleared (the server keeps listing a cleared unit under `units`).
  unitsOf(inc) {
    const cleared = new Set(inc.cleared || []);
    const units = inc.units || [];
    return { active: units.filter((u) => !cleared.has(u)), cleared: units.filter((u) => cleared.has(u)) };
  }

  closeIncident(inc, state, what) {
    inc.state = state;
    inc.closedAtLocal = Date.now();
    for (const u of [...this.unitsOf(inc).active, ...(inc.offers || []).map((o) => o.unit)]) {
      this.releaseUnit(u, inc.id, what);
    }
    inc.offers = [];
    this.incidents.delete(inc.id);
    this.closed.set(inc.id, inc);
  }

  setUnit(id, fields, what) {
    const u = this.units.get(id);
    if (!u) return;
    Object.assign(u, fields);
    what.add('units');
  }

  releaseUnit(id, incident, what) {
    const u = this.units.get(id);
    if (!u || u.incident !== incident) return;
    u.incident = null;
    if (u.status === 'busy') u.status = 'available';
    what.add('units');
  }

  pruneClosed() {
    const cutoff = Date.now() - CLOSED_KEEP_MS;
    for (const [id, inc] of this.closed) {
      if ((inc.closedAtLocal || 0) < cutoff) {
        this.closed.delete(id);
        this.liveEvents.delete(id);
      }
    }
  }

  // The smallest (local - server) difference seen recently estimates the clock
  // offset: events reach us a little after they happen, never before.
  sampleSkew(iso, exact) {
    const t = parseIso(iso);
    if (!Number.isFinite(t)) return;
    const sample = Date.now() - t;
    if (exact) {
      this.skewSamples = [sample];
    } else {
      this.skewSamples.push(sample);
      if (this.skewSamples.length > 20) this.skewSamples.shift();
    }
    const best = Math.min(...this.skewSamples);
    // Ignore differences a dispatcher could not notice.
    this.skewMs = Math.abs(best) > 1500 ? best : 0;
  }

  emit(what, newAlarms = [], incident = null) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what, newAlarms, incident } }));
  }
}
