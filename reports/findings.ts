/**
 * The findings section: for each paper-findings suite that ran, one table with, per finding, the
 * claim, its source, the published numbers, seqarena's numbers at the scale run, the expected outcome
 * and whether it held — stated plainly, including when it did not. Read from findings.json, which
 * `seqarena bench` writes beside results.jsonl; rendered by the page and the Markdown like every table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ResultsFileError } from '../harness/results/io.ts';
import type { FindingResult } from '../harness/suites/types.ts';
import { formatBytes, formatNumber } from './data.ts';
import type { Table } from './summary.ts';

export const FINDINGS_FILE = 'findings.json';
/** The findings.json version this reader understands (harness/findings.ts writes it). */
const FINDINGS_VERSION = 1;

const PublishedValue = z.object({ label: z.string(), value: z.number(), unit: z.string() });

const FindingRecord: z.ZodType<FindingResult> = z.object({
  id: z.string(),
  suite: z.string(),
  claim: z.string(),
  source: z.string(),
  published: z.array(PublishedValue),
  measured: z.array(z.object({ label: z.string(), value: z.number().nullable(), unit: z.string(), n: z.number().optional() })),
  expectation: z.string(),
  held: z.boolean().nullable(),
  detail: z.string(),
  scale: z.enum(['cpu', 'paper']),
});

const FindingsFile = z.object({ schema_version: z.number().int(), findings: z.array(FindingRecord) });

/** The findings of a results directory, or none where the suite had no findings (no findings.json). */
export function readFindings(dir: string): FindingResult[] {
  const file = path.join(dir, FINDINGS_FILE);
  if (!fs.existsSync(file)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new ResultsFileError(file, null, 'not valid JSON');
  }
  const result = FindingsFile.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ResultsFileError(file, null, `not a findings file: ${issue?.path.join('.') || 'file'}: ${issue?.message}`);
  }
  if (result.data.schema_version > FINDINGS_VERSION) {
    throw new ResultsFileError(file, null, `schema_version ${result.data.schema_version} is newer than this seqarena reads (${FINDINGS_VERSION}); upgrade seqarena to read it`);
  }
  return result.data.findings;
}

const OUTCOMES = { held: '✅ held', notHeld: '❌ not held', notJudged: '➖ not judged' } as const;

export function outcome(held: boolean | null): string {
  return held === null ? OUTCOMES.notJudged : held ? OUTCOMES.held : OUTCOMES.notHeld;
}

/** A value in its unit: fractions to two decimals, bytes in KiB/MiB, anything else to 3 significant digits. */
function formatValue(value: number | null, unit: string): string {
  if (value === null) return 'missing';
  if (unit === 'bytes' || unit.startsWith('bytes/')) return `${formatBytes(value)}${unit === 'bytes' ? '' : unit.slice('bytes'.length)}`;
  if (unit === 'accuracy' || unit === 'exact match' || unit === 'fraction') return `${value.toFixed(2)} ${unit}`;
  return `${formatNumber(value)} ${unit}`;
}

const published = (f: FindingResult): string =>
  f.published.length === 0 ? 'qualitative (no single number; see the claim)' : f.published.map((p) => `${p.label}: ${formatNumber(p.value)} ${p.unit}`).join('; ');

const measuredText = (f: FindingResult): string =>
  f.measured.length === 0 ? 'nothing measured' : f.measured.map((m) => `${m.label}: ${formatValue(m.value, m.unit)}${m.n !== undefined && m.value !== null ? ` (n=${m.n})` : ''}`).join('; ');

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
      columns: ['Outcome', 'Claim', 'Source', 'Published', `seqarena (${scale} scale)`, 'Expected outcome', 'Detail'],
      rows: findings.map((f) => [outcome(f.held), f.claim, f.source, published(f), measuredText(f), f.expectation, f.detail]),
    };
  });
}
