/**
 * Results directories: results.jsonl (the source of truth, one complete row per line, fsynced after each
 * run), results.csv (the same rows for spreadsheets), env.json, schema.json. Writers append whole lines
 * only; summaries are written to a temporary file and renamed, so a crash never leaves a half-written file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { withPath } from '../errors.ts';
import { COLUMNS, ResultRow, SCHEMA_VERSION, schemaDocument } from './schema.ts';

export const RESULTS_JSONL = 'results.jsonl';
export const RESULTS_CSV = 'results.csv';
export const ENV_JSON = 'env.json';
export const SCHEMA_JSON = 'schema.json';

/** An input problem with a results file: names the file and line; the CLI prints it without a stack trace. */
export class ResultsFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    reason: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${reason}`);
    this.name = 'ResultsFileError';
  }
}

/**
 * Write a whole file atomically: temporary file, fsync, rename. When any step fails (a full disk, a
 * read-only directory) the temporary file is removed and `file` is left as it was.
 */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw withPath(error, file);
  }
}

/** Append and fsync; when the write fails part-way (a full disk), cut the file back to its old length. */
function appendDurably(file: string, content: string): void {
  const fd = fs.openSync(file, 'a');
  const size = fs.fstatSync(fd).size;
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.ftruncateSync(fd, size);
    throw withPath(error, file);
  } finally {
    fs.closeSync(fd);
  }
}

const fileStamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/**
 * A results.jsonl whose last line is half-written (a writer killed mid-line) is cut back to its last
 * complete line before anything is appended, so the next row does not land on the broken one. The cut
 * bytes are kept in a side file; returns the message that says so, or null when the file was whole.
 */
export function repairTail(dir: string): string | null {
  const file = path.join(dir, RESULTS_JSONL);
  if (!fs.existsSync(file)) return null;
  const bytes = fs.readFileSync(file);
  if (bytes.length === 0 || bytes[bytes.length - 1] === 0x0a) return null;
  const keep = bytes.lastIndexOf(0x0a) + 1;
  const side = `${file}.cut-${fileStamp()}`;
  writeFileAtomic(side, bytes.subarray(keep));
  fs.truncateSync(file, keep);
  writeCsv(dir, readRows(dir, { warn: () => {} }));
  return `${file} ended in a half-written line (${bytes.length - keep} bytes from an interrupted write); cut it off before appending and kept those bytes in ${side}`;
}

/** results.csv rewritten (atomically) from rows: after rows were replaced or a broken tail cut off. */
function writeCsv(dir: string, rows: ResultRow[]): void {
  const csv = stringify(
    rows.map((r) => COLUMNS.map((c) => csvCell(r[c]))),
    { header: true, columns: COLUMNS as string[] },
  );
  writeFileAtomic(path.join(dir, RESULTS_CSV), csv);
}

/**
 * Replace the rows of one run (an interrupted or failed attempt) with the rows of its rerun, so the two
 * attempts are never pooled. The old rows are moved to `sideFile`, not lost. Returns how many were moved.
 */
export function replaceRunRows(dir: string, runId: string, rows: ResultRow[], sideFile: string): number {
  for (const row of rows) ResultRow.parse(row);
  const file = path.join(dir, RESULTS_JSONL);
  const kept: string[] = [];
  const moved: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let id: unknown;
    try {
      id = (JSON.parse(line) as { run_id?: unknown }).run_id;
    } catch {
      id = undefined; // an unreadable line stays where it is, for readers to report
    }
    (id === runId ? moved : kept).push(line);
  }
  fs.mkdirSync(path.dirname(sideFile), { recursive: true });
  if (moved.length > 0) appendDurably(sideFile, moved.join('\n') + '\n');
  writeFileAtomic(file, [...kept, ...rows.map((r) => JSON.stringify(r))].join('\n') + '\n');
  writeCsv(dir, readRows(dir, { warn: () => {} }));
  return moved.length;
}

function csvCell(value: unknown): unknown {
  if (Array.isArray(value)) return value.join(' ');
  return value;
}

/** Append one run's rows to results.jsonl and results.csv (creating them, with the CSV header, if new). */
export function appendRows(dir: string, rows: ResultRow[]): void {
  if (rows.length === 0) return;
  fs.mkdirSync(dir, { recursive: true });
  for (const row of rows) ResultRow.parse(row);
  appendDurably(path.join(dir, RESULTS_JSONL), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const csvFile = path.join(dir, RESULTS_CSV);
  const header = !fs.existsSync(csvFile);
  const csv = stringify(
    rows.map((r) => COLUMNS.map((c) => csvCell(r[c]))),
    { header, columns: COLUMNS as string[] },
  );
  appendDurably(csvFile, csv);
  const schemaFile = path.join(dir, SCHEMA_JSON);
  if (!fs.existsSync(schemaFile)) writeFileAtomic(schemaFile, JSON.stringify(schemaDocument(), null, 2) + '\n');
}

export interface ReadOptions {
  /**
   * What to do with a line that is not a valid row: skip it with a warning (default: reports), throw at
   * the first (`throw`), or read on and refuse the file naming the first bad line and how many there are
   * (`refuse`: what the regression gate, merge and baseline save do, so no figure is dropped unseen).
   */
  onBadLine?: 'skip' | 'throw' | 'refuse';
  warn?: (message: string) => void;
}

/** Read and validate results.jsonl of a results directory (or a .jsonl file). */
export function readRows(dirOrFile: string, options: ReadOptions = {}): ResultRow[] {
  const file = dirOrFile.endsWith('.jsonl') ? dirOrFile : path.join(dirOrFile, RESULTS_JSONL);
  if (!fs.existsSync(dirOrFile)) throw new ResultsFileError(dirOrFile, null, 'does not exist; expected a results directory written by `seqarena bench` or `seqarena run`');
  if (!fs.existsSync(file)) {
    throw new ResultsFileError(file, null, `no results file here; expected a results directory written by \`seqarena bench\` or \`seqarena run\``);
  }
  const warn = options.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const rows: ResultRow[] = [];
  const bad: { line: number; reason: string }[] = [];
  const reject = (lineNo: number, reason: string): void => {
    if (options.onBadLine === 'throw') throw new ResultsFileError(file, lineNo, reason);
    if (options.onBadLine === 'refuse') bad.push({ line: lineNo, reason });
    else warn(`${file}:${lineNo}: ${reason}; skipped`);
  };
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const lineNo = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      const last = lines.slice(i + 1).every((l) => l.trim() === '');
      reject(lineNo, last ? 'half-written last line (the writer was interrupted)' : 'not valid JSON');
      return;
    }
    const version = (parsed as { schema_version?: unknown }).schema_version;
    if (typeof version === 'number' && version > SCHEMA_VERSION) {
      throw new ResultsFileError(
        file,
        lineNo,
        `schema_version ${version} is newer than this seqarena reads (${SCHEMA_VERSION}); upgrade seqarena to read it`,
      );
    }
    const result = ResultRow.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      reject(lineNo, `not a valid row: ${issue?.path.join('.') || 'row'}: ${issue?.message}`);
      return;
    }
    rows.push(result.data);
  });
  if (bad.length > 0) {
    const total = bad.length + rows.length;
    throw new ResultsFileError(
      file,
      bad[0].line,
      `${bad[0].reason}; ${bad.length} of ${total} rows are invalid${bad.length > 1 ? ` (lines ${bad.slice(0, 5).map((b) => b.line).join(', ')}${bad.length > 5 ? ', …' : ''})` : ''}. ` +
        'Refusing to go on without them: fix or remove those lines, or rerun the suite (`seqarena report` skips invalid rows with a warning)',
    );
  }
  return rows;
}

/** Read rows from several results directories (shards, cpu and gpu runs) as one set. */
export function readRowsFrom(dirs: string[], options: ReadOptions = {}): ResultRow[] {
  return dirs.flatMap((d) => readRows(d, options));
}

export function readEnv(dir: string): Record<string, unknown> | null {
  const file = path.join(dir, ENV_JSON);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new ResultsFileError(file, null, 'not valid JSON');
  }
}

export function writeEnv(dir: string, env: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, ENV_JSON), JSON.stringify(env, null, 2) + '\n');
}
