// Browser tests of the dispatch console (issue 4): the real huxiaod on a fresh
// database with the demo city, Debian's Chromium driven by playwright-core.
//
//   cd tests/web && npm ci && npm test        (tools/test.sh does this)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { Environment, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './harness.mjs';

const DISPATCHER = 'web-dispatcher';
const VIEWPORT = { width: 1600, height: 940 };

const env = new Environment();
let browser;
let context;
let page;
let tokens;
const pageErrors = [];

const row = (id) => page.locator(`tr[data-incident="${id}"]`);
const testid = (id, root = page) => root.locator(`[data-testid="${id}"]`);

// Polls fn (which may throw) until it returns a truthy value.
async function eventually(fn, { timeout = 10000, what = 'condition' } = {}) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = new Error(`${what}: got ${JSON.stringify(v)}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${last && last.message}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function signIn(p, token) {
  await p.goto(env.baseUrl);
  await p.locator('[data-testid="signin-token"]').fill(token);
  await p.locator('[data-testid="signin-submit"]').click();
}

async function newPage() {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
  return { ctx, p };
}

describe('web console', { timeout: 180000 }, () => {
  let terminal;
  let unit;
  let incident;

  before(async () => {
    try {
      // Offers outlive slow steps; everything else keeps the contract defaults.
      await env.setup({ configExtra: { dispatch: { offer_timeout_s: 90 } } });
      tokens = {
        dispatcher: await env.token('dispatcher', DISPATCHER),
        auditor: await env.token('auditor', 'web-auditor'),
        unit: await env.token('unit', 'web-unit-p01', 'P-01'),
      };
      await env.startServer();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      env.cleanups.push(() => browser.close());
      ({ ctx: context, p: page } = await newPage());
    } catch (e) {
      await env.cleanup();
      throw e;
    }
  });

  after(async () => {
    if (page && !page.isClosed()) {
      await page.screenshot({ path: path.join(ARTIFACTS, 'last.png') }).catch(() => {});
    }
    await env.cleanup();
  });

  it('refuses a wrong token at sign-in', async () => {
    await signIn(page, 'not-a-real-token');
    const error = testid('signin-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.textContent(), /refused/i);
    assert.equal(await page.locator('#app').isVisible(), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('huxiao.token')), null);
  });

  it('signs a dispatcher in and shows the city', async () => {
    await page.locator('[data-testid="signin-token"]').fill(tokens.dispatcher);
    await page.locator('[data-testid="signin-submit"]').click();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await page.locator('#app').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('huxiao.token')), tokens.dispatcher);
    await eventually(async () => (await testid('unit-row').count()) === 12, { what: '12 units in the list' });
    await eventually(async () => (await page.locator('[data-testid="map"] rect.school').count()) === 30,
      { what: '30 schools on the map' });
    await eventually(async () => (await testid('who').textContent()) === 'dispatcher', { what: 'the role' });
    await testid('board-empty').waitFor({ state: 'visible' });
    // Offline units (none connected yet) are drawn, in their status colour.
    assert.equal(await page.locator('[data-testid="map-unit-P-01"]').getAttribute('data-status'), 'offline');
  });

  it('shows an alarm from a terminal on the board at once, with an alert', async () => {
    terminal = await env.terminal('T-0001');
    incident = await terminal.alarm('A-1', 'intrusion', { note: 'gate 2' });
    assert.ok(incident, 'the terminal got an ack with an incident id');

    const r = row(incident);
    await r.waitFor({ timeout: 5000 });
    assert.match(await r.locator('[data-testid="school"]').textContent(), /Jianghan No\.1 Primary/);
    assert.match(await r.locator('[data-testid="kind"]').textContent(), /Intrusion/);
    assert.equal(await r.getAttribute('data-drill'), 'false');
    await eventually(async () => ['received', 'no_unit_available'].includes(await r.getAttribute('data-state')),
      { what: 'state received or no_unit_available (no unit is connected)' });
    await r.locator('[data-testid="ack-button"]').waitFor();

    const banner = testid('alert-banner');
    await banner.waitFor({ state: 'visible' });
    assert.match(await banner.textContent(), /Jianghan No\.1 Primary/);
    await page.locator('[data-testid="map-alarm-S-01"]').waitFor();

    // The seconds since the alarm tick.
    const since = r.locator('[data-testid="since"]');
    const first = Number(await since.getAttribute('data-seconds'));
    await eventually(async () => Number(await since.getAttribute('data-seconds')) >= first + 2,
      { what: 'the clock since the alarm to tick', timeout: 5000 });
  });

  it('sees a unit connect and report its position; the unit declines the automatic offer', async () => {
    unit = await env.unit(tokens.unit);
    unit.send({ type: 'position', lat: 30.5905, lon: 114.2915, at: new Date().toISOString() });
    // The waiting incident is offered to the only connected unit at once.
    const offer = await unit.inbox.waitFor((m) => m.type === 'offer' && m.incident === incident);
    assert.equal(offer.school.id, 'S-01');
    await eventually(async () => /P-01/.test(await row(incident).locator('[data-testid="units"]').textContent()),
      { what: 'the offer to P-01 on the board' });
    unit.send({ type: 'decline', incident, reason: 'stuck in traffic' });
    await eventually(async () =>
      (await page.locator('tr[data-unit="P-01"]').getAttribute('data-status')) === 'available',
    { what: 'P-01 available again in the unit list' });
    // Its reported position is drawn (the snapshot refresh carries positions).
    await page.locator('[data-testid="map-unit-P-01"][data-status="available"]').waitFor();
  });

  it('assigns the unit from the incident detail; the timeline shows the offer', async () => {
    await row(incident).click();
    await eventually(async () => /Intrusion/.test(await testid('detail-title').textContent()), { what: 'the detail' });
    const timeline = testid('timeline');
    await timeline.locator('[data-type="alarm_received"]').waitFor();
    await timeline.locator('[data-type="offer_declined"]').first().waitFor();

    const select = testid('assign-unit');
    await page.locator('[data-testid="assign-unit"] option[value="P-01"]:not([disabled])').waitFor({ state: 'attached' });
    await select.selectOption('P-01');
    await testid('action-assign').click();
    await page.locator('[data-testid="toast-ok"]', { hasText: 'Offer sent to P-01' }).waitFor();

    const offer = await unit.inbox.waitFor((m) => m.type === 'offer' && m.incident === incident);
    assert.equal(offer.school.id, 'S-01');
    const directed = timeline.locator('[data-type="offer_sent"]', { hasText: `by ${DISPATCHER}` });
    await directed.waitFor();
    assert.match(await directed.textContent(), /directed by dispatcher/);
    assert.match(await directed.textContent(), /P-01/);

    unit.send({ type: 'accept', incident });
    const r = row(incident);
    await eventually(async () => (await r.getAttribute('data-state')) === 'accepted', { what: 'state accepted' });
    await r.locator('.chip-unit', { hasText: 'P-01' }).waitFor();
    await timeline.locator('[data-type="unit_accepted"]').waitFor();
    await page.locator('[data-testid="map"] line.link-assigned[data-testid="link-P-01"]').waitFor({ state: 'attached' });
  });

  it('acknowledges and adds a note from the console', async () => {
    const r = row(incident);
    await r.locator('[data-testid="ack-button"]').click();
    await r.locator('[data-testid="acked"]').waitFor();
    await testid('alert-banner').waitFor({ state: 'hidden' });
    await testid('note-text').fill('Caretaker reports the gate was forced');
    await testid('action-note').click();
    const timeline = testid('timeline');
    await timeline.locator('[data-type="console_acknowledged"]', { hasText: `by ${DISPATCHER}` }).waitFor();
    await timeline.locator('[data-type="note"]', { hasText: 'gate was forced' }).waitFor();
  });

  it('marks drills plainly and keeps the board readable (screenshot)', async () => {
    const drillTerminal = await env.terminal('T-0009');
    const drill = await drillTerminal.alarm('D-1', 'medical', { drill: true });
    const other = await env.terminal('T-0017');
    const fire = await other.alarm('F-1', 'fire');
    const d = row(drill);
    await d.waitFor();
    assert.equal(await d.getAttribute('data-drill'), 'true');
    assert.match(await d.locator('[data-testid="drill-badge"]').textContent(), /DRILL/);
    await row(fire).waitFor();
    await testid('alert-banner').waitFor({ state: 'visible' });
    assert.match(await testid('alert-banner').textContent(), /Fire/);

    // P-01 drives to the school: the geofence marks it on scene.
    unit.send({ type: 'en_route', incident });
    unit.send({ type: 'position', lat: 30.5813, lon: 114.2858, at: new Date().toISOString() });
    await eventually(async () => (await row(incident).getAttribute('data-state')) === 'on_scene',
      { what: 'state on_scene after the geofence' });
    await testid('timeline').locator('[data-type="unit_arrived"]').waitFor();
    await page.waitForTimeout(1200);  // let the map take the snapshot with the new position
    await page.screenshot({ path: path.join(ARTIFACTS, 'board.png') });
  });

  it('resolves the incident from the console', async () => {
    await testid('resolve-note').fill('Intruder left before arrival; gate secured');
    await testid('action-resolve').click();
    await testid('action-resolve').click();  // confirm
    const closed = await unit.inbox.waitFor((m) => m.type === 'incident_closed' && m.incident === incident);
    assert.equal(closed.incident, incident);
    const r = row(incident);
    await eventually(async () => (await r.getAttribute('data-state')) === 'resolved', { what: 'state resolved' });
    assert.match(await r.getAttribute('class'), /\bclosed\b/);
    await testid('timeline').locator('[data-type="resolved"]', { hasText: 'gate secured' }).waitFor();
    await testid('actions').waitFor({ state: 'hidden' });
  });

  it('shows read-only roles no action buttons', async () => {
    const { ctx, p } = await newPage();
    try {
      await signIn(p, tokens.auditor);
      await p.locator('[data-testid="connection"][data-state="live"]').waitFor();
      await eventually(async () => /^(auditor|read-only)$/.test(await p.locator('[data-testid="who"]').textContent()),
        { what: 'the read-only role' });
      // Auditors land on Reports; the dispatch view is a tab away.
      await p.locator('[data-testid="reports"]').waitFor();
      await p.locator('a.nav-tab[href="#/console"]').click();
      const rows = p.locator('[data-testid="incident-row"]');
      await eventually(async () => (await rows.count()) >= 2, { what: 'the open incidents' });
      assert.equal(await p.locator('[data-testid="ack-button"]').count(), 0);
      await rows.first().click();
      await p.locator('[data-testid="readonly-note"]').waitFor();
      assert.equal(await p.locator('[data-testid="action-assign"]').count(), 0);
      assert.equal(await p.locator('[data-testid="alert-ack"]').count(), 0);
    } finally {
      await ctx.close();
    }
  });

  it('reconnects by itself when the server restarts', async () => {
    // Same ports again, so the page's URL stays valid.
    const cfg = JSON.parse(await readFile(env.config, 'utf8'));
    cfg.terminal_listener.port = env.ports.terminal;
    cfg.api_listener.port = env.ports.api;
    await writeFile(env.config, JSON.stringify(cfg, null, 2));
    await env.stopServer();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor({ timeout: 10000 });
    await env.startServer();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: 30000 });
    // The open incidents are back from the restored server.
    await eventually(async () => (await page.locator('tr[data-incident][data-drill="true"]').count()) === 1,
      { what: 'the drill incident after the restart' });
  });

  it('raised no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
