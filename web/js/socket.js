// ConsoleSocket: the /ws/console connection (contract §4).
//
// Authenticates with a first {"type":"auth"} message, hands every server
// message to listeners, answers commands with promises matched by `ref`, and
// reconnects with capped exponential backoff and jitter. A refused token
// (`unauthorized`, `forbidden`) stops it for good: the user must sign in again.
//
// Events (EventTarget): 'state' {state, detail}, 'message' {msg}.
// States: connecting, live, offline (waiting to retry), refused, stopped.

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const COMMAND_TIMEOUT_MS = 10000;
const POLL_MS = 5000;        // fresh snapshot (unit positions are not pushed)
const SILENCE_MS = 20000;    // no message for this long: the link is dead

export class ConsoleSocket extends EventTarget {
  constructor(url, token) {
    super();
    this.url = url;
    this.token = token;
    this.ws = null;
    this.state = 'stopped';
    this.attempt = 0;
    this.retryAt = 0;
    this.retryTimer = null;
    this.pollTimer = null;
    this.pending = new Map();
    this.nextId = 1;
    this.lastMessageAt = 0;
    this.everLive = false;
    this.onOnline = () => {
      if (this.state === 'offline') this.connectNow();
    };
  }

  start() {
    if (this.state !== 'stopped') return;
    window.addEventListener('online', this.onOnline);
    this.open();
  }

  stop() {
    this.setState('stopped');
    this.teardown();
    window.removeEventListener('online', this.onOnline);
  }

  get live() {
    return this.state === 'live';
  }

  // Retry at once (the "reconnect now" button, or the browser going online).
  connectNow() {
    if (this.state !== 'offline') return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  requestSnapshot() {
    return this.send({ type: 'snapshot' });
  }

  // Sends a command; resolves on {"type":"ok"}, rejects with an Error carrying
  // `code` on {"type":"error"}, on a timeout or when the link is down.
  command(type, fields = {}) {
    const id = `c${Date.now().toString(36)}-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this.live || !this.send({ type, ...fields, id })) {
        const e = new Error('not connected to the server');
        e.code = 'offline';
        reject(e);
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const e = new Error('no answer from the server');
        e.code = 'timeout';
        reject(e);
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  // ---- internals ----------------------------------------------------------

  setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, ...detail } }));
  }

  open() {
    this.teardown();
    this.setState('connecting', { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.scheduleRetry(String(e.message || e));
      return;
    }
    this.ws = ws;
    let answered = false;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'auth', token: this.token }));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastMessageAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!answered) {
        answered = true;
        if (msg.type === 'error' && (msg.code === 'unauthorized' || msg.code === 'forbidden')) {
          this.refuse(msg);
          return;
        }
        if (msg.type === 'error' && msg.code === 'unavailable') {
          this.scheduleRetry(msg.message || 'the server cannot reach its database');
          return;
        }
      }
      if (msg.type === 'snapshot' && this.state !== 'live') {
        this.attempt = 0;
        this.everLive = true;
        this.setState('live');
        this.startPolling();
      }
      if ((msg.type === 'ok' || msg.type === 'error') && msg.ref != null && this.pending.has(msg.ref)) {
        const p = this.pending.get(msg.ref);
        this.pending.delete(msg.ref);
        clearTimeout(p.timer);
        if (msg.type === 'ok') {
          p.resolve(msg);
        } else {
          const e = new Error(msg.message || msg.code);
          e.code = msg.code;
          p.reject(e);
        }
      }
      this.dispatchEvent(new CustomEvent('message', { detail: { msg } }));
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.state === 'refused' || this.state === 'stopped') return;
      this.scheduleRetry(ev.reason || (this.everLive ? 'connection lost' : 'cannot reach the server'));
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  refuse(msg) {
    this.setState('refused', { code: msg.code, message: msg.message || '' });
    this.teardown();
  }

  scheduleRetry(reason) {
    this.teardown();
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.setState('offline', { reason, retryAt: this.retryAt, attempt: this.attempt });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  startPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(() => {
      if (!this.live) return;
      if (Date.now() - this.lastMessageAt > SILENCE_MS) {
        // Half-open TCP: nothing arrives although we keep asking.
        this.scheduleRetry('no data from the server');
        return;
      }
      this.requestSnapshot();
    }, POLL_MS);
  }

  teardown() {
    clearTimeout(this.retryTimer);
    clearInterval(this.pollTimer);
    this.retryTimer = null;
    this.pollTimer = null;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      const e = new Error('connection lost before the server answered');
      e.code = 'offline';
      p.reject(e);
    }
    this.pending.clear();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
  }
}
