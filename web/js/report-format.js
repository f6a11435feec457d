// Formatting and date ranges shared by the report pages (issue 5).

import { formatElapsed } from './dom.js';

// SLA shares below this are highlighted. The server gives the time targets
// (sla.ack_s, sla.arrival_s); the share an inspector expects is a policy.
export const SLA_TARGET_PCT = 90;

const DAY_MS = 86400000;
const pad = (n) => String(n).padStart(2, '0');

// Seconds as m:ss (h:mm:ss past an hour); null as a dash.
export function fmtSeconds(v) {
  return v === null || v === undefined ? '—' : formatElapsed(Math.round(v));
}

export function fmtPct(v, digits = 1) {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(digits)} %`;
}

export function fmtInt(v) {
  return v === null || v === undefined ? '—' : Number(v).toLocaleString('en');
}

// Local calendar date "YYYY-MM-DD" of a Date.
export function dateText(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function parseDateText(text) {
  const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(text || '');
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);

// A range of whole local days: {fromDate, toDate (inclusive), from, to (ISO, exclusive end)}.
export function dayRange(first, last) {
  const end = addDays(last, 1);
  return {
    fromDate: dateText(first),
    toDate: dateText(last),
    from: first.toISOString(),
    to: end.toISOString(),
    days: Math.round((end - first) / DAY_MS),
  };
}

export const PRESETS = {
  last7: { label: 'Last 7 days', zh: '近7天' },
  lastMonth: { label: 'Last month', zh: '上月' },
  custom: { label: 'Custom', zh: '自定义' },
};

export function presetRange(preset, now = new Date()) {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  if (preset === 'lastMonth') {
    const first = new Date(today.getFullYear(), today.getMonth() - 1, 1);
    const last = new Date(today.getFullYear(), today.getMonth(), 0);
    return dayRange(first, last);
  }
  return dayRange(addDays(today, -6), today);
}

// Monday-based weeks covering [from, to), clipped to the range.
export function weeksOf(range) {
  const start = parseDateText(range.fromDate);
  const end = addDays(parseDateText(range.toDate), 1);
  const weeks = [];
  let cur = start;
  while (cur < end) {
    const monday = addDays(cur, -((cur.getDay() + 6) % 7));
    let next = addDays(monday, 7);
    if (next > end) next = end;
    weeks.push({ label: `${pad(cur.getMonth() + 1)}-${pad(cur.getDate())}`, from: cur.toISOString(), to: next.toISOString() });
    cur = next;
  }
  return weeks;
}

// RFC 4180 text from a header and rows of values.
export function toCsv(header, rows) {
  const field = (v) => {
    if (v === null || v === undefined) return '';
    const text = String(v);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}
