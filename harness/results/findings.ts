/**
 * findings.json, the file `seqarena bench` writes beside results.jsonl after a suite with paper
 * findings: its name, version, schema, reader and writer, and the words for an outcome. The harness
 * writes it; reports and the `findings` command read it through here, as they read rows through io.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { FindingResult } from '../suites/types.ts';
import { ResultsFileError, writeFileAtomic } from './io.ts';

export const FINDINGS_JSON = 'findings.json';
/** Bumped when a field of findings.json changes meaning; readers refuse newer versions. */
export const FINDINGS_VERSION = 1;

const PublishedValue = z.object({ label: z.string(), value: z.number(), unit: z.string() });

const FindingRecord: z.ZodType<FindingResult> = z.object({
  id: z.string(),
  suite: z.string(),
  claim: z.string(),
  source: z.string(),
  published: z.array(PublishedValue),
  measured: z.array(z.object({ label: z.string(), value: z.number().nullable(), unit: z.string(), n: z.number().optional(), stddev: z.number().optional(), seeds: z.array(z.number()).optional() })),
  expectation: z.string(),
  setting: z.string().optional(),
  held: z.boolean().nullable(),
  detail: z.string(),
  scale: z.enum(['cpu', 'paper']),
});

const FindingsFile = z.object({ schema_version: z.number().int(), findings: z.array(FindingRecord) });

/** Write findings.json into a results directory (atomically: a crash never leaves half a file). */
export function writeFindings(outDir: string, results: FindingResult[]): string {
  const file = path.join(outDir, FINDINGS_JSON);
  writeFileAtomic(file, JSON.stringify({ schema_version: FINDINGS_VERSION, findings: results }, null, 2) + '\n');
  return file;
}

/** The findings of a results directory, or none where the suite had no findings (no findings.json). */
export function readFindings(dir: string): FindingResult[] {
  const file = path.join(dir, FINDINGS_JSON);
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

/** A finding's outcome in words, as the console summary and the report tables print it. */
export function outcome(held: boolean | null): string {
  return held === null ? OUTCOMES.notJudged : held ? OUTCOMES.held : OUTCOMES.notHeld;
}
