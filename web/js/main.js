// huxiao web console: sign-in, the application shell (header, navigation,
// connection state) and the views. Plain ES modules, no build step.
//
// Views are registered in VIEWS with the roles that may open them and the
// roles that land on them (`home`); otherwise the first allowed view is the
// default. Read-only roles land on Reports, dispatchers on the console.

import { $, h, clear, formatClock } from './dom.js';
import { storedToken, storeToken, forgetToken, consoleSocketUrl } from './session.js';
import { ConsoleSocket } from './socket.js';
import { Store } from './store.js';
import { sound } from './audio.js';
import { makeToaster } from './components/alerts.js';
import { tileSettings, saveTileSettings } from './components/map.js';
import { ConsoleView } from './views/console.js';
import { ReportsView } from './views/reports.js';
import { InspectionsView } from './views/inspections.js';

const ALL_ROLES = null;  // any role the server lets onto /ws/console
const READ_ONLY = ['auditor', 'education', 'read-only'];
const VIEWS = [
  { id: 'console', label: 'Dispatch', zh: '调度', roles: ALL_ROLES, make: (ctx) => new ConsoleView(ctx) },
  { id: 'reports', label: 'Reports', zh: '报表', roles: ['dispatcher', 'admin', 'inspector', ...READ_ONLY], home: READ_ONLY,
    make: (ctx) => new ReportsView(ctx) },
  { id: 'inspections', label: 'Inspections', zh: '督导检查', roles: ['inspector', 'education', 'auditor'], home: ['inspector'],
    make: (ctx) => new InspectionsView(ctx) },
];
// Without a #/view in the address, wait this long for the role before
// opening the first view (the snapshot names the role within a moment).
const ROLE_WAIT_MS = 3000;

let app = null;  // the signed-in session: {token, socket, store, view, …}

// ---- sign-in -----------------------------------------------------------------

function showSignIn(message = '') {
  $('#app').hidden = true;
  $('#signin').hidden = false;
  const err = $('#signin-error');
  err.textContent = message;
  err.hidden = !message;
  const input = $('#signin-token');
  input.value = '';
  input.focus();
}

function setSignInBusy(busy) {
  const button = $('[data-testid="signin-submit"]');
  button.disabled = busy;
  button.textContent = busy ? 'Checking…' : 'Sign in';
}

// Opens the console socket with `token`. From the form, resolves only once
// the server accepted or refused it; with a stored token the console opens
// at once and shows its connection state.
function start(token, { fromForm }) {
  const store = new Store();
  const socket = new ConsoleSocket(consoleSocketUrl(), token);
  let decided = !fromForm;

  socket.addEventListener('message', (ev) => {
    const msg = ev.detail.msg;
    if (msg.type === 'snapshot') store.applySnapshot(msg);
    else if (msg.type === 'terminal') store.applyTerminal(msg);
    else if ((msg.type === 'welcome' || msg.type === 'hello') && msg.role) store.setRole(msg.role, msg.name);
  });

  socket.addEventListener('state', (ev) => {
    const { state, code, reason } = ev.detail;
    if (state === 'refused') {
      socket.stop();
      const text = code === 'forbidden'
        ? 'This token may not use the dispatch console (wrong role).'
        : 'Token refused: unknown, revoked or mistyped.';
      if (app && app.socket === socket) signOut(text);
      else if (!decided) {
        decided = true;
        setSignInBusy(false);
        showSignIn(text);
      }
      return;
    }
    if (!decided && state === 'live') {
      decided = true;
      setSignInBusy(false);
      storeToken(token);
      openApp({ token, socket, store });
    } else if (!decided && state === 'offline') {
      decided = true;
      socket.stop();
      setSignInBusy(false);
      showSignIn(reason && reason !== 'cannot reach the server'
        ? `Cannot reach the server (${reason}). Try again.`
        : 'Cannot reach the server. Check the address and try again.');
    }
    if (app && app.socket === socket) renderConnection(ev.detail);
  });

  if (!fromForm) openApp({ token, socket, store });
  socket.start();
}

$('#signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = $('#signin-token').value.trim();
  if (!token) return;
  sound.unlock();  // the click is the gesture browsers want before sound
  $('#signin-error').hidden = true;
  setSignInBusy(true);
  start(token, { fromForm: true });
});

function signOut(message = '') {
  if (app) {
    app.socket.stop();
    if (app.view) app.view.unmount();
    clearInterval(app.clockTimer);
    clearTimeout(app.roleTimer);
    app = null;
  }
  forgetToken();
  clear($('#view'));
  clear($('#nav'));
  $('#alert-banner').hidden = true;
  showSignIn(message);
}

// ---- the application shell --------------------------------------------------

function openApp({ token, socket, store }) {
  $('#signin').hidden = true;
  $('#app').hidden = false;
  const toast = makeToaster($('#toasts'));
  app = { token, socket, store, toast, view: null, viewId: null };
  app.ctx = {
    token, socket, store, toast,
    banner: $('#alert-banner'),
    onAuthLost: () => signOut('The server no longer accepts this token. Sign in again.'),
  };
  store.addEventListener('change', (ev) => {
    if (ev.detail.what.has('role')) {
      renderNav();
      route();
    }
    renderStats();
    renderWho();
  });
  socket.addEventListener('state', (ev) => {
    if (ev.detail.state === 'live' && !store.role) probeRole(socket, store);
  });
  if (socket.live && !store.role) probeRole(socket, store);
  app.clockTimer = setInterval(() => {
    $('#clock').textContent = formatClock(Date.now());
    if (app) renderConnection({ state: app.socket.state, retryAt: app.socket.retryAt });
  }, 1000);
  $('#clock').textContent = formatClock(Date.now());
  renderNav();
  renderConnection({ state: socket.state });
  renderSound();
  renderWho();
  renderStats();
  app.roleTimer = setTimeout(() => {
    if (!app) return;
    app.roleWaitOver = true;
    route();
  }, ROLE_WAIT_MS);
  route();
}

// The snapshot does not say who we are; a command without an incident tells
// a dispatcher (bad_frame) from a read-only role (forbidden) without side effects.
async function probeRole(socket, store) {
  if (socket.probing) return;
  socket.probing = true;
  try {
    await socket.command('note', {});
    if (!store.role) store.setRole('dispatcher');
  } catch (e) {
    // The snapshot may have named the role meanwhile: that one wins.
    if (store.role) return;
    if (e.code === 'forbidden') store.setRole('read-only');
    else if (e.code !== 'offline' && e.code !== 'timeout') store.setRole('dispatcher');
  } finally {
    socket.probing = false;
  }
}

function allowedViews() {
  const role = app && app.store.role;
  return VIEWS.filter((v) => !v.roles || !role || v.roles.includes(role));
}

function renderNav() {
  const nav = clear($('#nav'));
  const views = allowedViews();
  if (views.length < 2) return;  // one view: no tabs needed
  for (const v of views) {
    nav.append(h('a', { href: `#/${v.id}`, class: `nav-tab${app.viewId === v.id ? ' active' : ''}` },
      v.label, ' ', h('span', { class: 'zh' }, v.zh)));
  }
}

function route() {
  if (!app) return;
  const views = allowedViews();
  const role = app.store.role;
  const wanted = location.hash.replace(/^#\/?/, '');
  let view = views.find((v) => v.id === wanted);
  if (!view) {
    if (!role && !app.roleWaitOver) return;  // the role decides the landing view
    view = views.find((v) => v.home && v.home.includes(role)) || views[0];
  }
  if (app.viewId === view.id) return;
  if (app.view) app.view.unmount();
  app.viewId = view.id;
  app.view = view.make(app.ctx);
  app.view.mount(clear($('#view')));
  renderNav();
}

window.addEventListener('hashchange', route);

function renderConnection({ state, retryAt, reason }) {
  const el = $('#conn');
  const text = $('.conn-text', el);
  el.dataset.state = state;
  if (state === 'live') {
    text.textContent = 'Live';
    el.title = 'Connected: events arrive as they happen';
  } else if (state === 'connecting') {
    text.textContent = 'Connecting…';
    el.title = 'Connecting to the server';
  } else if (state === 'offline') {
    const secs = Math.max(0, Math.ceil(((retryAt || app?.socket.retryAt || 0) - Date.now()) / 1000));
    text.textContent = `Offline · retry in ${secs}s`;
    if (reason) el.title = `Disconnected (${reason}); click to retry now`;
  } else {
    text.textContent = state;
  }
}

$('#conn').addEventListener('click', () => app && app.socket.connectNow());

function renderSound() {
  const el = $('#sound');
  if (sound.muted) {
    el.textContent = 'Sound off';
    el.dataset.state = 'muted';
    el.title = 'Alarm sound is off; click to turn it on';
  } else if (sound.blocked) {
    el.textContent = 'Click to enable sound';
    el.dataset.state = 'blocked';
    el.title = 'The browser holds sound back until you click in the page';
  } else {
    el.textContent = 'Sound on';
    el.dataset.state = 'on';
    el.title = 'Alarm sound is on; click to mute';
  }
}

sound.onChange(renderSound);
$('#sound').addEventListener('click', () => {
  if (sound.blocked) {
    sound.unlock();
    if (sound.muted) sound.setMuted(false);
    setTimeout(() => sound.notice(), 100);
  } else {
    sound.setMuted(!sound.muted);
  }
});
// Any click unlocks audio (the page may have been reloaded with a stored token).
document.addEventListener('pointerdown', () => { if (sound.blocked) sound.unlock(); }, { capture: true });

function renderWho() {
  const el = $('#who');
  const store = app && app.store;
  const role = store && store.role;
  el.textContent = role ? role : '';
  el.hidden = !role;
  el.dataset.role = role || '';
  el.title = store && store.name ? `Signed in as ${store.name}` : '';
  // A token limited to districts says so: everything on the page is theirs only.
  const scope = $('#scope');
  const districts = (store && store.districts) || [];
  scope.textContent = districts.length
    ? districts.map((d) => store.districtNames.get(d) || d).join(', ')
    : '';
  scope.title = districts.length ? `You see only ${districts.length > 1 ? 'these districts' : 'this district'}` : '';
  scope.hidden = !districts.length;
  // Alarm sound is for those who answer alarms; read-only roles watch quietly.
  $('#sound').hidden = !!role && !store.canCommand;
}

function renderStats() {
  if (!app) return;
  const { store } = app;
  const el = clear($('#stats'));
  const open = [...store.incidents.values()];
  const real = open.filter((i) => !i.drill).length;
  const unacked = open.filter((i) => !i.acknowledged && !i.drill).length;
  const units = [...store.units.values()];
  const available = units.filter((u) => u.status === 'available').length;
  const online = units.filter((u) => u.status !== 'offline').length;
  const t = store.terminals;
  const offline = t.offline.length;
  const stat = (label, value, cls = '', title = '') =>
    h('span', { class: `stat ${cls}`, title }, h('span', { class: 'stat-value' }, value), h('span', { class: 'stat-label' }, label));
  el.append(
    stat('open', String(real), real ? 'stat-hot' : ''),
    stat('not acknowledged', String(unacked), unacked ? 'stat-hot' : ''),
    stat('units available', `${available}/${online}`, available ? '' : 'stat-warn', `${units.length} units, ${online} online`),
    stat('terminals online', `${t.online}/${t.online + offline}`, offline ? 'stat-warn' : '',
      offline ? `Offline: ${t.offline.map((x) => x.id + (x.school ? ` (${x.school})` : '')).join(', ')}` : 'All alarm terminals connected'));
}

// ---- settings -----------------------------------------------------------------

$('#settings-button').addEventListener('click', () => {
  const s = tileSettings();
  $('#tile-url').value = s.url;
  $('#tile-attribution').value = s.attribution;
  $('#settings').showModal();
});
$('#settings').addEventListener('close', () => {
  if ($('#settings').returnValue !== 'save') return;
  const url = $('#tile-url').value.trim();
  if (url && !/\{z\}/.test(url)) {
    app?.toast('The tile URL needs {z}, {x} and {y}', 'warn');
    return;
  }
  saveTileSettings({ url, attribution: $('#tile-attribution').value.trim() });
  if (app && app.view && app.view.setTiles) app.view.setTiles();
});

$('#signout').addEventListener('click', () => signOut());

// ---- boot -----------------------------------------------------------------------

const saved = storedToken();
if (saved) start(saved, { fromForm: false });
else showSignIn();
