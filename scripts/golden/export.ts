/**
 * Step 1 of the golden fixtures: build each golden case's model in seqarena (cpu backend, its seeded
 * initialisation) and write its weights and batch to tests/fixtures/golden/<case>.weights.json, for
 * scripts/golden/reference.py to load into the PyTorch reference of the family.
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
import { baseName, GOLDEN_CASES, GOLDEN_OPTIMIZER } from './cases.ts';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'golden');
fs.mkdirSync(out, { recursive: true });
await tf.setBackend('cpu');


for (const c of GOLDEN_CASES) {
  const arch = ARCHITECTURES[c.arch as keyof typeof ARCHITECTURES] as unknown as Architecture;
  const model = arch.build(arch.config.parse(c.config), c.io);
  const weights = await Promise.all(
    model.trainableWeights.map(async (v) => ({ name: baseName(v.name), shape: v.shape, decay: model.decayedWeights.has(v), values: Array.from((await v.data()) as Float32Array, (x) => Number(x.toPrecision(9))) })),
  );
  model.dispose();
  fs.writeFileSync(path.join(out, `${c.name}.weights.json`), JSON.stringify({ ...c, weights }) + '\n');
  console.log(`${c.name}: ${weights.length} tensors, ${weights.reduce((n, w) => n + w.values.length, 0)} values`);
}
fs.writeFileSync(path.join(out, 'optimizer.settings.json'), JSON.stringify(GOLDEN_OPTIMIZER, null, 2) + '\n');
