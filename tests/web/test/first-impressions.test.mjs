// Browser tests of issue 15 (first impressions): the alarm banner never shows
// a missing field as "null", cleared units are shown apart from the units
// still on an incident, and each role's first screen makes sense for it —
// dispatcher, auditor, education (one district), admin and inspector. Same harness as
// the console tests: a real huxiaod on a fresh database with the demo city.
// Screenshots of each role's first screen go to artifacts/first-<role>.png.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Environment, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './harness.mjs';

const VIEWPORT = { width: 1600, height: 940 };
// The demo city's school S-01 (Jianghan No.1 Primary, D-1).
const S01 = { lat: 30.5813, lon: 114.2858 };

const env = new Environment();
let browser;
let tokens;
const pageErrors = [];

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

async function newPage() {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORT });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
  return { ctx, p };
}

async function signIn(p, token) {
  await p.goto(env.baseUrl);
  await p.locator('[data-testid="signin-token"]').fill(token);
  await p.locator('[data-testid="signin-submit"]').click();
  await p.locator('[data-testid="connection"][data-state="live"]').waitFor();
}

// Words a page must never show where a value was missing.
async function assertNoMissingValues(p, where) {
  const text = await p.locator('#app').innerText();
  const bad = text.match(/.{0,40}\b(null|undefined|NaN|\[object Object\])\b.{0,20}/);
  assert.equal(bad, null, `${where} shows a missing value: "${bad && bad[0]}"`);
}

describe('first impressions (issue 15)', { timeout: 240000 }, () => {
  let dispatcher;  // {ctx, p}
  let assault;     // the incident two units work on

  before(async () => {
    try {
      // Offers outlive slow steps; everything else keeps the contract defaults.
      await env.setup({ configExtra: { dispatch: { offer_timeout_s: 90 } } });
      tokens = {
        dispatcher: await env.token('dispatcher', 'fi-dispatcher'),
        auditor: await env.token('auditor', 'fi-auditor'),
        admin: await env.token('admin', 'fi-admin'),
        inspector: await env.token('inspector', 'fi-inspector'),
        education: await env.huxiaod(['token', 'create', '--config', env.config, '--role', 'education',
          '--name', 'fi-education-d2', '--districts', 'D-2']),
        p01: await env.token('unit', 'fi-p01', 'P-01'),
        p02: await env.token('unit', 'fi-p02', 'P-02'),
      };
      await env.startServer();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      env.cleanups.push(() => browser.close());
      dispatcher = await newPage();
      await signIn(dispatcher.p, tokens.dispatcher);
    } catch (e) {
      await env.cleanup();
      throw e;
    }
  });

  after(async () => {
    if (dispatcher && !dispatcher.p.isClosed()) {
      await dispatcher.p.screenshot({ path: path.join(ARTIFACTS, 'first-last.png') }).catch(() => {});
    }
    await env.cleanup();
  });

  it('shows a cleared unit apart from the unit still on scene, also after a reload', async () => {
    const { p } = dispatcher;
    // An assault needs two units (contract §2 units_required); P-01 and P-02 are the only ones connected.
    const units = [await env.unit(tokens.p01), await env.unit(tokens.p02)];
    for (const u of units) u.send({ type: 'position', lat: 30.59, lon: 114.29, at: new Date().toISOString() });
    const terminal = await env.terminal('T-0001');
    assault = await terminal.alarm('FI-1', 'assault');
    for (const u of units) {
      await u.inbox.waitFor((m) => m.type === 'offer' && m.incident === assault);
      u.send({ type: 'accept', incident: assault });
      u.send({ type: 'en_route', incident: assault });
      u.send({ type: 'position', ...S01, at: new Date().toISOString() });  // the geofence marks it arrived
    }
    const row = p.locator(`tr[data-incident="${assault}"]`);
    await eventually(async () => (await row.getAttribute('data-state')) === 'on_scene', { what: 'on scene' });
    await row.locator('.chip-unit[data-unit="P-02"]').waitFor();
    await row.click();

    units[0].send({ type: 'clear', incident: assault, outcome: 'handed over to P-02' });
    // Still open: P-02 is on scene. P-01 is shown struck through, apart.
    const cleared = row.locator('[data-testid="cleared-unit"][data-unit="P-01"]');
    await cleared.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'on_scene');
    assert.equal(await row.locator('.chip-unit[data-unit="P-01"]').count(), 0, 'P-01 is not listed as assigned');
    assert.equal(await cleared.evaluate((el) => getComputedStyle(el).textDecorationLine), 'line-through');
    await eventually(async () => (await p.locator('[data-testid="detail-cleared"]').textContent()) === 'P-01',
      { what: 'P-01 under Cleared in the detail' });
    assert.equal(await p.locator('[data-testid="detail-units"]').textContent(), 'P-02');
    // The map links only the unit still on the incident.
    await eventually(async () => (await p.locator('[data-testid="link-P-01"]').count()) === 0, { what: 'no link for P-01' });
    await p.locator('[data-testid="link-P-02"]').waitFor({ state: 'attached' });

    // A fresh page learns it from the snapshot alone (P-01 is no longer on the incident).
    await p.reload();
    await p.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await p.locator(`tr[data-incident="${assault}"] [data-testid="cleared-unit"][data-unit="P-01"]`).waitFor();
    assert.equal(await p.locator(`tr[data-incident="${assault}"] .chip-unit[data-unit="P-01"]`).count(), 0);
    await p.locator(`tr[data-incident="${assault}"] .chip-unit[data-unit="P-02"]`).waitFor();
  });

  it('shows no "null" in the alarm banner when an alarm has no note', async () => {
    const { p } = dispatcher;
    const t = await env.terminal('T-0008');
    const drill = await t.alarm('FI-2', 'self_harm', { drill: true });  // the example: no note
    const banner = p.locator('[data-testid="alert-banner"]');
    await banner.waitFor({ state: 'visible' });
    await eventually(async () => /Tangjiadun/.test(await banner.textContent()), { what: 'the drill in the banner' });
    const text = (await p.locator('[data-testid="alert-text"]').textContent()).trim();
    assert.doesNotMatch(await banner.textContent(), /null|undefined/);
    assert.doesNotMatch(text, /·\s*$/, `no empty separator at the end: "${text}"`);
    assert.doesNotMatch(text, /·\s*·/, `no empty separator: "${text}"`);
    assert.match(text, /Self-harm 自伤 at Tangjiadun Middle \(S-08\) · \d\d:\d\d:\d\d$/);
    await p.locator(`tr[data-incident="${drill}"]`).waitFor();

    // An alarm with a note shows it; the first one is counted as "+1 more".
    const t2 = await env.terminal('T-0002');
    await t2.alarm('FI-3', 'intrusion', { note: 'gate 2' });
    await eventually(async () => /“gate 2”/.test(await banner.textContent()), { what: 'the note in the banner' });
    assert.match(await banner.textContent(), /\+\d+ more/);
    assert.doesNotMatch(await banner.textContent(), /null|undefined/);
    await assertNoMissingValues(p, 'the dispatch console');
  });

  it('opens a dispatcher on the console, ready to act', async () => {
    const { p } = dispatcher;
    await p.locator('a.nav-tab.active[href="#/console"]').waitFor();
    await p.locator('[data-testid="ack-button"]').first().waitFor();
    assert.equal(await p.locator('[data-testid="who"]').textContent(), 'dispatcher');
    await p.locator('[data-testid="sound-toggle"]').waitFor();
    await p.screenshot({ path: path.join(ARTIFACTS, 'first-dispatcher.png') });
  });

  it('opens an auditor on Reports; the console is read-only and silent', async () => {
    const { ctx, p } = await newPage();
    try {
      await signIn(p, tokens.auditor);
      await p.locator('a.nav-tab.active[href="#/reports"]').waitFor();
      await p.locator('[data-testid="rt-row"]').first().waitFor();
      // Terminals installed today are measured from their registration (docs/reports.md).
      await p.locator('[data-testid="terminal-row"][data-terminal="T-0001"] [data-testid="registered-in-range"]').waitFor();
      // An auditor cannot silence or acknowledge alarms: no sound control in the header.
      assert.equal(await p.locator('[data-testid="sound-toggle"]').isVisible(), false);
      await assertNoMissingValues(p, 'the auditor\'s reports');
      await p.screenshot({ path: path.join(ARTIFACTS, 'first-auditor.png'), fullPage: true });

      await p.locator('a.nav-tab[href="#/console"]').click();
      await p.locator(`tr[data-incident="${assault}"]`).waitFor();
      assert.equal(await p.locator('[data-testid="ack-button"]').count(), 0);
      assert.equal(await p.locator('[data-testid="alert-ack"]').count(), 0);
      await p.locator('[data-testid="readonly-banner"]').waitFor();
      await assertNoMissingValues(p, 'the auditor\'s console');
    } finally {
      await ctx.close();
    }
  });

  it('shows an education token of one district only that district', async () => {
    // An alarm in D-2 (S-09); the others so far are in D-1.
    const t = await env.terminal('T-0009');
    const d2 = await t.alarm('FI-4', 'medical');
    const { ctx, p } = await newPage();
    try {
      await signIn(p, tokens.education);
      await p.locator('a.nav-tab.active[href="#/reports"]').waitFor();
      await eventually(async () => (await p.locator('[data-testid="who"]').textContent()) === 'education',
        { what: 'the role' });
      await p.locator('[data-testid="scope"]', { hasText: "Jiang'an" }).waitFor();
      // Terminals: only D-2's eight schools.
      await eventually(async () => (await p.locator('[data-testid="terminal-row"]').count()) === 8, { what: 'D-2 terminals' });
      await assertNoMissingValues(p, 'the education reports');
      await p.screenshot({ path: path.join(ARTIFACTS, 'first-education.png'), fullPage: true });

      await p.locator('a.nav-tab[href="#/console"]').click();
      await p.locator(`tr[data-incident="${d2}"]`).waitFor();
      assert.equal(await p.locator('[data-testid="incident-row"]').count(), 1, 'only the D-2 incident');
      // D-2's eight schools: seven plain, one (S-09) with the alarm marker.
      await eventually(async () => (await p.locator('[data-testid="map"] rect.school').count()) === 7,
        { what: 'the 7 quiet schools of D-2 on the map' });
      await p.locator('[data-testid="map-alarm-S-09"]').waitFor();
      assert.equal(await p.locator('[data-testid^="map-alarm-"]').count(), 1);
      // Units of other districts are not listed (P-04 ... P-06 are D-2's).
      const units = await p.locator('tr[data-unit]').evaluateAll((trs) => trs.map((tr) => tr.dataset.unit));
      assert.deepEqual(units.sort(), ['P-04', 'P-05', 'P-06']);
      assert.equal(await p.locator('[data-testid="ack-button"]').count(), 0);
      await assertNoMissingValues(p, 'the education console');
      await p.screenshot({ path: path.join(ARTIFACTS, 'first-education-console.png') });
    } finally {
      await ctx.close();
    }
  });

  it('opens an admin on the console, read-only (commands are the dispatcher\'s, contract §4)', async () => {
    const { ctx, p } = await newPage();
    try {
      await signIn(p, tokens.admin);
      await p.locator('a.nav-tab.active[href="#/console"]').waitFor();
      await eventually(async () => (await p.locator('[data-testid="who"]').textContent()) === 'admin', { what: 'the role' });
      await p.locator(`tr[data-incident="${assault}"]`).waitFor();
      assert.equal(await p.locator('[data-testid="ack-button"]').count(), 0);
      await p.locator('[data-testid="readonly-banner"]').waitFor();
      await p.locator('a.nav-tab[href="#/reports"]').waitFor();
      await assertNoMissingValues(p, 'the admin console');
      await p.screenshot({ path: path.join(ARTIFACTS, 'first-admin.png') });
    } finally {
      await ctx.close();
    }
  });

  it('opens an inspector on Inspections; the console is read-only and silent', async () => {
    const { ctx, p } = await newPage();
    try {
      await signIn(p, tokens.inspector);
      await p.locator('[data-testid="inspections"][data-loaded]').waitFor();
      await p.locator('a.nav-tab.active[href="#/inspections"]').waitFor();
      await eventually(async () => (await p.locator('[data-testid="who"]').textContent()) === 'inspector',
        { what: 'the role' });
      assert.equal(await p.locator('[data-testid="sound-toggle"]').isVisible(), false);
      await assertNoMissingValues(p, 'the inspector\'s inspections');
      await p.screenshot({ path: path.join(ARTIFACTS, 'first-inspector.png'), fullPage: true });

      await p.locator('a.nav-tab[href="#/console"]').click();
      await p.locator(`tr[data-incident="${assault}"]`).waitFor();
      assert.equal(await p.locator('[data-testid="ack-button"]').count(), 0);
      await p.locator('[data-testid="readonly-banner"]').waitFor();
      await assertNoMissingValues(p, 'the inspector\'s console');
    } finally {
      await ctx.close();
    }
  });

  it('raised no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
