/**
 * The report as one self-contained HTML page: tables, then every chart drawn in the browser by
 * vega-embed from the same specs the SVG/PNG files come from. vega, vega-lite and vega-embed are inlined
 * from their built browser bundles in node_modules, so the page works offline and from a file:// URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describeFailure } from './data.ts';
import { fitToWidth } from './layout.ts';
import type { Table } from './summary.ts';
import type { ChartSpec } from './types.ts';

const require = createRequire(import.meta.url);

/** The browser (UMD) bundles, in load order: vega-lite needs vega, vega-embed needs both. */
const BUNDLES = [
  { pkg: 'vega', file: 'vega.min.js' },
  { pkg: 'vega-lite', file: 'vega-lite.min.js' },
  { pkg: 'vega-embed', file: 'vega-embed.min.js' },
];

function readBundle(pkg: string, file: string): string {
  const location = path.join(path.dirname(require.resolve(pkg)), file);
  if (!fs.existsSync(location)) throw new Error(`browser bundle ${location} is missing; reinstall with \`npm ci\``);
  return fs.readFileSync(location, 'utf8');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** Text safe inside <script>: no closing tag can end the element early. */
const scriptSafe = (code: string): string => code.replace(/<\/(script)/gi, '<\\/$1');
const jsonInScript = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

const NUMERIC = /^[−+-]?[\d.,]+( |$)/;
/** Numbers right-aligned; short cells kept on one line, long ones (errors) allowed to wrap. */
const cellClass = (text: string): string => (NUMERIC.test(text) ? ' class="num"' : text.length > 40 ? ' class="wrap"' : '');

function tableHtml(t: Table): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows
    .map((r) => `<tr>${r.map((c) => `<td${cellClass(c)}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<section class="table" id="${escapeHtml(slug(t.title))}">
<h2>${escapeHtml(t.title)}</h2>
<p class="note">${escapeHtml(t.note)}</p>
<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div>
</section>`;
}

const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function chartHtml(c: ChartSpec, files: boolean): string {
  const missing = c.missing.length === 0 ? '' : `<p class="missing">Missing: ${c.missing.map((f) => escapeHtml(describeFailure(f))).join('; ')}</p>`;
  return `<section class="chart" id="chart-${c.name}">
<h2>${escapeHtml(c.title)}</h2>
<p class="note">${escapeHtml(c.description)}${files ? ` <a href="charts/${c.name}.svg">SVG</a> · <a href="charts/${c.name}.png">PNG</a>` : ''}</p>
${missing}
<div class="vega" data-chart="${c.name}" role="img" aria-label="${escapeHtml(c.title)}"></div>
</section>`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; --bad: #b03a2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1280px; margin: 0 auto; padding: 32px 28px 64px; }
@media (max-width: 700px) { main { padding: 20px 12px 48px; } }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 6px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.meta, .note { color: var(--muted); margin: 0 0 12px; }
.note { font-size: 14px; }
.missing, .alert { color: var(--bad); }
.alert { border: 1px solid var(--bad); border-radius: 6px; padding: 8px 12px; background: #fdf3f2; }
nav ul { display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0; list-style: none; margin: 16px 0 0; font-size: 14px; }
a { color: #0969da; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13.5px; min-width: 50%; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td { white-space: nowrap; }
td.wrap { white-space: normal; min-width: 240px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.vega { width: 100%; min-height: 60px; }
.vega .error { color: var(--bad); font-family: monospace; }
footer { margin-top: 48px; color: var(--muted); font-size: 13px; }
`;

export interface PageInput {
  title: string;
  subtitle: string;
  /** Short warnings shown at the top (failed runs, regressions). */
  alerts: string[];
  /** Tables above the charts (comparison, results, failures) and below them (micro, environment). */
  tablesBefore: Table[];
  tablesAfter: Table[];
  charts: ChartSpec[];
  /** Whether charts/<name>.svg and .png sit beside the page (linked under each chart; default true). */
  chartFiles?: boolean;
}

export function renderHtml(page: PageInput): string {
  const specs = Object.fromEntries(page.charts.map((c) => [c.name, c.spec]));
  const nav = [...page.tablesBefore.map((t) => [slug(t.title), t.title]), ...page.charts.map((c) => [`chart-${c.name}`, c.title]), ...page.tablesAfter.map((t) => [slug(t.title), t.title])]
    .map(([id, title]) => `<li><a href="#${escapeHtml(id)}">${escapeHtml(title)}</a></li>`)
    .join('');
  const bundles = BUNDLES.map((b) => `<script>${scriptSafe(readBundle(b.pkg, b.file))}</script>`).join('\n');
  // Each chart renders on its own, fitted to its container's width (layout.ts, the same function the PNGs
  // use); a failure shows in place (and on the console) without stopping the rest. A resize redraws.
  const boot = `
const specs = ${jsonInScript(specs)};
const fitToWidth = ${fitToWidth.toString()};
const draw = (el) => vegaEmbed(el, fitToWidth(specs[el.dataset.chart], el.clientWidth), { renderer: 'svg', actions: false }).then((result) => {
  if (el.seqarenaView) el.seqarenaView.finalize();
  el.seqarenaView = result.view;
  el.seqarenaWidth = el.clientWidth;
}).catch((err) => {
  el.innerHTML = '<p class="error"></p>';
  el.firstChild.textContent = 'This chart failed to render: ' + err;
  console.error(err);
});
const charts = Array.from(document.querySelectorAll('.vega[data-chart]'));
window.seqarenaCharts = Promise.all(charts.map(draw));
let resizing = null;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => { window.seqarenaCharts = Promise.all(charts.filter((el) => el.clientWidth !== el.seqarenaWidth).map(draw)); }, 200);
});`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(page.title)}</h1>
<p class="meta">${escapeHtml(page.subtitle)}</p>
${page.alerts.map((a) => `<p class="alert">${escapeHtml(a)}</p>`).join('\n')}
<nav><ul>${nav}</ul></nav>
</header>
${page.tablesBefore.map(tableHtml).join('\n')}
${page.charts.map((c) => chartHtml(c, page.chartFiles ?? true)).join('\n')}
${page.tablesAfter.map(tableHtml).join('\n')}
<footer>Generated by seqarena. Charts: Vega-Lite, rendered in this page by vega-embed (inlined, works offline).</footer>
</main>
${bundles}
<script>${scriptSafe(boot)}</script>
</body>
</html>
`;
}
