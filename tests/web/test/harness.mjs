// Test harness for the browser tests: a fresh database on the test cluster, a
// configuration in a temp dir, the demo city imported, tokens, a running
// huxiaod, and clients acting as an alarm terminal (TLS) and a patrol unit
// (WebSocket). Everything started here is undone by cleanup(), also on failure.
//
// Environment:
//   HUXIAO_TEST_PG     postgresql://huxiao@127.0.0.1:PORT/huxiao (required; tools/test.sh sets it)
//   HUXIAO_SOURCE_DIR  the repository root (default: two levels up)
//   HUXIAOD            the server binary (default: <repo>/build/ci/server/huxiaod)
//   CHROMIUM           the browser (default: /usr/bin/chromium)

import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, writeFile, readFile, rm, mkdir } from 'node:fs/promises';
import { existsSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export const REPO = path.resolve(process.env.HUXIAO_SOURCE_DIR || path.join(here, '..', '..', '..'));
export const HUXIAOD = process.env.HUXIAOD || path.join(REPO, 'build', 'ci', 'server', 'huxiaod');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CERTS = path.join(REPO, '.local', 'certs');
export const ARTIFACTS = path.join(here, '..', 'artifacts');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function checkPrerequisites() {
  const missing = [];
  if (!process.env.HUXIAO_TEST_PG) missing.push('HUXIAO_TEST_PG is not set (tools/test.sh sets it; or: export HUXIAO_TEST_PG="$(tools/pg.sh url)")');
  if (!existsSync(HUXIAOD)) missing.push(`no server binary at ${HUXIAOD} (build it: cmake --build build/ci --target huxiaod)`);
  if (!existsSync(CHROMIUM)) missing.push(`no browser at ${CHROMIUM} (apt-get install chromium)`);
  if (!existsSync(path.join(CERTS, 'server.crt'))) missing.push(`no dev certificates in ${CERTS} (run tools/setup.sh)`);
  if (!existsSync(path.join(REPO, 'web', 'index.html'))) missing.push(`no web console at ${path.join(REPO, 'web')}`);
  if (missing.length) throw new Error(`browser tests cannot run:\n  ${missing.join('\n  ')}`);
}

// ---- database -------------------------------------------------------------------

async function psql(url, sql) {
  await run('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeout: 30000 });
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

// ---- the environment -------------------------------------------------------------

export class Environment {
  constructor() {
    this.cleanups = [];
    this.output = [];
    this.server = null;
  }

  async setup({ configExtra = {} } = {}) {
    checkPrerequisites();
    await mkdir(ARTIFACTS, { recursive: true });
    this.dir = await mkdtemp(path.join(tmpdir(), 'huxiao-web-'));
    this.cleanups.push(() => rm(this.dir, { recursive: true, force: true }));

    const admin = process.env.HUXIAO_TEST_PG;
    this.dbName = `huxiao_web_${process.pid}_${randomBytes(3).toString('hex')}`;
    await psql(admin, `CREATE DATABASE ${this.dbName}`);
    this.cleanups.push(() => psql(admin, `DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`));
    this.dbUrl = withDatabase(admin, this.dbName);

    this.config = path.join(this.dir, 'huxiao.json');
    const config = {
      database: { url: this.dbUrl },
      terminal_listener: {
        address: '127.0.0.1', port: 0,
        cert: path.join(CERTS, 'server.crt'), key: path.join(CERTS, 'server.key'),
        client_ca: path.join(CERTS, 'terminal-ca.crt'),
      },
      api_listener: {
        address: '127.0.0.1', port: 0,
        cert: path.join(CERTS, 'server.crt'), key: path.join(CERTS, 'server.key'),
      },
      log: { level: 'info', format: 'text' },
      ...configExtra,
    };
    await writeFile(this.config, JSON.stringify(config, null, 2));
    await this.huxiaod(['import', '--config', this.config, path.join(REPO, 'config', 'demo-city.json')]);
  }

  async huxiaod(args) {
    try {
      const { stdout } = await run(HUXIAOD, args, { timeout: 60000 });
      return stdout.trim();
    } catch (e) {
      throw new Error(`huxiaod ${args[0]} failed: ${e.stderr || e.message}`);
    }
  }

  async token(role, name, unit) {
    const args = ['token', 'create', '--config', this.config, '--role', role, '--name', name];
    if (unit) args.push('--unit', unit);
    return this.huxiaod(args);
  }

  // Starts `huxiaod serve`; resolves with the listener ports read from stdout.
  async startServer() {
    const log = createWriteStream(path.join(ARTIFACTS, 'huxiaod.log'));
    this.cleanups.push(() => new Promise((r) => log.end(r)));
    const child = spawn(HUXIAOD, ['serve', '--config', this.config], {
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.server = child;
    this.cleanups.push(() => this.stopServer());
    const ports = {};
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`huxiaod did not report its listeners within 30 s:\n${this.tail()}`)), 30000);
      const onLine = (line) => {
        this.output.push(line);
        log.write(`${line}\n`);
        let m = /terminal listener on ([\d.]+):(\d+)/.exec(line);
        if (m) ports.terminal = Number(m[2]);
        m = /api listener on ([\d.]+):(\d+)/.exec(line);
        if (m) ports.api = Number(m[2]);
        if (ports.terminal && ports.api) {
          clearTimeout(timer);
          resolve();
        }
      };
      lines(child.stdout, onLine);
      lines(child.stderr, onLine);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`huxiaod exited early (${code ?? signal}):\n${this.tail()}`));
      });
    });
    this.ports = ports;
    this.baseUrl = `https://127.0.0.1:${ports.api}`;
    return ports;
  }

  tail(n = 30) {
    return this.output.slice(-n).join('\n');
  }

  async stopServer() {
    const child = this.server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  }

  async cleanup() {
    const errors = [];
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    this.cleanups = [];
    if (errors.length) console.error('cleanup problems:', errors.map((e) => e.message).join('; '));
  }

  // ---- clients -------------------------------------------------------------------

  async terminal(id) {
    const t = new TerminalClient(id, this.ports.terminal);
    this.cleanups.push(() => t.close());
    await t.connect();
    return t;
  }

  async unit(token) {
    const u = new UnitClient(`wss://127.0.0.1:${this.ports.api}/ws/unit`, token);
    this.cleanups.push(() => u.close());
    await u.connect();
    return u;
  }
}

function lines(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

// Messages from a peer, with waitFor(predicate) over those not yet consumed.
class Inbox {
  constructor(label) {
    this.label = label;
    this.messages = [];
    this.waiters = [];
  }

  push(msg) {
    this.messages.push(msg);
    for (const w of [...this.waiters]) {
      const i = this.messages.findIndex(w.predicate);
      if (i >= 0) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(this.messages.splice(i, 1)[0]);
      }
    }
  }

  waitFor(predicate, timeoutMs = 10000) {
    const i = this.messages.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = { predicate, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.label}: no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

// An alarm terminal of contract §3: mutual TLS, one JSON object per line.
export class TerminalClient {
  constructor(id, port) {
    this.id = id;
    this.port = port;
    this.inbox = new Inbox(`terminal ${id}`);
  }

  async connect() {
    const [cert, key, ca] = await Promise.all([
      readFile(path.join(CERTS, 'terminals', `${this.id}.crt`)),
      readFile(path.join(CERTS, 'terminals', `${this.id}.key`)),
      readFile(path.join(CERTS, 'server-ca.crt')),
    ]);
    this.socket = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: this.port, cert, key, ca, servername: 'localhost' },
        () => resolve(s));
      s.once('error', reject);
    });
    this.socket.on('error', () => {});
    lines(this.socket, (line) => {
      try {
        this.inbox.push(JSON.parse(line));
      } catch {
        this.inbox.push({ type: 'unparsable', line });
      }
    });
    this.send({ type: 'hello', terminal: this.id, proto: 1 });
    await this.inbox.waitFor((m) => m.type === 'welcome');
  }

  send(msg) {
    this.socket.write(`${JSON.stringify(msg)}\n`);
  }

  // Raises an alarm; resolves with the incident id from the server's ack.
  async alarm(id, kind, extra = {}) {
    this.send({ type: 'alarm', id, kind, ...extra });
    const ack = await this.inbox.waitFor((m) => m.type === 'ack' && m.id === id);
    return ack.incident;
  }

  close() {
    if (this.socket) this.socket.destroy();
  }
}

// A patrol unit's mobile terminal of contract §4 (/ws/unit).
export class UnitClient {
  constructor(url, token) {
    this.url = url;
    this.token = token;
    this.inbox = new Inbox('unit');
  }

  async connect() {
    const ca = await readFile(path.join(CERTS, 'server-ca.crt'));
    this.ws = new WebSocket(this.url, { headers: { Authorization: `Bearer ${this.token}` }, ca, servername: 'localhost' });
    this.ws.on('message', (data) => {
      try {
        this.inbox.push(JSON.parse(String(data)));
      } catch {
        this.inbox.push({ type: 'unparsable', data: String(data) });
      }
    });
    this.ws.on('error', () => {});
    await new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
  }

  send(msg) {
    this.ws.send(JSON.stringify(msg));
  }

  close() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.terminate();
  }
}
