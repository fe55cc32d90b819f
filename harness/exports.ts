/**
 * Results in other tools' formats: github-action-benchmark's custom JSON (one file for figures where
 * bigger is better, one where smaller is better) and Markdown tables (results, comparisons).
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './results/io.ts';
import type { ResultRow } from './results/schema.ts';
import {
  distinguish,
  figuresOf,
  gateFailures,
  groupBy,
  isSummaryRow,
  matchKey,
  NOT_JUDGED_REASONS,
  RECORD_REPEATS,
  setupOf,
  type Comparison,
  type GateOptions,
  type NotJudgedReason,
  type Setup,
  type Verdict,
} from './compare.ts';
import { summarize } from './stats.ts';
import { formatValue } from './format.ts';

// ---------------------------------------------------------------------------------------------------
// Formatting

/** Figures print through the suite's one formatter (harness/format.ts). */
export { formatValue };

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** A GitHub-flavoured Markdown table. */
export function markdownTable(header: string[], rows: string[][], align: ('left' | 'right')[] = []): string {
  const rule = header.map((_, i) => (align[i] === 'right' ? '---:' : '---'));
  return [header, rule, ...rows].map((r, i) => `| ${(i === 1 ? r : r.map(cell)).join(' | ')} |`).join('\n');
}

// ---------------------------------------------------------------------------------------------------
// github-action-benchmark

/** One entry of a customBiggerIsBetter / customSmallerIsBetter file, as the action documents it. */
export interface BenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  /** Spread shown beside the value, e.g. "± 12.3". */
  range?: string;
  /** Tooltip text. */
  extra?: string;
}

export const GITHUB_BENCHMARK_FILES = { bigger: 'customBiggerIsBetter.json', smaller: 'customSmallerIsBetter.json' } as const;

/** "mqar/mamba-nano/L=256/train/tokens_per_s[eval_len=512] (wasm)": stable across commits, so the action's series line up. */
function benchmarkName(r: ResultRow): string {
  const model = r.preset ? `${r.arch}-${r.preset}` : r.arch;
  const length = r.seq_len === null ? [] : [`L=${r.seq_len}`];
  const metric = `${r.metric}${r.slice ? `[${r.slice}]` : ''}`;
  return `${[r.task, model, ...length, r.phase, metric].join('/')} (${r.backend})`;
}

/**
 * Every directional figure of finished runs, pooled over repeated runs (seeds) and split by direction;
 * rows pool only when every field that identifies a measurement matches (compare's matchKey).
 */
export function githubBenchmarkEntries(rows: readonly ResultRow[]): { bigger: BenchmarkEntry[]; smaller: BenchmarkEntry[] } {
  const judged = rows.filter((r) => isSummaryRow(r) && r.direction !== 'none' && r.status === 'ok' && r.value !== null && Number.isFinite(r.value));
  const groups = [...groupBy(judged, matchKey).values()];
  // Names that would collide (same model, different config, batch or threads) get the setup that tells them apart.
  const names = distinguish(groups, (g) => benchmarkName(g[0]), (g) => setupOf(g[0]));
  const out = { bigger: [] as BenchmarkEntry[], smaller: [] as BenchmarkEntry[] };
  for (const [i, group] of groups.entries()) {
    const r = group[0];
    const name = names[i];
    const s = summarize(group.flatMap((g) => figuresOf(g as ResultRow & { value: number })));
    const entry: BenchmarkEntry = { name, unit: r.unit, value: Number(s.mean.toPrecision(7)) };
    if (s.stddev !== null) entry.range = `± ${Number(s.stddev.toPrecision(4))}`;
    const shas = [...new Set(group.map((g) => g.git_sha).filter((x) => x !== null))];
    entry.extra = [
      `n=${s.n}${group.length > 1 ? ` over ${group.length} runs` : ''}`,
      s.n > 1 ? `p50=${Number(s.p50.toPrecision(4))} p90=${Number(s.p90.toPrecision(4))}` : null,
      `device=${r.device}`,
      shas.length > 0 ? `git=${shas.join(',')}` : null,
    ]
      .filter((x) => x !== null)
      .join('\n');
    out[r.direction === 'bigger' ? 'bigger' : 'smaller'].push(entry);
  }
  return out;
}

/** Write both files into `outDir`; returns their paths. */
export function writeGithubBenchmark(rows: readonly ResultRow[], outDir: string): { bigger: string; smaller: string; entries: number } {
  const { bigger, smaller } = githubBenchmarkEntries(rows);
  fs.mkdirSync(outDir, { recursive: true });
  const files = { bigger: path.join(outDir, GITHUB_BENCHMARK_FILES.bigger), smaller: path.join(outDir, GITHUB_BENCHMARK_FILES.smaller) };
  writeFileAtomic(files.bigger, JSON.stringify(bigger, null, 2) + '\n');
  writeFileAtomic(files.smaller, JSON.stringify(smaller, null, 2) + '\n');
  return { ...files, entries: bigger.length + smaller.length };
}

// ---------------------------------------------------------------------------------------------------
// Markdown: results

/** One table per task: every figure (pooled over seeds) with its spread, sample count and status. */
export function resultsMarkdown(rows: readonly ResultRow[], title = 'seqarena results'): string {
  const summary = rows.filter(isSummaryRow);
  const lines = [`## ${title}`, ''];
  const shas = [...new Set(summary.map((r) => r.git_sha).filter((x) => x !== null))];
  const suites = [...new Set(summary.map((r) => r.suite))];
  lines.push(`Suite ${suites.map((s) => `\`${s}\``).join(', ') || '(none)'}${shas.length ? `, commit ${shas.map((s) => `\`${s}\``).join(', ')}` : ''}; ${summary.length} rows.`, '');
  for (const [task, taskRows] of groupBy(summary, (r) => r.task)) {
    lines.push(`### ${task}`, '');
    // Name the config only where one model was run at several configs.
    const model = (r: ResultRow): string => [r.arch, r.preset, r.seq_len, r.backend].join('|');
    const configs = groupBy(taskRows, model);
    const ambiguous = (r: ResultRow): boolean => new Set(configs.get(model(r))!.map((x) => x.config_hash)).size > 1;
    const body = [...groupBy(taskRows, matchKey).values()].map((group) => {
      const r = group[0];
      const ok = group.filter((g): g is ResultRow & { value: number } => g.status === 'ok' && g.value !== null && Number.isFinite(g.value));
      const failed = group.find((g) => g.status !== 'ok');
      const s = ok.length > 0 ? summarize(ok.flatMap(figuresOf)) : null;
      return [
        `${r.preset ? `${r.arch} (${r.preset})` : r.arch}${ambiguous(r) ? ` #${r.config_hash}` : ''}`,
        r.seq_len === null ? '' : String(r.seq_len),
        r.backend,
        `${r.phase}/${r.metric}`,
        r.slice ?? '',
        s ? formatValue(s.mean, r.unit) : '',
        s?.stddev != null ? `± ${formatValue(s.stddev, r.unit)}` : '',
        s ? String(s.n) : '',
        r.direction === 'bigger' ? '↑' : r.direction === 'smaller' ? '↓' : '',
        failed ? `${failed.status}${failed.error ? `: ${failed.error}` : ''}` : 'ok',
      ];
    });
    lines.push(
      markdownTable(['arch', 'L', 'backend', 'metric', 'slice', 'value', 'spread', 'n', 'better', 'status'], body, [
        'left',
        'right',
        'left',
        'left',
        'left',
        'right',
        'right',
        'right',
        'left',
        'left',
      ]),
      '',
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Markdown: a comparison against a baseline

function formatChange(c: Comparison): string {
  if (c.change === null) return '';
  const sign = c.change > 0 ? '+' : c.change < 0 ? '−' : '±';
  if (c.rule === 'absolute') return `${sign}${formatValue(Math.abs(c.change), c.unit)}`;
  return `${sign}${(Math.abs(c.change) * 100).toFixed(1)}%${c.normalized ? ' (norm.)' : ''}`;
}

/** How the table names things: the arch cell's setup labels, and whether missing figures are accepted. */
interface TableContext {
  arch: Map<Comparison, string>;
  allowMissing: boolean;
}

function verdictCell(c: Comparison, ctx: TableContext): string {
  if (c.rule === 'info' && c.verdict === 'unchanged') return '➖ info';
  switch (c.verdict) {
    case 'regression':
      return '❌ regression';
    case 'improvement':
      return '✅ improved';
    case 'unchanged':
      return c.rule === 'status' ? '➖ still failing' : c.judged ? '✅ ok' : '➖ not judged';
    case 'missing':
      return ctx.allowMissing ? '➖ missing (allowed)' : '❌ missing';
    case 'new':
      return '🆕 new';
  }
}

const COMPARISON_HEADER = ['metric', 'task', 'arch', 'baseline', 'current', 'change', 'verdict', 'note'];
const COMPARISON_ALIGN: ('left' | 'right')[] = ['left', 'left', 'left', 'right', 'right', 'right', 'left', 'left'];

const figureName = (c: Comparison): string => `${c.phase}/${c.metric}${c.slice ? ` [${c.slice}]` : ''}`;

/**
 * The arch cell of every row: the architecture, its backend where several are compared, and the setup
 * fields (L=…, batch=…, threads=…, #config) that tell apart rows of one architecture on one task.
 */
function archLabels(rows: readonly Comparison[]): Map<Comparison, string> {
  const showBackend = new Set(rows.map((r) => r.backend)).size > 1;
  const base = (c: Comparison): string => (showBackend ? `${c.arch} (${c.backend})` : c.arch);
  const labels = distinguish(rows, (c) => `${c.task}\u0000${base(c)}`, setupOfComparison);
  return new Map(rows.map((c, i) => [c, labels[i].slice(c.task.length + 1)]));
}

const setupOfComparison = (c: Comparison): Setup => ({
  task: c.task,
  arch: c.arch,
  preset: c.preset,
  config_hash: c.config_hash,
  seq_len: c.seq_len,
  batch_size: c.batch_size,
  backend: c.backend,
  threads: c.threads,
});

/** The note, with how the significance test resampled where it ran. */
const noteCell = (c: Comparison): string => [c.note, c.ratioInterval !== null && c.resampling ? `bootstrap ${c.resampling}` : ''].filter(Boolean).join('; ');

function comparisonCells(c: Comparison, ctx: TableContext): string[] {
  return [
    figureName(c),
    c.task,
    ctx.arch.get(c) ?? c.arch,
    c.baseline === null ? '' : formatValue(c.baseline, c.unit),
    c.current === null ? '' : formatValue(c.current, c.unit),
    formatChange(c),
    verdictCell(c, ctx),
    noteCell(c),
  ];
}

function comparisonTable(rows: readonly Comparison[], ctx: TableContext): string {
  return markdownTable(COMPARISON_HEADER, rows.map((c) => comparisonCells(c, ctx)), COMPARISON_ALIGN);
}

/** Missing and new rows, a whole run's worth (4 figures or more) folded into one line. */
function listedTable(rows: readonly Comparison[], ctx: TableContext): string {
  const runs = groupBy(rows, (c) => [c.verdict, c.rule === 'status', c.task, ctx.arch.get(c), c.config_hash, c.backend].join('\u0000'));
  const body = [...runs.values()].flatMap((group) => {
    if (group.length < 4) return group.map((c) => comparisonCells(c, ctx));
    const c = group[0];
    const names = group.map(figureName);
    const note = group.every((g) => g.note === c.note) ? c.note : '';
    return [[`${group.length} figures: ${names.slice(0, 3).join(', ')}, …`, c.task, ctx.arch.get(c) ?? c.arch, '', '', '', verdictCell(c, ctx), note]];
  });
  return markdownTable(COMPARISON_HEADER, body, COMPARISON_ALIGN);
}

/** "12 one run per side: run-to-run noise unknown, 3 one sample on a side", in NOT_JUDGED_REASONS' order. */
function notJudgedReasons(rows: readonly Comparison[]): string {
  return (Object.keys(NOT_JUDGED_REASONS) as NotJudgedReason[])
    .map((reason) => [rows.filter((r) => r.notJudged === reason).length, NOT_JUDGED_REASONS[reason]] as const)
    .filter(([n]) => n > 0)
    .map(([n, label]) => `${n} ${label}`)
    .join(', ');
}

/**
 * A comparison as Markdown for a PR comment: a one-line verdict, the changes, missing and new rows,
 * then the unchanged, info and not-judged rows folded away. `context`: lines saying what was compared
 * with what. Missing figures fail the gate unless `allowMissing`; they are listed either way.
 */
export function compareMarkdown(rows: readonly Comparison[], context: string[] = [], options: GateOptions = {}): string {
  const count = (v: Verdict): number => rows.filter((r) => r.verdict === v).length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const ctx: TableContext = { arch: archLabels(rows), allowMissing: options.allowMissing ?? false };
  const regressions = count('regression');
  const missing = count('missing');
  const info = rows.filter((r) => r.rule === 'info' && r.verdict === 'unchanged').length;
  const notJudged = rows.filter((r) => r.notJudged !== null);
  const timings = rows.filter((r) => r.rule === 'timing' && r.baseline !== null && r.current !== null);
  const speedUnchecked = timings.length > 0 && timings.every((r) => !r.judged);
  const failures = gateFailures(rows, options).length;
  const headline =
    (failures === 0
      ? `✅ no regressions${missing > 0 ? ` (${plural(missing, 'missing figure')} accepted with --allow-missing)` : ''}`
      : `❌ ${[regressions > 0 ? plural(regressions, 'regression') : '', missing > 0 && !ctx.allowMissing ? `${missing} missing` : ''].filter(Boolean).join(', ')}`) +
    (speedUnchecked ? '; ⚠️ no timing judged' : '');
  const lines = [`## seqarena compare: ${headline}`, ''];
  if (context.length > 0) lines.push(context.join('  \n'), '');
  lines.push(
    `${plural(regressions, 'regression')}, ${plural(count('improvement'), 'improvement')}, ` +
      `${rows.filter((r) => r.verdict === 'unchanged' && r.judged && r.rule !== 'status').length} unchanged, ` +
      `${missing} missing${missing > 0 ? (ctx.allowMissing ? ' (allowed)' : ' (each fails the gate; --allow-missing accepts them)') : ''}, ${count('new')} new, ` +
      `${notJudged.length} not judged${notJudged.length > 0 ? ` (${notJudgedReasons(notJudged)})` : ''}, ${info} info.`,
    '',
  );
  const oneRun = notJudged.filter((r) => r.notJudged === 'one-run-per-side').length;
  if (speedUnchecked) {
    lines.push(
      `⚠️ **No timing was judged**: ${timings.length === 1 ? 'the one timing was' : `all ${timings.length} timings were`} only shown (${notJudgedReasons(timings)}), so this comparison says nothing about speed; ` +
        `only the repeatable figures (accuracy, losses, counted memory) were judged` +
        (oneRun > 0 ? `. To judge timings, save the baseline from several fresh runs of one commit: \`${RECORD_REPEATS}\`.` : '.'),
      '',
    );
  } else if (oneRun > 0) {
    lines.push(`${plural(oneRun, 'figure')} measured by the process (timings, resident memory) had one run per side, so their run-to-run noise is unknown: shown, not judged. Save the baseline from several fresh runs of one commit to judge them: \`${RECORD_REPEATS}\`.`, '');
  }
  const changed = rows.filter((r) => r.verdict === 'regression' || r.verdict === 'improvement' || (r.rule === 'status' && r.verdict === 'unchanged'));
  lines.push('### Changes', '', changed.length > 0 ? comparisonTable(changed, ctx) : 'No significant changes.', '');
  const listed = rows.filter((r) => r.verdict === 'missing' || r.verdict === 'new');
  if (listed.length > 0) lines.push('### Missing and new', '', listedTable(listed, ctx), '');
  const rest = rows.filter((r) => r.verdict === 'unchanged' && r.rule !== 'status');
  if (rest.length > 0) {
    lines.push(`<details><summary>${plural(rest.length, 'unchanged, not judged or info row')}</summary>`, '', comparisonTable(rest, ctx), '', '</details>', '');
  }
  return lines.join('\n');
}
