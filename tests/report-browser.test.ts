/**
 * The HTML report in a real browser: Debian's chromium (installed by .ci/run), driven by playwright-core,
 * opens the report page and the history dashboard from file:// URLs with the network cut off at 1,400
 * and 800 px: every chart renders inside its container and nothing is logged as an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readHistory } from '../harness/history.ts';
import { appendRows } from '../harness/results/io.ts';
import { writeHistoryPage } from '../reports/history.ts';
import { buildReport } from '../reports/index.ts';
import { FIXTURE_ENV, fixtureRows } from './fixtures/rows.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Where screenshots go: $SEQARENA_SCREENSHOTS when set (to look at them), else a temporary folder. */
const SCREENSHOTS = process.env.SEQARENA_SCREENSHOTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-shots-'));
const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install it with \`apt-get install -y chromium\` (.ci/run does)`;

/** Open a page offline at a width, collect console and page errors and any network request. */
async function openPage(browser: Browser, file: string, width: number): Promise<{ page: Page; problems: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Offline: anything but the file itself is refused and recorded.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    requests.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.evaluate(async () => void (await (window as unknown as { seqarenaCharts: Promise<unknown> }).seqarenaCharts));
  return { page, problems, requests };
}

/** Each chart's drawn width against its container's, and its smallest text size. */
async function chartBoxes(page: Page) {
  return page.$$eval('.vega[data-chart]', (els) =>
    els.map((el) => {
      const svg = el.querySelector('svg.marks');
      const fonts = Array.from(el.querySelectorAll('svg.marks text')).map((t) => parseFloat(getComputedStyle(t).fontSize));
      return {
        name: (el as HTMLElement).dataset.chart,
        svgs: el.querySelectorAll('svg.marks').length,
        marks: el.querySelectorAll('svg.marks [role="graphics-symbol"]').length,
        failed: el.querySelector('.error') !== null,
        container: el.getBoundingClientRect().width,
        drawn: svg ? svg.getBoundingClientRect().width : 0,
        smallestText: fonts.length > 0 ? Math.min(...fonts) : null,
      };
    }),
  );
}

test(
  'the report page renders every chart offline in headless chromium at 1,400 and 800 px: no chart overflows its container, text ≥ 12 px, no console error',
  { skip, timeout: 180_000 },
  async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-browser-'));
    const comparison = [
      { task: 'associative-recall', arch: 'mamba', phase: 'train' as const, metric: 'tokens_per_s', slice: null, baseline: 6000, current: 5100, lower: 5700, upper: null, verdict: 'regression' as const },
    ];
    const report = await buildReport({ rows: fixtureRows(), envs: [FIXTURE_ENV], outDir, baseline: comparison });
    const expected = report.charts.length;
    assert.ok(expected >= 10, `fixture draws ${expected} charts`);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      for (const width of [1400, 800]) {
        const { page, problems, requests } = await openPage(browser, path.join(outDir, 'index.html'), width);
        await page.waitForFunction((n) => document.querySelectorAll('.vega[data-chart] svg.marks').length === n, expected, { timeout: 60_000 });
        await page.screenshot({ path: path.join(SCREENSHOTS, `report-${width}.png`), fullPage: true });
        // Asked for screenshots to look at: each chart on its own too (the whole page is too tall to read).
        if (process.env.SEQARENA_SCREENSHOTS) {
          for (const section of await page.$$('section.chart')) {
            await section.screenshot({ path: path.join(SCREENSHOTS, `report-${width}-${(await section.getAttribute('id'))!.replace('chart-', '')}.png`) });
          }
        }
        const charts = await chartBoxes(page);
        assert.deepEqual(
          charts.map((c) => c.name),
          report.charts.map((c) => c.name),
        );
        for (const c of charts) {
          assert.equal(c.svgs, 1, `${c.name}: one SVG`);
          assert.ok(c.marks > 0, `${c.name}: has marks`);
          assert.equal(c.failed, false, `${c.name}: rendered without error`);
          assert.ok(c.drawn <= c.container + 0.5, `${c.name} at ${width} px: drawn ${c.drawn} px wide in a ${c.container} px container`);
          assert.ok(c.drawn >= 0.6 * c.container || c.name === 'regression', `${c.name} at ${width} px: uses the width (${c.drawn} of ${c.container} px)`);
          assert.ok(c.smallestText === null || c.smallestText >= 12, `${c.name}: smallest text ${c.smallestText} px`);
        }
        const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(pageWidth <= width, `the page scrolls sideways at ${width} px (${pageWidth} px)`);
        assert.deepEqual(problems, []);
        assert.deepEqual(requests, [], 'the page fetched nothing from the network');
        assert.equal(await page.title(), 'seqarena report');
        await page.close();
      }
    } finally {
      await browser.close();
    }
  },
);

test(
  'the history dashboard renders one chart per tracked metric across commits, offline, without overflow or console errors',
  { skip, timeout: 120_000 },
  async () => {
    // Two commits of the fixture's training rows, the second 10 % faster.
    const dirs = ['abc1234aaaa', 'def5678bbbb'].map((sha, i) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `seqarena-history-${i}-`));
      const rows = fixtureRows()
        .filter((r) => r.task === 'associative-recall')
        .map((r) => ({ ...r, git_sha: sha, timestamp: `2026-11-2${i + 1}T12:00:00.000Z`, value: r.value !== null && r.metric === 'tokens_per_s' ? r.value * (1 + 0.1 * i) : r.value }));
      appendRows(dir, rows);
      return dir;
    });
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-history-page-'));
    const page = writeHistoryPage(readHistory(dirs), outDir);
    const expected = (fs.readFileSync(page, 'utf8').match(/class="vega" data-chart=/g) ?? []).length;
    assert.ok(expected >= 5, `${expected} charts`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      for (const width of [1400, 800]) {
        const { page: tab, problems, requests } = await openPage(browser, page, width);
        await tab.waitForFunction((n) => document.querySelectorAll('.vega[data-chart] svg.marks').length === n, expected, { timeout: 60_000 });
        await tab.screenshot({ path: path.join(SCREENSHOTS, `history-${width}.png`) });
        if (process.env.SEQARENA_SCREENSHOTS) {
          const first = await tab.$('section.chart');
          await first!.screenshot({ path: path.join(SCREENSHOTS, `history-${width}-first-chart.png`) });
        }
        for (const c of await chartBoxes(tab)) {
          assert.equal(c.failed, false, `${c.name}: rendered`);
          assert.ok(c.marks > 0, `${c.name}: has marks`);
          assert.ok(c.drawn <= c.container + 0.5, `${c.name} at ${width} px: drawn ${c.drawn} px in ${c.container} px`);
        }
        const text = await tab.textContent('body');
        assert.ok(text!.includes('abc1234') && text!.includes('def5678'), 'both commits named');
        assert.deepEqual(problems, []);
        assert.deepEqual(requests, []);
        await tab.close();
      }
    } finally {
      await browser.close();
    }
  },
);
