// The HTTP API against its OpenAPI document (issue #16 item 3): a real huxiaod
// on a fresh database of the demo city serves docs/api/openapi.json as it is
// on GET /api/v1/openapi.json, and every answer this test receives is checked
// against that document: the status must be one the operation documents, the
// Content-Type one of its media types, a JSON body valid against its schema
// (ajv, JSON Schema 2020-12). Every documented operation is called with
// success and its main errors (400, 401, 403, 404, 405, 409, 413, 429);
// methods and paths the document does not have must never succeed.
// (tests/e2e/openapi_e2etest.cpp holds the router's routes and roles against
// the same document.)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Environment, CERTS, REPO } from './harness.mjs';

const env = new Environment();
const DAY = 86400000;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

let ca;
let doc;        // the document as the server served it
let ajv;
let tokens;
let demo;       // config/demo-city.json
const succeeded = new Set();   // operationIds answered 2xx (or 101)
const statuses = new Map();    // operationId -> statuses seen

// ---- the document ---------------------------------------------------------------

function pointer(tokens_) {
  return `#/${tokens_.map((t) => encodeURIComponent(String(t).replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;
}

function resolve(node) {
  let n = node;
  while (n && n.$ref) {
    assert.ok(n.$ref.startsWith('#/'), `only local references: ${n.$ref}`);
    n = n.$ref.slice(2).split('/').reduce((o, t) => o[t.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return n;
}

// The documented path that `p` (no query) names, with its path item.
function documentedPath(p) {
  for (const [template, item] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(p)) return { template, item };
  }
  return null;
}

// The compiled schema at a JSON pointer of the document ($refs resolve within it).
function validator(schemaPointer) {
  const v = ajv.getSchema(`openapi.json${schemaPointer}`);
  assert.ok(v, `no schema at ${schemaPointer}`);
  return v;
}

function failWith(what, res, detail) {
  assert.fail(`${what}\n  ${detail}\n  answer: ${res.status} ${res.headers['content-type'] || ''} ${res.text.slice(0, 600)}`);
}

function checkErrorBody(what, res) {
  assert.equal(res.headers['content-type'], 'application/json', `${what}: an error is JSON`);
  const v = validator(pointer(['components', 'schemas', 'Error']));
  if (!v(res.json)) failWith(`${what}: the error does not match components/schemas/Error`, res, ajv.errorsText(v.errors));
}

// Checks one answer against the document; returns it.
function check(method, target, res, request) {
  const p = target.split('?')[0];
  const what = `${method} ${target}`;
  const found = documentedPath(p);
  const operation = found && found.item[method.toLowerCase()];
  if (!operation) {
    // Not documented: never a success, and an error of the documented shape.
    if (res.status < 400) failWith(`${what} is not documented but answered ${res.status}`, res, '');
    assert.ok([400, 401, 404, 405].includes(res.status), `${what}: undocumented, answered ${res.status}`);
    checkErrorBody(what, res);
    return res;
  }
  const id = operation.operationId;
  if (!statuses.has(id)) statuses.set(id, new Set());
  statuses.get(id).add(res.status);
  const response = resolve(operation.responses[String(res.status)]);
  if (!response) {
    failWith(`${what}: status ${res.status} is not documented for ${id}`, res,
      `documented: ${Object.keys(operation.responses).join(', ')}`);
  }
  if (res.status < 300 || res.status === 101) succeeded.add(id);
  if (res.status < 300) {
    // What the server accepted must be what the document describes.
    const query = new URL(target, 'https://x').searchParams;
    const known = new Set((operation.parameters || []).filter((x) => resolve(x).in === 'query').map((x) => resolve(x).name));
    for (const name of query.keys()) assert.ok(known.has(name), `${what}: query parameter ${name} is not documented for ${id}`);
    if (request !== undefined && operation.requestBody) {
      const opPointer = ['paths', found.template, method.toLowerCase()];
      const v = validator(pointer([...opPointer, 'requestBody', 'content', 'application/json', 'schema']));
      if (!v(request)) failWith(`${what}: the server accepted a body the document's ${id} request schema refuses`, res, `${ajv.errorsText(v.errors)}; body ${JSON.stringify(request).slice(0, 300)}`);
    }
  }
  if (!response.content) return res;
  const type = res.headers['content-type'];
  const media = response.content[type];
  if (!media) failWith(`${what}: Content-Type ${type} is not documented for ${id} ${res.status}`, res, Object.keys(response.content).join(', '));
  if (type === 'application/json') {
    assert.notEqual(res.json, undefined, `${what}: the body is not JSON`);
    const statusKey = String(res.status);
    let schemaPath;
    const raw = operation.responses[statusKey];
    if (raw.$ref) {
      schemaPath = [...raw.$ref.slice(2).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~')), 'content', type, 'schema'];
    } else {
      schemaPath = ['paths', found.template, method.toLowerCase(), 'responses', statusKey, 'content', type, 'schema'];
    }
    const v = validator(pointer(schemaPath));
    if (!v(res.json)) failWith(`${what}: the body does not match ${id} ${res.status}`, res, ajv.errorsText(v.errors, { separator: '\n  ' }));
  } else {
    assert.equal(typeof res.text, 'string');
  }
  return res;
}

// ---- requests ---------------------------------------------------------------------

function raw(method, target, { token, body, headers = {}, agent = false } = {}) {
  const url = new URL(target, env.baseUrl);
  const payload = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolvePromise, reject) => {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (payload) {
      h['Content-Type'] = 'application/json';
      h['Content-Length'] = payload.length;
    }
    const req = https.request({ method, host: url.hostname, port: url.port, path: url.pathname + url.search, ca,
      servername: 'localhost', agent, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolvePromise({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.setTimeout(30000, () => req.destroy(new Error(`${method} ${target}: no answer within 30 s`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

// A request whose answer is checked against the document; a 429 is checked
// too, then the request is sent again after the Retry-After second.
async function call(method, target, opts = {}) {
  for (let attempt = 0; ; ++attempt) {
    const res = await raw(method, target, opts);
    check(method, target, res, opts.body);
    if (res.status !== 429 || opts.noRetry || attempt >= 5) return res;
    await new Promise((r) => setTimeout(r, 1100));
  }
}

async function expectStatus(status, method, target, opts = {}) {
  const res = await call(method, target, opts);
  assert.equal(res.status, status, `${method} ${target}: ${res.text.slice(0, 300)}`);
  return res;
}

// ---- the tests --------------------------------------------------------------------

describe('HTTP API against docs/api/openapi.json', { timeout: 300000 }, () => {
  let incidentD1;
  let incidentD2;
  let hazards;

  before(async () => {
    ca = await readFile(path.join(CERTS, 'server-ca.crt'));
    demo = JSON.parse(await readFile(path.join(REPO, 'config', 'demo-city.json'), 'utf8'));
    await env.setup();
    tokens = {
      admin: await env.token('admin', 'api-admin'),
      dispatcher: await env.token('dispatcher', 'api-dispatcher'),
      auditor: await env.token('auditor', 'api-auditor'),
      inspector: await env.token('inspector', 'api-inspector'),
      unit: await env.token('unit', 'api-unit', 'P-01'),
      education: await env.huxiaod(['token', 'create', '--config', env.config, '--role', 'education',
        '--name', 'api-bureau', '--districts', 'D-1']),
    };
    await env.startServer();
    // The document as served; the validator reads it.
    const served = await raw('GET', '/api/v1/openapi.json');
    assert.equal(served.status, 200);
    doc = JSON.parse(served.text);
    ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addSchema(doc, 'openapi.json');
  });

  after(async () => {
    await env.cleanup();
  });

  it('serves the repository file as it is, and the document is well formed', async () => {
    const res = await call('GET', '/api/v1/openapi.json');
    assert.equal(res.status, 200);
    const file = await readFile(path.join(REPO, 'docs', 'api', 'openapi.json'), 'utf8');
    assert.ok(res.text === file, 'the served document differs from docs/api/openapi.json');
    assert.match(doc.openapi, /^3\.1\./);
    // Every schema compiles; operation ids are unique; path parameters are declared.
    for (const name of Object.keys(doc.components.schemas)) validator(pointer(['components', 'schemas', name]));
    const ids = new Set();
    for (const [template, item] of Object.entries(doc.paths)) {
      const declared = new Set([...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]));
      for (const method of METHODS.filter((m) => item[m])) {
        const operation = item[method];
        assert.ok(operation.operationId && !ids.has(operation.operationId), `${method} ${template}: operationId`);
        ids.add(operation.operationId);
        const params = (operation.parameters || []).map(resolve).filter((x) => x.in === 'path').map((x) => x.name);
        assert.deepEqual(new Set(params), declared, `${method} ${template}: path parameters`);
        assert.ok(Object.keys(operation.responses).length > 0);
        if (!(operation.security && operation.security.length === 0)) {
          assert.ok(Array.isArray(operation['x-huxiao-roles']) && operation['x-huxiao-roles'].length, `${method} ${template}: roles`);
          for (const status of ['401', '403', '429']) assert.ok(operation.responses[status], `${method} ${template}: documents ${status}`);
        }
      }
    }
  });

  it('health, readiness, metrics, the console and the WebSockets', async () => {
    await expectStatus(200, 'GET', '/healthz');
    let ready = await call('GET', '/readyz');
    for (let i = 0; i < 100 && ready.status !== 200; ++i) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await call('GET', '/readyz');
    }
    assert.equal(ready.status, 200);
    const metrics = await expectStatus(200, 'GET', '/metrics');
    assert.match(metrics.text, /huxiao_/);
    const console_ = await expectStatus(200, 'GET', '/');
    assert.match(console_.text, /<!doctype html>/i);
    // A reload of the unchanged configuration applies (and rotates nothing).
    const reloaded = await expectStatus(200, 'POST', '/api/v1/admin/reload', { token: tokens.admin });
    assert.deepEqual(reloaded.json.restart_required, []);
    await expectStatus(403, 'POST', '/api/v1/admin/reload', { token: tokens.dispatcher });
    await expectStatus(405, 'POST', '/healthz');
    await expectStatus(405, 'DELETE', '/api/v1/openapi.json');

    // A WebSocket upgrade is answered 101 on the documented paths only.
    const upgrade = (p, token) => new Promise((resolvePromise, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${env.ports.api}${p}`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, ca, servername: 'localhost' });
      ws.on('upgrade', (res) => {
        resolvePromise({ status: res.statusCode, headers: res.headers, text: '', json: undefined });
        ws.terminate();
      });
      ws.on('unexpected-response', (req, res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try { json = JSON.parse(text); } catch { json = undefined; }
          resolvePromise({ status: res.statusCode, headers: res.headers, text, json });
        });
      });
      ws.on('error', (e) => { if (!/Unexpected server response/.test(e.message)) reject(e); });
    });
    for (const [p, token] of [['/ws/unit', tokens.unit], ['/ws/console', tokens.dispatcher]]) {
      const res = check('GET', p, await upgrade(p, token));
      assert.equal(res.status, 101, p);
    }
    const nowhere = check('GET', '/ws/nowhere', await upgrade('/ws/nowhere', tokens.dispatcher));
    assert.equal(nowhere.status, 404);
    // Without the upgrade, a WebSocket path is a console path: 404.
    await expectStatus(404, 'GET', '/ws/unit');
  });

  it('incidents: lists, paging, one incident, districts, and their errors', async () => {
    const schoolDistrict = Object.fromEntries(demo.schools.map((s) => [s.id, s.district]));
    const terminalIn = (d, not) => demo.terminals.find((t) => t.enabled !== false && ((schoolDistrict[t.school] === d) !== not)).id;
    const t1 = await env.terminal(terminalIn('D-1', false));
    incidentD1 = await t1.alarm('API-1', 'fire');
    const t2 = await env.terminal(terminalIn('D-1', true));
    incidentD2 = await t2.alarm('API-2', 'medical', { drill: true });

    const all = await expectStatus(200, 'GET', '/api/v1/incidents', { token: tokens.dispatcher });
    assert.ok(all.json.items.some((i) => i.id === incidentD1));
    const page = await expectStatus(200, 'GET', '/api/v1/incidents?limit=1&status=open', { token: tokens.auditor });
    assert.equal(page.json.items.length, 1);
    assert.equal(typeof page.json.next_cursor, 'string');
    const next = await expectStatus(200, 'GET', `/api/v1/incidents?limit=1&status=open&cursor=${encodeURIComponent(page.json.next_cursor)}`, { token: tokens.auditor });
    assert.notEqual(next.json.items[0].id, page.json.items[0].id);
    const from = new Date(Date.now() - DAY).toISOString();
    await expectStatus(200, 'GET', `/api/v1/incidents?from=${from}&to=${new Date(Date.now() + DAY).toISOString()}&district=D-1&school=S-01&kind=fire&drill=false`, { token: tokens.inspector });
    const mine = await expectStatus(200, 'GET', '/api/v1/incidents', { token: tokens.education });
    assert.ok(mine.json.items.every((i) => i.district === 'D-1'));

    const one = await expectStatus(200, 'GET', `/api/v1/incidents/${incidentD1}`, { token: tokens.admin });
    assert.ok(one.json.timeline.some((e) => e.type === 'alarm_received'));
    await expectStatus(200, 'GET', `/api/v1/incidents/${incidentD2}`, { token: tokens.dispatcher });
    // Another district's incident is as unknown to an education token as a missing one.
    await expectStatus(404, 'GET', `/api/v1/incidents/${incidentD2}`, { token: tokens.education });
    await expectStatus(404, 'GET', '/api/v1/incidents/I-20000101-none', { token: tokens.dispatcher });

    await expectStatus(401, 'GET', '/api/v1/incidents');
    await expectStatus(401, 'GET', '/api/v1/incidents', { token: 'hx_not-a-token' });
    await expectStatus(403, 'GET', '/api/v1/incidents', { token: tokens.unit });
    await expectStatus(403, 'GET', `/api/v1/incidents/${incidentD1}`, { token: tokens.unit });
    for (const bad of ['limit=0', 'limit=501', 'bogus=1', 'from=yesterday', 'status=lost', 'drill=maybe', 'cursor=zzz',
      `from=${new Date().toISOString()}&to=${from}`]) {
      const res = await expectStatus(400, 'GET', `/api/v1/incidents?${bad}`, { token: tokens.dispatcher });
      assert.equal(res.json.error, 'bad_parameter');
    }
    await expectStatus(400, 'GET', `/api/v1/incidents/${incidentD1}?x=1`, { token: tokens.dispatcher });
    await expectStatus(405, 'DELETE', '/api/v1/incidents', { token: tokens.admin });
    await expectStatus(405, 'POST', `/api/v1/incidents/${incidentD1}`, { token: tokens.admin });
  });

  it('reports: response times, guard posts and school safety, JSON and CSV', async () => {
    const from = new Date(Date.now() - DAY).toISOString();
    const to = new Date(Date.now() + 60000).toISOString();
    for (const group of ['district', 'school', 'unit', 'kind']) {
      const r = await expectStatus(200, 'GET', `/api/v1/reports/response-times?from=${from}&to=${to}&group_by=${group}`, { token: tokens.auditor });
      assert.ok(r.json.groups.length >= 1, group);
    }
    await expectStatus(200, 'GET', `/api/v1/reports/response-times?from=${from}&to=${to}&group_by=school&drill=true&district=D-1`, { token: tokens.education });
    await expectStatus(200, 'GET', `/api/v1/reports/response-times?from=${from}&to=${to}&group_by=kind&school=S-01`, { token: tokens.dispatcher });
    const csv = await expectStatus(200, 'GET', `/api/v1/reports/response-times.csv?from=${from}&to=${to}&group_by=district`, { token: tokens.inspector });
    assert.match(csv.text, /^key,name,count,unreached,/);
    for (const bad of [`to=${to}&group_by=district`, `from=${from}&group_by=district`, `from=${from}&to=${to}`,
      `from=${from}&to=${to}&group_by=weather`, `from=${to}&to=${from}&group_by=kind`, `from=${from}&to=${to}&group_by=kind&drill=x`]) {
      await expectStatus(400, 'GET', `/api/v1/reports/response-times?${bad}`, { token: tokens.auditor });
    }
    await expectStatus(400, 'GET', `/api/v1/reports/response-times.csv?from=${from}`, { token: tokens.auditor });
    await expectStatus(403, 'GET', `/api/v1/reports/response-times?from=${from}&to=${to}&group_by=kind`, { token: tokens.unit });
    await expectStatus(403, 'GET', `/api/v1/reports/response-times.csv?from=${from}&to=${to}&group_by=kind`, { token: tokens.unit });

    const today = new Date().toISOString().slice(0, 10);
    const weekAgo = new Date(Date.now() - 7 * DAY).toISOString().slice(0, 10);
    const gp = await expectStatus(200, 'GET', `/api/v1/reports/guard-posts?from=${weekAgo}&to=${today}`, { token: tokens.auditor });
    assert.ok(gp.json.posts.length >= 1);
    await expectStatus(200, 'GET', `/api/v1/reports/guard-posts?from=${from}&to=${to}&school=S-01&unit=P-01&district=D-1&radius_m=300&missed_below_pct=80`, { token: tokens.education });
    const gpCsv = await expectStatus(200, 'GET', `/api/v1/reports/guard-posts.csv?from=${weekAgo}&to=${today}`, { token: tokens.dispatcher });
    assert.match(gpCsv.text, /^school,school_name,district,unit,date,/);
    for (const bad of [`from=${weekAgo}`, `from=${weekAgo}&to=${today}&radius_m=0`, `from=2026-01-01&to=2026-12-31`,
      `from=${today}&to=${weekAgo}`, `from=${weekAgo}&to=${today}&missed_below_pct=101`, `from=someday&to=${today}`]) {
      await expectStatus(400, 'GET', `/api/v1/reports/guard-posts?${bad}`, { token: tokens.admin });
    }
    await expectStatus(400, 'GET', '/api/v1/reports/guard-posts.csv', { token: tokens.admin });
    await expectStatus(403, 'GET', `/api/v1/reports/guard-posts?from=${weekAgo}&to=${today}`, { token: tokens.unit });
    await expectStatus(403, 'GET', `/api/v1/reports/guard-posts.csv?from=${weekAgo}&to=${today}`, { token: tokens.unit });
  });

  it('terminals', async () => {
    const all = await expectStatus(200, 'GET', '/api/v1/terminals', { token: tokens.dispatcher });
    assert.ok(all.json.items.length >= 1);
    const online = await expectStatus(200, 'GET', '/api/v1/terminals?status=online', { token: tokens.auditor });
    assert.ok(online.json.items.every((t) => t.online));
    await expectStatus(200, 'GET', `/api/v1/terminals?status=offline&from=${new Date(Date.now() - DAY).toISOString()}&to=${new Date().toISOString()}&district=D-1&school=S-01`, { token: tokens.education });
    await expectStatus(400, 'GET', '/api/v1/terminals?status=asleep', { token: tokens.dispatcher });
    await expectStatus(400, 'GET', `/api/v1/terminals?from=${new Date().toISOString()}&to=${new Date(Date.now() - DAY).toISOString()}`, { token: tokens.dispatcher });
    await expectStatus(403, 'GET', '/api/v1/terminals', { token: tokens.unit });
  });

  it('inspections and hazards: record, read, rectify, verify, and their errors', async () => {
    const now = Date.now();
    const body = {
      school: 'S-01', at: new Date(now - DAY).toISOString(), kind: 'routine', inspectors: ['Wang Fang'],
      items: [{ code: 'guards_staffed', result: 'pass' }, { code: 'gate_closed_management', result: 'fail', note: 'open at noon' }],
      hazards: [
        { category: 'management', description: 'gate left open', deadline: new Date(now + 7 * DAY).toISOString(), responsible: 'S-01 office' },
        { category: 'physical', description: 'barrier missing', deadline: new Date(now + 3 * DAY).toISOString(), responsible: 'S-01 office' },
      ],
    };
    const recorded = await expectStatus(201, 'POST', '/api/v1/inspections', { token: tokens.inspector, body });
    assert.equal(recorded.json.hazards.length, 2);
    hazards = recorded.json.hazards.map((h) => h.id);
    await expectStatus(200, 'GET', '/api/v1/inspections', { token: tokens.auditor });
    await expectStatus(200, 'GET', `/api/v1/inspections?school=S-01&district=D-1&from=${new Date(now - 2 * DAY).toISOString()}&to=${new Date(now).toISOString()}&limit=5`, { token: tokens.education });
    await expectStatus(200, 'GET', `/api/v1/inspections/${recorded.json.id}`, { token: tokens.dispatcher });
    await expectStatus(404, 'GET', '/api/v1/inspections/IN-0', { token: tokens.inspector });
    await expectStatus(400, 'GET', '/api/v1/inspections?limit=0', { token: tokens.inspector });
    await expectStatus(403, 'GET', '/api/v1/inspections', { token: tokens.unit });
    await expectStatus(403, 'GET', `/api/v1/inspections/${recorded.json.id}`, { token: tokens.unit });
    await expectStatus(403, 'POST', '/api/v1/inspections', { token: tokens.auditor, body });
    for (const bad of [{ ...body, kind: 'casual' }, { ...body, extra: 1 }, { ...body, school: 'S-nowhere' }, { ...body, inspectors: [] }, '{not json', [1, 2]]) {
      const res = await expectStatus(400, 'POST', '/api/v1/inspections', { token: tokens.inspector, body: bad });
      assert.equal(res.json.error, 'bad_parameter');
    }
    // Over the inspections' own limit of 256 KiB (the 1 MiB of any request is tested with the registry).
    await expectStatus(413, 'POST', '/api/v1/inspections', { token: tokens.inspector, body: { ...body, pad: 'x'.repeat(300 * 1024) } });

    await expectStatus(200, 'GET', '/api/v1/hazards', { token: tokens.dispatcher });
    await expectStatus(200, 'GET', '/api/v1/hazards?status=open&school=S-01&district=D-1&limit=10', { token: tokens.education });
    await expectStatus(200, 'GET', '/api/v1/hazards?status=overdue', { token: tokens.auditor });
    await expectStatus(200, 'GET', `/api/v1/hazards/${hazards[0]}`, { token: tokens.inspector });
    await expectStatus(404, 'GET', '/api/v1/hazards/H-0', { token: tokens.inspector });
    await expectStatus(400, 'GET', '/api/v1/hazards?status=gone', { token: tokens.inspector });
    await expectStatus(403, 'GET', '/api/v1/hazards', { token: tokens.unit });
    await expectStatus(403, 'GET', `/api/v1/hazards/${hazards[0]}`, { token: tokens.admin });

    const rectify = (id, token, b = { note: 'gate locked at noon now' }) => call('POST', `/api/v1/hazards/${id}/rectify`, { token, body: b });
    const verify = (id, token, b) => call('POST', `/api/v1/hazards/${id}/verify`, { token, body: b });
    assert.equal((await rectify(hazards[0], tokens.education)).json.status, 'rectified');
    assert.equal((await rectify(hazards[0], tokens.education)).status, 400);  // already rectified
    assert.equal((await verify(hazards[0], tokens.education, { accepted: true })).status, 403);
    const rejected = await verify(hazards[0], tokens.inspector, { accepted: false, note: 'still open', deadline: new Date(now + 14 * DAY).toISOString() });
    assert.equal(rejected.status, 200);
    assert.equal(rejected.json.status, 'open');
    assert.equal((await rectify(hazards[0], tokens.inspector)).status, 200);
    const accepted = await verify(hazards[0], tokens.inspector, { accepted: true, note: 'seen locked' });
    assert.equal(accepted.status, 200);
    assert.equal(accepted.json.status, 'verified');
    assert.equal((await verify(hazards[1], tokens.inspector, { accepted: true })).status, 400);  // never rectified
    assert.equal((await rectify(hazards[1], tokens.education, { note: '  ' })).status, 400);
    assert.equal((await rectify(hazards[1], tokens.education, { note: 'done', when: 'today' })).status, 400);
    assert.equal((await verify(hazards[1], tokens.inspector, { note: 'no decision' })).status, 400);
    assert.equal((await rectify('H-0', tokens.education)).status, 404);
    assert.equal((await rectify(hazards[1], tokens.auditor)).status, 403);
    assert.equal((await verify(hazards[1], tokens.unit, { accepted: true })).status, 403);
    assert.equal((await call('POST', `/api/v1/hazards/${hazards[1]}/reopen`, { token: tokens.inspector, body: {} })).status, 404);
    assert.equal((await rectify(hazards[1], tokens.education, { note: 'x'.repeat(300 * 1024) })).status, 413);
    assert.equal((await verify(hazards[1], tokens.inspector, { accepted: true, pad: 'x'.repeat(300 * 1024) })).status, 413);

    const safety = await expectStatus(200, 'GET', '/api/v1/reports/school-safety', { token: tokens.inspector });
    assert.ok(safety.json.schools.some((s) => s.school === 'S-01' && s.last_inspection));
    await expectStatus(200, 'GET', `/api/v1/reports/school-safety?district=D-1&school=S-01&as_of=${new Date(now - 1000).toISOString()}`, { token: tokens.education });
    const safetyCsv = await expectStatus(200, 'GET', '/api/v1/reports/school-safety.csv?district=D-2', { token: tokens.auditor });
    assert.match(safetyCsv.text, /^school,school_name,district,status,/);
    await expectStatus(400, 'GET', `/api/v1/reports/school-safety?as_of=${new Date(now + DAY).toISOString()}`, { token: tokens.inspector });
    await expectStatus(400, 'GET', '/api/v1/reports/school-safety.csv?zone=1', { token: tokens.inspector });
    await expectStatus(403, 'GET', '/api/v1/reports/school-safety', { token: tokens.dispatcher });
    await expectStatus(403, 'GET', '/api/v1/reports/school-safety.csv', { token: tokens.dispatcher });
  });

  it('the registry: list, create, replace and delete each kind, and the errors', async () => {
    const a = tokens.admin;
    const records = [
      ['schools', { id: 'S-API', name: 'API Primary', district: 'D-1', lat: 30.59, lon: 114.3 }, 'S-API',
        { name: 'API Primary School', district: 'D-1', lat: 30.591, lon: 114.301 }],
      ['units', { id: 'P-API', callsign: 'Patrol API', district: 'D-1', lat: 30.58, lon: 114.29 }, 'P-API',
        { callsign: 'Patrol API 2', district: 'D-1', lat: 30.58, lon: 114.29 }],
      ['terminals', [{ id: 'T-API', school: 'S-API', enabled: true }], 'T-API', { school: 'S-API', enabled: false }],
      ['guard-posts', { school: 'S-API', unit: 'P-API', days: 'mon-fri', windows: ['07:00-08:30'], tz: 'Asia/Shanghai' }, 'S-API/P-API',
        { days: 'daily', windows: ['07:00-08:00', '16:30-17:30'] }],
    ];
    for (const [kind, created, id, replaced] of records) {
      const before_ = await expectStatus(200, 'GET', `/api/v1/${kind}`, { token: tokens.dispatcher });
      assert.ok(before_.json.items.length >= 1, kind);
      await expectStatus(200, 'POST', `/api/v1/${kind}`, { token: a, body: created });
      await expectStatus(200, 'PUT', `/api/v1/${kind}/${id}`, { token: a, body: replaced });
      const after_ = await expectStatus(200, 'GET', `/api/v1/${kind}`, { token: a });
      assert.equal(after_.json.items.length, before_.json.items.length + 1, kind);
      await expectStatus(403, 'POST', `/api/v1/${kind}`, { token: tokens.dispatcher, body: created });
      await expectStatus(403, 'PUT', `/api/v1/${kind}/${id}`, { token: tokens.dispatcher, body: replaced });
      await expectStatus(403, 'DELETE', `/api/v1/${kind}/${id}`, { token: tokens.dispatcher });
      // (GET /api/v1/terminals is the terminals' status list, which auditors read.)
      if (kind !== 'terminals') await expectStatus(403, 'GET', `/api/v1/${kind}`, { token: tokens.auditor });
      await expectStatus(400, 'GET', `/api/v1/${kind}?page=2`, { token: a });
      const bad = await expectStatus(400, 'POST', `/api/v1/${kind}`, { token: a, body: { ...(Array.isArray(created) ? created[0] : created), colour: 'red' } });
      assert.equal(bad.json.error, 'bad_record');
      await expectStatus(400, 'POST', `/api/v1/${kind}`, { token: a, body: '"text"' });
      await expectStatus(400, 'PUT', `/api/v1/${kind}/${id}`, { token: a, body: [replaced] });
    }
    await expectStatus(400, 'PUT', '/api/v1/schools/S-API', { token: a, body: { id: 'S-OTHER', name: 'x', district: 'D-1', lat: 1, lon: 1 } });
    await expectStatus(400, 'PUT', '/api/v1/guard-posts/S-API', { token: a, body: { days: 'daily', windows: ['07:00-08:00'] } });
    await expectStatus(400, 'DELETE', '/api/v1/guard-posts/S-API', { token: a });
    await expectStatus(400, 'POST', '/api/v1/guard-posts', { token: a, body: { school: 'S-API', unit: 'P-API', days: 'daily', windows: ['07:00-08:00'], tz: 'Mars/Olympus' } });
    // Still referenced: a conflict, not a crash.
    await expectStatus(409, 'DELETE', '/api/v1/schools/S-API', { token: a });
    // An id another record holds (a DC-09 account in use) is a conflict too.
    await expectStatus(200, 'POST', '/api/v1/terminals', { token: a, body: { id: 'T-API2', school: 'S-API', dc09: { account: 'A1B2', receiver: 'R1', line: 'L1' } } });
    await expectStatus(409, 'POST', '/api/v1/terminals', { token: a, body: { id: 'T-API3', school: 'S-API', dc09: { account: 'A1B2', receiver: 'R1', line: 'L1' } } });
    await expectStatus(200, 'DELETE', '/api/v1/terminals/T-API2', { token: a });
    for (const [kind, , id] of [...records].reverse()) {
      await expectStatus(200, 'DELETE', `/api/v1/${kind}/${id}`, { token: a });
      await expectStatus(404, 'DELETE', `/api/v1/${kind}/${id}`, { token: a });
    }
    // Any request body over 1 MiB is refused before anything else.
    const big = await call('POST', '/api/v1/schools', { token: a, body: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    assert.equal(big.status, 413);
    await expectStatus(405, 'PATCH', '/api/v1/schools/S-01', { token: a, body: {} });
  });

  it('tokens: list, create, revoke, and the errors', async () => {
    const a = tokens.admin;
    const list = await expectStatus(200, 'GET', '/api/v1/tokens', { token: a });
    assert.ok(list.json.items.some((t) => t.name === 'api-bureau' && t.districts.includes('D-1')));
    const created = await expectStatus(201, 'POST', '/api/v1/tokens', { token: a, body: { name: 'api made', role: 'education', districts: ['D-2'] } });
    await expectStatus(200, 'GET', '/api/v1/incidents', { token: created.json.token });
    await expectStatus(409, 'POST', '/api/v1/tokens', { token: a, body: { name: 'api made', role: 'auditor' } });
    for (const bad of [{ name: 'x', role: 'janitor' }, { role: 'auditor' }, { name: 'x', role: 'unit' }, { name: 'x', role: 'education' },
      { name: 'x', role: 'education', districts: ['D-404'] }, { name: '', role: 'auditor' }, { name: 'a/b', role: 'auditor' }, '[]']) {
      await expectStatus(400, 'POST', '/api/v1/tokens', { token: a, body: bad });
    }
    await expectStatus(403, 'GET', '/api/v1/tokens', { token: tokens.dispatcher });
    await expectStatus(403, 'POST', '/api/v1/tokens', { token: tokens.dispatcher, body: { name: 'y', role: 'auditor' } });
    await expectStatus(403, 'DELETE', '/api/v1/tokens/api%20made', { token: tokens.dispatcher });
    await expectStatus(200, 'DELETE', '/api/v1/tokens/api%20made', { token: a });
    await expectStatus(401, 'GET', '/api/v1/incidents', { token: created.json.token });
    await expectStatus(404, 'DELETE', '/api/v1/tokens/api%20made', { token: a });
    await expectStatus(400, 'DELETE', '/api/v1/tokens/bad%zz', { token: a });
  });

  it('more than 20 requests per second for one token: 429 with Retry-After', async () => {
    const token = await env.token('dispatcher', 'api-burst');
    // A few kept-alive connections, so that the requests come faster than the bucket refills.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
    const answers = await Promise.all(Array.from({ length: 120 }, () => call('GET', '/api/v1/incidents?limit=0', { token, noRetry: true, agent })));
    agent.destroy();
    const limited = answers.filter((r) => r.status === 429);
    assert.ok(limited.length > 0, `no 429 among ${answers.map((r) => r.status).join(' ')}`);
    assert.equal(limited[0].headers['retry-after'], '1');
    assert.ok(answers.every((r) => r.status === 400 || r.status === 429));
  });

  it('methods and paths the document does not have never succeed', async () => {
    for (const [template, item] of Object.entries(doc.paths)) {
      const p = template.replace(/\{[^}]+\}/g, 'x');
      for (const method of METHODS.filter((m) => !item[m])) {
        const res = await call(method.toUpperCase(), p, { body: method === 'get' ? undefined : {} });
        assert.ok(res.status >= 400, `${method} ${p}`);
      }
    }
    for (const p of ['/api', '/api/v1', '/api/v1/', '/api/v1/nothing', '/api/v2/incidents', '/api/v1/incident', '/api/v1/reports',
      '/api/v1/reports/', '/api/v1/districts', '/api/v1/openapi.yaml', '/api/openapi.json', '/api/v1/reports/response-times.xlsx']) {
      for (const method of ['GET', 'POST']) {
        const res = await call(method, p, { token: tokens.admin, body: method === 'GET' ? undefined : {} });
        assert.ok(res.status >= 400, `${method} ${p}`);
      }
    }
  });

  it('every documented operation was answered with success', () => {
    const missing = [];
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        if (!succeeded.has(item[method].operationId)) missing.push(`${method.toUpperCase()} ${template} (${item[method].operationId})`);
      }
    }
    assert.deepEqual(missing, [], 'operations never called with success');
    const summary = [...statuses].map(([id, s]) => `${id}: ${[...s].sort().join(' ')}`).join('\n  ');
    console.log(`statuses seen per operation:\n  ${summary}`);
  });
});
