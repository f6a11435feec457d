// Display names for the protocol's codes (contract §3, §4, §6): English first,
// the Chinese term operators use second. Unknown codes are shown as they are.

export const KINDS = {
  intrusion: ['Intrusion', '入侵'],
  assault: ['Assault', '暴力袭击'],
  medical: ['Medical', '急救'],
  fire: ['Fire', '火警'],
  bullying: ['Bullying', '欺凌'],
  self_harm: ['Self-harm', '自伤'],
  drowning: ['Drowning', '溺水'],
  traffic: ['Traffic', '交通事故'],
  other: ['Other', '其他'],
};

export const STATES = {
  received: ['Received', '已接警'],
  no_unit_available: ['No unit available', '无可用警力'],
  dispatched: ['Offered', '已派单'],
  accepted: ['Accepted', '已接单'],
  en_route: ['En route', '出警中'],
  on_scene: ['On scene', '已到场'],
  resolved: ['Resolved', '已处置'],
  cancelled: ['Cancelled', '已撤销'],
  closed: ['Closed', '已关闭'],
};

export const UNIT_STATUS = {
  available: ['Available', '空闲'],
  busy: ['Busy', '执勤中'],
  out_of_service: ['Out of service', '暂停'],
  offline: ['Offline', '离线'],
};

export const EVENTS = {
  alarm_received: ['Alarm received', '接警'],
  repeat_alarm: ['Repeat alarm', '重复报警'],
  cancel_requested: ['School asks to cancel', '学校请求撤销'],
  console_acknowledged: ['Acknowledged by dispatcher', '坐席确认'],
  offer_sent: ['Offer sent', '派单'],
  offer_declined: ['Offer declined', '拒单'],
  offer_expired: ['Offer expired', '派单超时'],
  unit_accepted: ['Unit accepted', '接单'],
  unit_en_route: ['Unit en route', '出发'],
  unit_arrived: ['Unit arrived', '到场'],
  unit_cleared: ['Unit cleared', '离场'],
  no_unit_available: ['No unit available', '无可用警力'],
  note: ['Note', '备注'],
  resolved: ['Resolved', '已处置'],
  cancelled: ['Cancelled', '已撤销'],
};

function pick(table, code) {
  return table[code] || [code ? String(code).replace(/_/g, ' ') : '—', ''];
}

export const kindLabel = (code) => pick(KINDS, code);
export const stateLabel = (code) => pick(STATES, code);
export const unitStatusLabel = (code) => pick(UNIT_STATUS, code);
export const eventLabel = (code) => pick(EVENTS, code);

// States in which an incident still needs the dispatcher's attention first.
export const URGENT_STATES = new Set(['received', 'no_unit_available']);
export const CLOSED_STATES = new Set(['resolved', 'cancelled', 'closed']);
