/**
 * The findings section: for each paper-findings suite that ran, one table with, per finding, the
 * claim, its source, the published numbers, seqarena's numbers at the scale run, the expected outcome
 * and whether it held — stated plainly, including when it did not. Read from findings.json (through
 * harness/results/findings.ts); rendered by the page and the Markdown like every table.
 */
import { outcome } from '../harness/results/findings.ts';
import type { FindingResult } from '../harness/suites/types.ts';
import { formatBytes, formatNumber } from '../harness/format.ts';
import { markdownTableLines } from './markdown.ts';
import type { Table } from './summary.ts';

/** A value (± its spread) in its unit: fractions to two decimals, bytes in KiB/MiB, anything else to 3 significant digits. */
function formatValue(value: number | null, unit: string, stddev?: number): string {
  if (value === null) return 'missing';
  const bytes = unit === 'bytes' || unit.startsWith('bytes/');
  const fraction = unit === 'accuracy' || unit === 'exact match' || unit === 'fraction' || unit === 'exponent';
  const format = bytes ? formatBytes : fraction ? (v: number) => v.toFixed(2) : formatNumber;
  const figure = `${format(value)}${stddev === undefined ? '' : ` ± ${format(stddev)}`}`;
  return bytes ? `${figure}${unit.slice('bytes'.length)}` : `${figure} ${unit}`;
}

const published = (f: FindingResult): string =>
  f.published.length === 0 ? 'qualitative (no single number; see the claim)' : f.published.map((p) => `${p.label}: ${formatNumber(p.value)} ${p.unit}`).join('; ');

/** "(n=512)", or over seeds "(mean of 2 seeds: 0.93, 0.97; n=1024)": every seed's value beside the mean. */
function behind(m: FindingResult['measured'][number]): string {
  if (m.value === null) return '';
  const n = m.n === undefined ? '' : `n=${m.n}`;
  if (m.seeds === undefined || m.seeds.length === 0) return n === '' ? '' : ` (${n})`;
  const each = m.seeds.map((v) => formatValue(v, m.unit).replace(` ${m.unit}`, '')).join(', ');
  return ` (mean of ${m.seeds.length} seed${m.seeds.length === 1 ? '' : 's'}: ${each}${n === '' ? '' : `; ${n}`})`;
}

/** The setting measured, where the suite states it ('not stated' for findings.json written before it did). */
const settingText = (f: FindingResult): string => f.setting ?? 'not stated';

const measuredText = (f: FindingResult): string =>
  f.measured.length === 0 ? 'nothing measured' : f.measured.map((m) => `${m.label}: ${formatValue(m.value, m.unit, m.stddev)}${behind(m)}`).join('; ');

/** One table per suite, findings in the order the suite states them. */
export function findingsTables(results: FindingResult[]): Table[] {
  const suites = [...new Set(results.map((r) => `${r.suite}\u0000${r.scale}`))];
  return suites.map((key) => {
    const [suite, scale] = key.split('\u0000');
    const findings = results.filter((r) => r.suite === suite && r.scale === scale);
    const held = findings.filter((f) => f.held === true).length;
    const notHeld = findings.filter((f) => f.held === false).length;
    const notJudged = findings.length - held - notHeld;
    return {
      title: `Paper findings: ${suite} (${scale} scale)`,
      note:
        `${held} of ${findings.length} expected outcome(s) held, ${notHeld} did not, ${notJudged} could not be judged (runs missing or failed). ` +
        `Each is a published result restated as a check on these results; a finding that does not hold is reported as such and never fails CI.` +
        (scale === 'cpu' ? ' CPU scale is a miniature of the paper’s setting (shorter sequences, smaller models, far fewer steps); the paper scale is written down in the suite for a GPU run.' : ''),
      columns: ['Outcome', 'Claim', 'Source', 'Published', `Setting (${scale} scale)`, `seqarena (${scale} scale)`, 'Expected outcome', 'Detail'],
      rows: findings.map((f) => [outcome(f.held), f.claim, f.source, published(f), settingText(f), measuredText(f), f.expectation, f.detail]),
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// One table for a README: every suite's findings together, with the machine and the commands

/** What a results directory says about the run that produced its findings. */
export interface FindingsSource {
  dir: string;
  findings: FindingResult[];
  env: Record<string, unknown> | null;
  /** Seconds of run time: the sum of the runs' wall-clock times (the longest shard's, when shards ran in parallel); null if unknown. */
  elapsedS: number | null;
  /** How many shards ran (1 for an unsharded suite). */
  shards: number;
  /** The commits the suite's rows were produced at (shards or resumed runs may differ), most rows first. */
  commits: string[];
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** The machine in words, from env.json: "AMD EPYC, 2 cores, 23.5 GiB, no GPU; Node 20.20.2, tfjs 4.22.0". */
export function machineText(env: Record<string, unknown> | null): string {
  if (env === null) return 'machine unknown (no env.json)';
  const cpu = (env.cpu ?? {}) as { model?: string; cores?: number };
  const gpu = env.gpu as { name?: string } | string | null | undefined;
  const gpuText = gpu === null || gpu === undefined ? 'no GPU' : typeof gpu === 'string' ? gpu : gpu.name ?? 'a GPU';
  const memory = typeof env.memory_bytes === 'number' ? `, ${formatBytes(env.memory_bytes)}` : '';
  return `${cpu.model ?? 'unknown CPU'}, ${cpu.cores ?? '?'} cores${memory}, ${gpuText}; Node ${str(env.node) ?? '?'}, tfjs ${str(env.tfjs) ?? '?'}, seqarena ${str(env.seqarena) ?? '?'}`;
}

/** The command that reproduces a results directory's suite, with the shards it ran as. */
export function commandText(source: FindingsSource): string {
  const env = source.env ?? {};
  const suite = str(env.suite) ?? source.findings[0]?.suite ?? '?';
  const scale = str(env.scale) ?? source.findings[0]?.scale ?? 'cpu';
  const backend = str(env.backend) ?? 'wasm';
  const base = `seqarena bench --suite ${suite}${scale === 'cpu' ? '' : ` --scale ${scale}`}${backend === 'wasm' ? '' : ` --backend ${backend}`}`;
  return source.shards > 1 ? `${base} --shard i/${source.shards} (${source.shards} shards in parallel, then seqarena merge)` : base;
}

const minutes = (s: number | null): string => (s === null ? 'time unknown' : `${(s / 60).toFixed(1)} min`);

/**
 * All findings as one Markdown table (suite, finding and source, published, measured with units and n,
 * expected outcome, outcome), preceded by the machine and, per suite, the command and its wall-clock time.
 */
export function findingsSummaryMarkdown(sources: FindingsSource[]): string {
  const all = sources.flatMap((s) => s.findings);
  const held = all.filter((f) => f.held === true).length;
  const notHeld = all.filter((f) => f.held === false).length;
  const machines = [...new Set(sources.map((s) => machineText(s.env)))];
  const lines = [
    `${held} of ${all.length} expected outcomes held, ${notHeld} did not, ${all.length - held - notHeld} could not be judged.`,
    '',
    `Machine: ${machines.join(' / ')}.`,
    '',
    ...sources.map(
      (s) =>
        `- \`${commandText(s)}\` → \`${s.dir}\` (${s.commits.length === 0 ? 'commit unknown' : `commit${s.commits.length > 1 ? 's' : ''} ${s.commits.join(', ')}`}): ${s.findings.length} finding(s), ${minutes(s.elapsedS)} of run time${s.shards > 1 ? ' (longest shard)' : ''}`,
    ),
    '',
  ];
  const columns = ['suite', 'finding (source)', 'published', 'setting measured', 'seqarena', 'expected outcome', 'outcome'];
  const rows = all.map((f) => [`\`${f.suite}\` (${f.scale})`, `${f.claim} (${f.source})`, published(f), settingText(f), measuredText(f), f.expectation, outcome(f.held)]);
  return [...lines, ...markdownTableLines({ columns, rows })].join('\n') + '\n';
}
