// Browser tests of the auditor pages (issue 5): an auditor signs in, lands on
// Reports, sees the figures for a range holding an alarm the test raised, and
// downloads the CSV. Same harness as the console tests: a real huxiaod on a
// fresh database with the demo city.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { Environment, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './harness.mjs';

const VIEWPORT = { width: 1600, height: 1400 };

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

describe('auditor reports', { timeout: 180000 }, () => {
  let page;
  let context;
  let incident;
  let drill;

  before(async () => {
    try {
      await env.setup();
      tokens = {
        auditor: await env.token('auditor', 'web-auditor'),
        dispatcher: await env.token('dispatcher', 'web-dispatcher'),
      };
      await env.startServer();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      env.cleanups.push(() => browser.close());
      // An alarm no unit reaches (none is connected) and a drill, both today.
      const terminal = await env.terminal('T-0001');
      incident = await terminal.alarm('R-1', 'intrusion');
      const drillTerminal = await env.terminal('T-0009');
      drill = await drillTerminal.alarm('RD-1', 'medical', { drill: true });
      assert.ok(incident && drill, 'the terminals got acks with incident ids');
      ({ ctx: context, p: page } = await newPage());
    } catch (e) {
      await env.cleanup();
      throw e;
    }
  });

  after(async () => {
    if (page && !page.isClosed()) {
      await page.screenshot({ path: path.join(ARTIFACTS, 'reports-last.png'), fullPage: true }).catch(() => {});
    }
    await env.cleanup();
  });

  it('lands an auditor on Reports with the figures for the last 7 days', async () => {
    await signIn(page, tokens.auditor);
    await page.locator('[data-testid="reports"]').waitFor();
    await page.locator('a.nav-tab.active[href="#/reports"]').waitFor();
    assert.equal(await page.locator('[data-testid="console"]').count(), 0, 'the dispatch view is not open');
    assert.match(await page.locator('[data-testid="preset-last7"]').getAttribute('class'), /\bactive\b/);

    // Grouped by district: the alarm at Jianghan No.1 Primary (D-1), not reached.
    const d1 = page.locator('[data-testid="rt-row"][data-key="D-1"]');
    await d1.waitFor();
    assert.equal(await d1.getAttribute('data-count'), '1');
    assert.equal(await d1.getAttribute('data-unreached'), '1');
    assert.match(await d1.textContent(), /Jianghan/);
    // Drills are kept out of the figures: one incident in all.
    const counts = await page.locator('[data-testid="rt-row"]').evaluateAll((rows) =>
      rows.map((r) => Number(r.dataset.count)));
    assert.deepEqual(counts.reduce((a, b) => a + b, 0), 1);
    // No arrival: the SLA share is 0 %, highlighted as below target.
    await page.locator('[data-testid="rt-row"][data-key="D-1"] td.below-target').first().waitFor();

    // Charts are drawn as inline SVG.
    await page.locator('[data-testid="sla-bars"] rect.chart-bar').first().waitFor();
    await page.locator('[data-testid="week-bars"] g.chart-week[data-count="1"]').waitFor();
    await page.locator('[data-testid="arrival-chart"] svg').waitFor();
  });

  it('regroups by school', async () => {
    await page.locator('[data-testid="group-by"]').selectOption('school');
    const s1 = page.locator('[data-testid="rt-row"][data-key="S-01"]');
    await s1.waitFor();
    assert.match(await s1.textContent(), /Jianghan No\.1 Primary/);
    assert.equal(await s1.getAttribute('data-count'), '1');
  });

  it('switches the range: last month has none of today\'s alarms; a custom range has it', async () => {
    const now = new Date();
    const first = new Date(now.getFullYear(), now.getMonth() - 1, 1);
    const pad = (n) => String(n).padStart(2, '0');
    const day = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    await page.locator('[data-testid="preset-lastMonth"]').click();
    await page.locator(`[data-testid="reports"][data-from="${day(first)}"]`).waitFor();
    await page.locator('[data-testid="rt-table"] td.table-message', { hasText: 'No incidents' }).waitFor();
    assert.equal(await page.locator('[data-testid="rt-row"]').count(), 0);
    // The demo city was registered today: last month its terminals did not
    // exist yet (no figure, not 0 %), and its guard posts missed nothing.
    const t1 = page.locator('[data-testid="terminal-row"][data-terminal="T-0001"]');
    await t1.locator('td', { hasText: 'not yet installed' }).waitFor();
    assert.equal(await page.locator('[data-testid="terminal-table"] td.below-target').count(), 0);
    await page.locator('[data-testid="guard-table"] td.table-message', { hasText: 'registered after this range' }).waitFor();
    assert.equal(await page.locator('[data-testid="guard-row"]').count(), 0);

    await page.locator('[data-testid="preset-custom"]').click();
    await page.locator('[data-testid="range-from"]').fill(day(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 2)));
    await page.locator('[data-testid="range-to"]').fill(day(now));
    await page.locator('[data-testid="range-apply"]').click();
    await page.locator(`[data-testid="reports"][data-to="${day(now)}"]`).waitFor();
    await page.locator('[data-testid="rt-row"][data-key="S-01"]').waitFor();
    assert.match(await page.locator('[data-testid="rt-range"]').textContent(), /3 days/);

    await page.locator('[data-testid="preset-last7"]').click();
    await page.locator('[data-testid="rt-range"]', { hasText: '7 days' }).waitFor();
    await page.locator('[data-testid="rt-row"][data-key="S-01"]').waitFor();
  });

  it('lists terminals offline first, the drill, and guard posts', async () => {
    const rows = page.locator('[data-testid="terminal-row"]');
    await eventually(async () => (await rows.count()) > 2, { what: 'terminal rows' });
    const statuses = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.status));
    const firstOnline = statuses.indexOf('online');
    assert.ok(firstOnline >= 0, 'the connected terminals are online');
    assert.ok(statuses.slice(0, firstOnline).every((x) => x === 'offline'), `offline first: ${statuses.join(',')}`);
    assert.ok(statuses.slice(firstOnline).every((x) => x !== 'offline'), `offline first: ${statuses.join(',')}`);
    assert.equal(await page.locator('[data-testid="terminal-row"][data-terminal="T-0001"]').getAttribute('data-status'), 'online');

    // Sorting by a header click.
    await page.locator('[data-testid="terminal-table"] th[data-key="id"]').click();
    await page.locator('[data-testid="terminal-table"] th[data-key="id"][aria-sort="ascending"]').waitFor();
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.terminal));
    assert.deepEqual(ids, [...ids].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })));

    const d = page.locator(`[data-testid="drill-row"][data-incident="${drill}"]`);
    await d.waitFor();
    assert.match(await d.textContent(), /Medical/);

    // Guard posts: counted from their registration a moment ago, so either a
    // window has ended since (rows) or the table says why it is empty.
    await eventually(async () => (await page.locator('[data-testid="guard-row"]').count()) > 0 ||
      /registered/.test(await page.locator('[data-testid="guard-table"] tbody').textContent()),
    { what: 'guard-post rows, or why there are none' });
    assert.equal(await page.locator('[data-testid="guard-table"] .table-message.error').count(), 0);
    // A terminal installed today is measured from its registration, not over the whole week.
    await page.locator('[data-testid="terminal-row"][data-terminal="T-0001"] [data-testid="registered-in-range"]').waitFor();
  });

  it('downloads the CSV of the figures', async () => {
    await page.locator('[data-testid="group-by"]').selectOption('district');
    await page.locator('[data-testid="rt-row"][data-key="D-1"]').waitFor();
    await page.locator('[data-testid="reports"][data-rt-loaded="district"]').waitFor();
    const [response, download] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/reports/response-times.csv')),
      page.waitForEvent('download'),
      page.locator('[data-testid="rt-csv"]').click(),
    ]);
    assert.equal(response.status(), 200);
    const text = await response.text();
    const [header, ...lines] = text.trim().split(/\r?\n/);
    assert.match(header, /^key,name,count,unreached,dispatch_p50,/);
    assert.ok(header.includes('sla_arrival_pct'));
    assert.ok(lines.some((l) => l.startsWith('D-1,')), `a row for D-1 in:\n${text}`);
    assert.match(download.suggestedFilename(), /^response-times-district-.*\.csv$/);
    const saved = await readFile(await download.path(), 'utf8');
    assert.equal(saved, text);

    await page.locator('[data-testid="drill-row"]').first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'reports.png'), fullPage: true });
  });

  it('keeps a dispatcher on the console with a Reports tab', async () => {
    const { ctx, p } = await newPage();
    try {
      await signIn(p, tokens.dispatcher);
      await p.locator('[data-testid="console"]').waitFor();
      await p.locator('a.nav-tab.active[href="#/console"]').waitFor();
      await p.locator('a.nav-tab[href="#/reports"]').click();
      await p.locator('[data-testid="rt-row"][data-key="D-1"]').waitFor();
      await p.locator('a.nav-tab[href="#/console"]').click();
      await p.locator(`tr[data-incident="${incident}"]`).waitFor();
    } finally {
      await ctx.close();
    }
  });

  it('raised no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
