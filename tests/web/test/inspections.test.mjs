// Browser tests of the Inspections view (issue 14): an inspector records an
// inspection with a hazard from the web console of the demo city, the
// school's education office reports the rectification, the inspector
// verifies it, overdue hazards are listed oldest first, schools are coloured
// by status on the map, and an auditor downloads the school-safety CSV.
// Same harness as the other browser tests: a real huxiaod on a fresh database.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { Environment, ARTIFACTS, CERTS, CHROMIUM, CHROMIUM_ARGS } from './harness.mjs';

const VIEWPORT = { width: 1600, height: 1400 };
const DAY = 86400000;

const env = new Environment();
let browser;
let tokens;
const pageErrors = [];

// A JSON request to the API with the test's token (to prepare data).
async function api(method, target, token, body) {
  const ca = await readFile(path.join(CERTS, 'server-ca.crt'));
  const url = new URL(target, env.baseUrl);
  return new Promise((resolve, reject) => {
    const req = https.request({ method, host: url.hostname, port: url.port, path: url.pathname + url.search, ca,
      servername: 'localhost', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

async function newPage() {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT, acceptDownloads: true });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
  return { ctx, p };
}

async function signIn(p, token) {
  await p.goto(env.baseUrl);
  await p.locator('[data-testid="signin-token"]').fill(token);
  await p.locator('[data-testid="signin-submit"]').click();
  await p.locator('#app').waitFor({ state: 'visible' });
}

describe('inspections', { timeout: 180000 }, () => {
  let page;
  let context;
  let overdue;  // hazard ids, oldest deadline first

  before(async () => {
    try {
      await env.setup();
      tokens = {
        inspector: await env.token('inspector', 'web-inspector'),
        auditor: await env.token('auditor', 'web-auditor'),
        education: await env.huxiaod(['token', 'create', '--config', env.config, '--role', 'education',
          '--name', 'web-bureau', '--districts', 'D-1']),
      };
      await env.startServer();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      env.cleanups.push(() => browser.close());
      // Two overdue hazards at S-02 (D-1) from an inspection three weeks ago.
      const now = Date.now();
      const r = await api('POST', '/api/v1/inspections', tokens.inspector, {
        school: 'S-02', at: new Date(now - 21 * DAY).toISOString(), kind: 'spot_check', inspectors: ['Li Na'],
        items: [{ code: 'gate_closed_management', result: 'fail' }],
        hazards: [
          { category: 'management', description: 'gate left open at noon', deadline: new Date(now - 2 * DAY).toISOString(), responsible: 'S-02 office' },
          { category: 'people', description: 'one guard short', deadline: new Date(now - 7 * DAY).toISOString(), responsible: 'S-02 office' },
        ],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      overdue = [r.body.hazards[1].id, r.body.hazards[0].id];
      ({ ctx: context, p: page } = await newPage());
    } catch (e) {
      await env.cleanup();
      throw e;
    }
  });

  after(async () => {
    if (page && !page.isClosed()) {
      await page.screenshot({ path: path.join(ARTIFACTS, 'inspections-last.png'), fullPage: true }).catch(() => {});
    }
    await env.cleanup();
  });

  it('lands an inspector on Inspections: schools by status, overdue hazards oldest first', async () => {
    await signIn(page, tokens.inspector);
    await page.locator('[data-testid="inspections"][data-loaded]').waitFor();
    await page.locator('a.nav-tab.active[href="#/inspections"]').waitFor();
    // Every demo school on the map; S-02 red (overdue hazards, failed gate).
    assert.equal(await page.locator('[data-testid="school-dot"]').count(), 30);
    assert.equal(await page.locator('[data-testid="school-dot"][data-school="S-02"]').getAttribute('data-status'), 'red');
    const ids = await page.locator('[data-testid="overdue-table"] [data-testid="hazard-row"]').evaluateAll((rows) =>
      rows.map((r) => r.dataset.hazard));
    assert.deepEqual(ids, overdue);
    assert.equal(await page.locator('[data-testid="safety-row"]').count(), 30);
    assert.equal(await page.locator('[data-testid="safety-row"]').first().getAttribute('data-status'), 'red');
    await page.screenshot({ path: path.join(ARTIFACTS, 'inspections.png'), fullPage: true });
  });

  it('records an inspection with a hazard from the form', async () => {
    await page.locator('[data-testid="new-inspection"]').click();
    await page.locator('[data-testid="form-school"]').selectOption('S-01');
    await page.locator('[data-testid="form-inspectors"]').fill('Wang Li, Zhao Min');
    await page.locator('[data-testid="form-item-guards_staffed"]').selectOption('pass');
    await page.locator('[data-testid="form-item-anti_ram_barriers"]').selectOption('fail');
    await page.locator('[data-testid="form-note-anti_ram_barriers"]').fill('no bollards at the east gate');
    await page.locator('[data-testid="form-add-hazard"]').click();
    await page.locator('[data-testid="form-hazard-category"]').selectOption('physical');
    await page.locator('[data-testid="form-hazard-description"]').fill('install bollards at the east gate');
    await page.locator('[data-testid="form-hazard-responsible"]').fill('Principal Chen');
    await page.screenshot({ path: path.join(ARTIFACTS, 'inspection-form.png'), fullPage: true });
    await page.locator('[data-testid="form-submit"]').click();

    // The school page opens with the new hazard, the checklist and the facts.
    await page.locator('[data-testid="school-page"]:not([hidden])').waitFor();
    await page.locator('[data-testid="school-hazards"] [data-testid="hazard-row"][data-status="open"]').waitFor();
    assert.match(await page.locator('[data-testid="school-hazards"]').textContent(), /install bollards at the east gate/);
    await page.locator('[data-testid="school-inspection"]').first().waitFor();
    await page.locator('[data-testid="school-terminals"] table').waitFor();
    await page.locator('[data-testid="school-drills"]').waitFor();
    await page.locator('[data-testid="checklist-row"][data-code="anti_ram_barriers"][data-result="fail"]').waitFor();
    const linked = page.locator('[data-testid="checklist-row"][data-code="alarm_linked"]');
    assert.ok(['pass', 'fail'].includes(await linked.getAttribute('data-auto')), 'the live value is shown');
    await page.screenshot({ path: path.join(ARTIFACTS, 'school-page.png'), fullPage: true });
    const stored = await api('GET', '/api/v1/inspections?school=S-01', tokens.auditor);
    assert.equal(stored.body.items.length, 1);
    assert.deepEqual(stored.body.items[0].inspectors, ['Wang Li', 'Zhao Min']);
    assert.equal(stored.body.items[0].hazards[0].responsible, 'Principal Chen');
  });

  it('shows the field the server refused', async () => {
    await page.locator('[data-testid="school-back"]').click();
    await page.locator('[data-testid="new-inspection"]').click();
    await page.locator('[data-testid="form-inspectors"]').fill('Wang Li');
    await page.locator('[data-testid="form-add-hazard"]').click();
    await page.locator('[data-testid="form-hazard-description"]').fill('late deadline');
    await page.locator('[data-testid="form-hazard-responsible"]').fill('x');
    await page.locator('[data-testid="form-hazard-deadline"]').fill('2020-01-01');
    await page.locator('[data-testid="form-submit"]').click();
    const error = page.locator('[data-testid="form-error"]:not([hidden])');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-field'), 'hazards[0].deadline');
  });

  it('lets the education office report the rectification and the inspector verify it', async () => {
    const hazard = (await api('GET', '/api/v1/hazards?school=S-01', tokens.auditor)).body.items[0].id;
    const { ctx, p } = await newPage();
    try {
      await signIn(p, tokens.education);
      await p.locator('a.nav-tab[href="#/inspections"]').click();
      await p.locator('[data-testid="inspections"][data-loaded]').waitFor();
      // Its district only: D-1 has 8 demo schools.
      const schools = await p.locator('[data-testid="school-dot"]').evaluateAll((d) => d.map((x) => x.dataset.school));
      assert.ok(schools.length > 0 && schools.length < 30, `D-1 only: ${schools}`);
      assert.equal(await p.locator('[data-testid="new-inspection"]').count(), 0, 'no form for education');
      await p.locator('[data-testid="safety-row"][data-school="S-01"] a').click();
      await p.locator(`[data-testid="school-hazards"] [data-hazard="${hazard}"] [data-testid="rectify"]`).click();
      await p.locator('[data-testid="ask-note"]').fill('bollards installed on 3 December');
      await p.locator('[data-testid="ask-ok"]').click();
      await p.locator(`[data-testid="school-hazards"] [data-hazard="${hazard}"][data-status="rectified"]`).waitFor();
      assert.equal(await p.locator(`[data-hazard="${hazard}"] [data-testid="verify"]`).count(), 0, 'education does not verify');
    } finally {
      await ctx.close();
    }

    await page.locator('[data-testid="insp-refresh"]').click();
    const row = page.locator(`[data-testid="awaiting-table"] [data-hazard="${hazard}"]`);
    await row.waitFor();
    await row.locator('[data-testid="verify"]').click();
    await page.locator('[data-testid="ask-accepted"]').selectOption('true');
    await page.locator('[data-testid="ask-note"]').fill('checked on site');
    await page.locator('[data-testid="ask-ok"]').click();
    await page.locator(`[data-testid="awaiting-table-empty"]`).waitFor();
    const after = (await api('GET', `/api/v1/hazards/${hazard}`, tokens.auditor)).body;
    assert.equal(after.status, 'verified');
    assert.deepEqual(after.history.map((e) => e.type), ['created', 'rectified', 'verification_accepted']);
    assert.equal(after.history[1].actor, 'web-bureau');
  });

  it('lets an auditor download the school-safety CSV', async () => {
    const { ctx, p } = await newPage();
    try {
      await signIn(p, tokens.auditor);
      await p.locator('a.nav-tab[href="#/inspections"]').click();
      await p.locator('[data-testid="inspections"][data-loaded]').waitFor();
      const [download] = await Promise.all([
        p.waitForEvent('download'),
        p.locator('[data-testid="safety-csv"]').click(),
      ]);
      const text = await readFile(await download.path(), 'utf8');
      const [header, ...lines] = text.trim().split(/\r?\n/);
      assert.match(header, /^school,school_name,district,status,/);
      assert.equal(lines.length, 30);
      assert.ok(lines.some((l) => l.startsWith('S-02,') && l.includes(',red,')), text);
    } finally {
      await ctx.close();
    }
  });

  it('raised no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
