/**
 * Step 1 of the golden fixtures: build each golden case's model in seqarena (cpu backend, its seeded
 * initialisation, plus the case's seeded jitter where it names one) and write its weights and batch to
 * tests/fixtures/golden/<case>.weights.json, for scripts/golden/reference.py to load into the PyTorch
 * reference of the family.
 *
 *   node --import tsx scripts/golden/export.ts && /usr/bin/python3 scripts/golden/reference.py
 *
 * Run by hand (PyTorch from Debian's python3-torch); never in CI. The test reads the committed files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES } from '../../architectures/index.ts';
import type { Architecture } from '../../architectures/types.ts';
import { rng } from '../../util/rng.ts';
import { baseName, GOLDEN_CASES, GOLDEN_OPTIMIZER } from './cases.ts';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'golden');
fs.mkdirSync(out, { recursive: true });
await tf.setBackend('cpu');


for (const c of GOLDEN_CASES) {
  const arch = ARCHITECTURES[c.arch as keyof typeof ARCHITECTURES] as unknown as Architecture;
  const model = arch.build(arch.config.parse(c.config), c.io);
  const noise = rng(1);
  const weights = [];
  for (const v of model.trainableWeights) {
    const name = baseName(v.name);
    const jitter = Object.entries(c.jitter ?? {}).find(([part]) => name.includes(part))?.[1] ?? 0;
    const values = Float32Array.from((await v.data()) as Float32Array, (x) => (jitter ? x + jitter * (2 * noise.float() - 1) : x));
    weights.push({ name, shape: v.shape, decay: model.decayedWeights.has(v), values: Array.from(values, (x) => Number(x.toPrecision(9))) });
  }
  model.dispose();
  fs.writeFileSync(path.join(out, `${c.name}.weights.json`), JSON.stringify({ ...c, weights }) + '\n');
  console.log(`${c.name}: ${weights.length} tensors, ${weights.reduce((n, w) => n + w.values.length, 0)} values`);
}
fs.writeFileSync(path.join(out, 'optimizer.settings.json'), JSON.stringify(GOLDEN_OPTIMIZER, null, 2) + '\n');
