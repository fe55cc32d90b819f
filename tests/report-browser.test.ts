/**
 * The HTML report in a real browser: Debian's chromium (installed by .ci/run), driven by playwright-core,
 * opens the page from a file:// URL with the network cut off, renders every chart and logs no error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildReport } from '../reports/index.ts';
import { FIXTURE_ENV, fixtureRows } from './fixtures/rows.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

test(
  'the report page renders every chart offline in headless chromium, without console or page errors',
  { skip: fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install it with \`apt-get install -y chromium\` (.ci/run does)`, timeout: 120_000 },
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
      const page = await browser.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      // Offline: anything but the file itself is refused and recorded.
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:')) return route.continue();
        requests.push(url);
        return route.abort();
      });
      await page.goto(pathToFileURL(path.join(outDir, 'index.html')).href, { waitUntil: 'load' });
      await page.evaluate(async () => void (await (window as unknown as { seqarenaCharts: Promise<unknown> }).seqarenaCharts));
      await page.waitForFunction((n) => document.querySelectorAll('.vega[data-chart] svg.marks').length === n, expected, { timeout: 60_000 });

      const charts = await page.$$eval('.vega[data-chart]', (els) =>
        els.map((el) => ({
          name: (el as HTMLElement).dataset.chart,
          svgs: el.querySelectorAll('svg.marks').length,
          marks: el.querySelectorAll('svg.marks [role="graphics-symbol"]').length,
          failed: el.querySelector('.error') !== null,
        })),
      );
      assert.deepEqual(
        charts.map((c) => c.name),
        report.charts.map((c) => c.name),
      );
      for (const c of charts) {
        assert.equal(c.svgs, 1, `${c.name}: one SVG`);
        assert.ok(c.marks > 0, `${c.name}: has marks`);
        assert.equal(c.failed, false, `${c.name}: rendered without error`);
      }
      assert.deepEqual(problems, []);
      assert.deepEqual(requests, [], 'the page fetched nothing from the network');
      assert.equal(await page.title(), 'seqarena report');
    } finally {
      await browser.close();
    }
  },
);
