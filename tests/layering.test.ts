/**
 * Where code lives: the dependency between harness and reports runs one way (reports read what the
 * harness produces), and the results schema file is the JSON Schema generated from the zod row schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { appendRows, SCHEMA_JSON } from '../harness/results/io.ts';
import { metricRow } from '../harness/results/rows.ts';
import { COLUMNS, ResultRow } from '../harness/results/schema.ts';
import { testColumns } from './fixtures/columns.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The modules a file imports (static and dynamic), as written. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]);
}

const tsFiles = (dir: string): string[] =>
  fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));

test('the harness (outside the CLI commands) imports nothing from reports/', () => {
  const offenders = tsFiles('harness')
    .filter((f) => !f.startsWith(path.join('harness', 'commands')))
    .flatMap((f) => importsOf(path.join(ROOT, f)).filter((m) => m.includes('reports/')).map((m) => `${f} imports ${m}`));
  assert.deepEqual(offenders, []);
});

test('a model knows nothing of how it is run, a task nothing of which model reads it', () => {
  const offenders = [
    ...tsFiles('architectures').flatMap((f) => importsOf(path.join(ROOT, f)).filter((m) => /(^|\/)(tasks|harness|reports)\//.test(m)).map((m) => `${f} imports ${m}`)),
    ...tsFiles('tasks').flatMap((f) => importsOf(path.join(ROOT, f)).filter((m) => /(^|\/)(architectures|harness|reports)\//.test(m)).map((m) => `${f} imports ${m}`)),
  ];
  assert.deepEqual(offenders, []);
});

test('reports import no models, tasks or engine', () => {
  const offenders = tsFiles('reports').flatMap((f) =>
    importsOf(path.join(ROOT, f))
      .filter((m) => /(^|\/)(architectures|tasks)\//.test(m) || /harness\/(engine|spec|train|evaluate|loss|optimizer|run|runner)\.ts$/.test(m))
      .map((m) => `${f} imports ${m}`),
  );
  assert.deepEqual(offenders, []);
});

test('schema.json beside results is the JSON Schema generated from the zod row schema', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqarena-schema-'));
  try {
    const row = metricRow(testColumns('r0'), 'tokens_per_s', { samples: [1, 2, 3] });
    appendRows(dir, [row]);
    const written = JSON.parse(fs.readFileSync(path.join(dir, SCHEMA_JSON), 'utf8'));
    const generated = z.toJSONSchema(ResultRow) as { properties: Record<string, unknown>; required: string[] };
    assert.deepEqual(Object.keys(written.properties), COLUMNS);
    assert.deepEqual(written.properties, generated.properties);
    assert.deepEqual(written.required, generated.required);
    assert.equal(written['x-schema-version'], row.schema_version);
    // Every column is documented and typed; the types admit the row just written and refuse a number held as a string.
    const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v);
    for (const name of COLUMNS) {
      const column = written.properties[name] as { description?: string; type?: string | string[]; enum?: unknown[]; anyOf?: { type: string }[] };
      assert.ok(column.description, `${name} has a description`);
      const types = [column.type ?? column.anyOf?.map((a) => a.type) ?? []].flat().map((t) => (t === 'integer' ? 'number' : t));
      if (column.enum) assert.ok(column.enum.includes(row[name]), `${name}: ${row[name]} in ${column.enum}`);
      else assert.ok(types.includes(jsonType(row[name])), `${name}: ${jsonType(row[name])} in ${types}`);
    }
    assert.ok(!(written.properties.value.type as string[]).includes('string'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
