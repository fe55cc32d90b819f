/**
 * Fused whole-sequence kernels for the Elman RNN, LSTM and GRU recurrences on the host backends (cpu,
 * wasm): one kernel call runs every time step forward, and one runs backpropagation through time.
 * The composed references in recurrence.ts launch ~10 tfjs ops per step; here a step is a few plain
 * loops over typed arrays, so short and narrow recurrences stop paying per-op overhead.
 *
 * Same signatures, gate orders and equations as recurrence.ts (read that file for the maths), and tested
 * against it. Forward saves what backward needs (activated gates, cell states); backward walks t = l−1 … 0.
 *
 * The step's h·Wh dominates: its loops run k-outer over one contiguous row of Wh (h, gh), so the
 * inner loop streams memory; backward's dz·Whᵀ is a dot product with the same row, and dWh += hᵀdz
 * updates it in the same order.
 *
 * Glossary: b batch, l sequence length, h hidden size, gh gate width (h, 3h or 4h).
 */
import * as tf from '@tensorflow/tfjs';
import { registerHostKernel, type HostKernel } from './typed-kernel.ts';
import type { LstmSequenceOutput, RecurrenceOutput } from './recurrence.ts';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** A kernel input's values (float32 here; the typed-kernel contract also allows int32). */
type Values = Float32Array | Int32Array;

/** Shapes (b, l, gates·h), (h, gates·h), (b, h) agree, or an error naming the one that does not. */
function checkShapes(kind: string, gates: number, xProj: number[], wh: number[], states: Record<string, number[]>): { b: number; l: number; h: number } {
  const [b, l, gh] = xProj;
  const h = wh[0];
  const bad = (what: string, shape: number[], want: number[]): Error =>
    new Error(`${kind}: ${what} has shape [${shape}], expected [${want}] (from xProj [${xProj}] and wh [${wh}])`);
  if (xProj.length !== 3) throw new Error(`${kind}: xProj must be (b, l, ${gates}h), got shape [${xProj}]`);
  if (wh.length !== 2 || wh[1] !== gates * h || gh !== gates * h) throw bad('wh', wh, [gh / gates, gh]);
  for (const [name, shape] of Object.entries(states)) {
    const want = name === 'bh' ? [gates * h] : [b, h];
    if (shape.length !== want.length || shape.some((s, i) => s !== want[i])) throw bad(name, shape, want);
  }
  return { b, l, h };
}

// ---------------------------------------------------------------------------------------------------
// Shared inner loops

/** out[0..n) += Σ_k hPrev[k] · W[k, 0..n): k-outer, each pass over one contiguous row of W (h, n). */
function addRowTimesMatrix(out: Float64Array, hPrev: Values, hOffset: number, w: Values, h: number, n: number): void {
  for (let k = 0; k < h; k++) {
    const hk = hPrev[hOffset + k];
    if (hk === 0) continue;
    const row = k * n;
    for (let j = 0; j < n; j++) out[j] += hk * w[row + j];
  }
}

/** dh[k] = Σ_j dz[j] · W[k, j] (dz·Wᵀ), and dW[k, j] += hPrev[k] · dz[j]: both along contiguous rows. */
function backThroughMatrix(
  dz: Float64Array,
  w: Values,
  hPrev: Values,
  hOffset: number,
  dw: Float64Array,
  dh: Float64Array,
  h: number,
  n: number,
): void {
  for (let k = 0; k < h; k++) {
    const row = k * n;
    const hk = hPrev[hOffset + k];
    let acc = 0;
    for (let j = 0; j < n; j++) {
      acc += dz[j] * w[row + j];
      dw[row + j] += hk * dz[j];
    }
    dh[k] = acc;
  }
}

/** The state before step t of batch row bi: hs[bi, t−1] or h0[bi] (a (values, offset) pair). */
function previous(seq: Values, init: Values, bi: number, t: number, l: number, h: number): [Values, number] {
  return t === 0 ? [init, bi * h] : [seq, (bi * l + t - 1) * h];
}

const toF32 = (a: Float64Array): Float32Array => Float32Array.from(a);

// ---------------------------------------------------------------------------------------------------
// Elman RNN: h' = tanh(x_t + h·Wh)

const RNN_FORWARD = 'SeqarenaRnnSequence';
const RNN_BACKWARD = 'SeqarenaRnnSequenceGrad';

const rnnForward: HostKernel = ({ xProj, wh, h0 }) => {
  const { b, l, h } = checkShapes('rnnSequenceFused', 1, xProj.shape, wh.shape, { h0: h0.shape });
  const hs = new Float32Array(b * l * h);
  const z = new Float64Array(h);
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) {
      const xo = (bi * l + t) * h;
      for (let j = 0; j < h; j++) z[j] = xProj.values[xo + j];
      const [prev, po] = previous(hs, h0.values, bi, t, l, h);
      addRowTimesMatrix(z, prev, po, wh.values, h, h);
      for (let j = 0; j < h; j++) hs[xo + j] = Math.tanh(z[j]);
    }
  }
  return [
    { shape: [b, l, h], values: hs },
    { shape: [b, h], values: lastStep(hs, h0.values, b, l, h) },
  ];
};

/** hs[:, l−1] (or h0 for an empty sequence), as a (b, h) array. */
function lastStep(seq: Float32Array, init: Values, b: number, l: number, h: number): Float32Array {
  const out = new Float32Array(b * h);
  for (let bi = 0; bi < b; bi++) {
    const [src, so] = previous(seq, init, bi, l, l, h);
    out.set(src.subarray(so, so + h), bi * h);
  }
  return out;
}

const rnnBackward: HostKernel = ({ dhs, dhT, hs, wh, h0 }) => {
  const [b, l, h] = hs.shape;
  const dxProj = new Float32Array(b * l * h);
  const dwh = new Float64Array(h * h);
  const dh0 = new Float32Array(b * h);
  const carry = new Float64Array(h); // dL/dh_t from later steps
  const dz = new Float64Array(h);
  for (let bi = 0; bi < b; bi++) {
    for (let j = 0; j < h; j++) carry[j] = dhT.values[bi * h + j];
    for (let t = l - 1; t >= 0; t--) {
      const o = (bi * l + t) * h;
      for (let j = 0; j < h; j++) {
        const ht = hs.values[o + j];
        dz[j] = (dhs.values[o + j] + carry[j]) * (1 - ht * ht);
        dxProj[o + j] = dz[j];
      }
      const [prev, po] = previous(hs.values, h0.values, bi, t, l, h);
      backThroughMatrix(dz, wh.values, prev, po, dwh, carry, h, h);
    }
    for (let j = 0; j < h; j++) dh0[bi * h + j] = carry[j];
  }
  return [
    { shape: [b, l, h], values: dxProj },
    { shape: [h, h], values: toF32(dwh) },
    { shape: [b, h], values: dh0 },
  ];
};

// ---------------------------------------------------------------------------------------------------
// LSTM: [i, f, g, o] = x_t + h·Wh;  c' = σ(f)⊙c + σ(i)⊙tanh(g);  h' = σ(o)⊙tanh(c')

const LSTM_FORWARD = 'SeqarenaLstmSequence';
const LSTM_BACKWARD = 'SeqarenaLstmSequenceGrad';

const lstmForward: HostKernel = ({ xProj, wh, h0, c0 }) => {
  const { b, l, h } = checkShapes('lstmSequenceFused', 4, xProj.shape, wh.shape, { h0: h0.shape, c0: c0.shape });
  const gh = 4 * h;
  const hs = new Float32Array(b * l * h);
  const cs = new Float32Array(b * l * h);
  const gates = new Float32Array(b * l * gh); // activated σ(i), σ(f), tanh(g), σ(o), saved for backward
  const z = new Float64Array(gh);
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) {
      const xo = (bi * l + t) * gh;
      for (let j = 0; j < gh; j++) z[j] = xProj.values[xo + j];
      const [hPrev, hpo] = previous(hs, h0.values, bi, t, l, h);
      const [cPrev, cpo] = previous(cs, c0.values, bi, t, l, h);
      addRowTimesMatrix(z, hPrev, hpo, wh.values, h, gh);
      const so = (bi * l + t) * h;
      for (let j = 0; j < h; j++) {
        const i = sigmoid(z[j]);
        const f = sigmoid(z[h + j]);
        const g = Math.tanh(z[2 * h + j]);
        const o = sigmoid(z[3 * h + j]);
        const c = f * cPrev[cpo + j] + i * g;
        cs[so + j] = c;
        hs[so + j] = o * Math.tanh(c);
        gates[xo + j] = i;
        gates[xo + h + j] = f;
        gates[xo + 2 * h + j] = g;
        gates[xo + 3 * h + j] = o;
      }
    }
  }
  return [
    { shape: [b, l, h], values: hs },
    { shape: [b, h], values: lastStep(hs, h0.values, b, l, h) },
    { shape: [b, h], values: lastStep(cs, c0.values, b, l, h) },
    { shape: [b, l, gh], values: gates },
    { shape: [b, l, h], values: cs },
  ];
};

const lstmBackward: HostKernel = ({ dhs, dhT, dcT, gates, cs, hs, wh, h0, c0 }) => {
  const [b, l, h] = hs.shape;
  const gh = 4 * h;
  const dxProj = new Float32Array(b * l * gh);
  const dwh = new Float64Array(h * gh);
  const dh0 = new Float32Array(b * h);
  const dc0 = new Float32Array(b * h);
  const dhCarry = new Float64Array(h);
  const dcCarry = new Float64Array(h);
  const dz = new Float64Array(gh);
  const gv = gates.values;
  for (let bi = 0; bi < b; bi++) {
    for (let j = 0; j < h; j++) {
      dhCarry[j] = dhT.values[bi * h + j];
      dcCarry[j] = dcT.values[bi * h + j];
    }
    for (let t = l - 1; t >= 0; t--) {
      const so = (bi * l + t) * h;
      const go = (bi * l + t) * gh;
      const [cPrev, cpo] = previous(cs.values, c0.values, bi, t, l, h);
      for (let j = 0; j < h; j++) {
        const i = gv[go + j];
        const f = gv[go + h + j];
        const g = gv[go + 2 * h + j];
        const o = gv[go + 3 * h + j];
        const tc = Math.tanh(cs.values[so + j]);
        const dh = dhs.values[so + j] + dhCarry[j];
        const dc = dcCarry[j] + dh * o * (1 - tc * tc);
        dz[j] = dc * g * i * (1 - i);
        dz[h + j] = dc * cPrev[cpo + j] * f * (1 - f);
        dz[2 * h + j] = dc * i * (1 - g * g);
        dz[3 * h + j] = dh * tc * o * (1 - o);
        dcCarry[j] = dc * f;
      }
      for (let j = 0; j < gh; j++) dxProj[go + j] = dz[j];
      const [hPrev, hpo] = previous(hs.values, h0.values, bi, t, l, h);
      backThroughMatrix(dz, wh.values, hPrev, hpo, dwh, dhCarry, h, gh);
    }
    for (let j = 0; j < h; j++) {
      dh0[bi * h + j] = dhCarry[j];
      dc0[bi * h + j] = dcCarry[j];
    }
  }
  return [
    { shape: [b, l, gh], values: dxProj },
    { shape: [h, gh], values: toF32(dwh) },
    { shape: [b, h], values: dh0 },
    { shape: [b, h], values: dc0 },
  ];
};

// ---------------------------------------------------------------------------------------------------
// GRU (PyTorch's form): a = h·Wh + bh;  r = σ(x_r + a_r);  z = σ(x_z + a_z);  n = tanh(x_n + r⊙a_n);
// h' = (1 − z)⊙n + z⊙h

const GRU_FORWARD = 'SeqarenaGruSequence';
const GRU_BACKWARD = 'SeqarenaGruSequenceGrad';

const gruForward: HostKernel = ({ xProj, wh, bh, h0 }) => {
  const { b, l, h } = checkShapes('gruSequenceFused', 3, xProj.shape, wh.shape, { bh: bh.shape, h0: h0.shape });
  const gh = 3 * h;
  const hs = new Float32Array(b * l * h);
  const saved = new Float32Array(b * l * 4 * h); // r, z, n, a_n per step: what backward needs
  const a = new Float64Array(gh);
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) {
      for (let j = 0; j < gh; j++) a[j] = bh.values[j];
      const [hPrev, hpo] = previous(hs, h0.values, bi, t, l, h);
      addRowTimesMatrix(a, hPrev, hpo, wh.values, h, gh);
      const xo = (bi * l + t) * gh;
      const so = (bi * l + t) * h;
      const vo = (bi * l + t) * 4 * h;
      for (let j = 0; j < h; j++) {
        const r = sigmoid(xProj.values[xo + j] + a[j]);
        const z = sigmoid(xProj.values[xo + h + j] + a[h + j]);
        const n = Math.tanh(xProj.values[xo + 2 * h + j] + r * a[2 * h + j]);
        hs[so + j] = n + z * (hPrev[hpo + j] - n);
        saved[vo + j] = r;
        saved[vo + h + j] = z;
        saved[vo + 2 * h + j] = n;
        saved[vo + 3 * h + j] = a[2 * h + j];
      }
    }
  }
  return [
    { shape: [b, l, h], values: hs },
    { shape: [b, h], values: lastStep(hs, h0.values, b, l, h) },
    { shape: [b, l, 4 * h], values: saved },
  ];
};

const gruBackward: HostKernel = ({ dhs, dhT, saved, hs, wh, h0 }) => {
  const [b, l, h] = hs.shape;
  const gh = 3 * h;
  const dxProj = new Float32Array(b * l * gh);
  const dwh = new Float64Array(h * gh);
  const dbh = new Float64Array(gh);
  const dh0 = new Float32Array(b * h);
  const carry = new Float64Array(h);
  const direct = new Float64Array(h); // dL/dh_{t−1} through z⊙h, the path that skips Wh
  const da = new Float64Array(gh); // dL/d(h·Wh + bh)
  const sv = saved.values;
  for (let bi = 0; bi < b; bi++) {
    for (let j = 0; j < h; j++) carry[j] = dhT.values[bi * h + j];
    for (let t = l - 1; t >= 0; t--) {
      const so = (bi * l + t) * h;
      const xo = (bi * l + t) * gh;
      const vo = (bi * l + t) * 4 * h;
      const [hPrev, hpo] = previous(hs.values, h0.values, bi, t, l, h);
      for (let j = 0; j < h; j++) {
        const r = sv[vo + j];
        const z = sv[vo + h + j];
        const n = sv[vo + 2 * h + j];
        const an = sv[vo + 3 * h + j];
        const dh = dhs.values[so + j] + carry[j];
        const dnPre = dh * (1 - z) * (1 - n * n);
        const drPre = dnPre * an * r * (1 - r);
        const dzPre = dh * (hPrev[hpo + j] - n) * z * (1 - z);
        dxProj[xo + j] = drPre;
        dxProj[xo + h + j] = dzPre;
        dxProj[xo + 2 * h + j] = dnPre;
        da[j] = drPre;
        da[h + j] = dzPre;
        da[2 * h + j] = dnPre * r;
        direct[j] = dh * z;
      }
      for (let j = 0; j < gh; j++) dbh[j] += da[j];
      backThroughMatrix(da, wh.values, hPrev, hpo, dwh, carry, h, gh);
      for (let j = 0; j < h; j++) carry[j] += direct[j];
    }
    for (let j = 0; j < h; j++) dh0[bi * h + j] = carry[j];
  }
  return [
    { shape: [b, l, gh], values: dxProj },
    { shape: [h, gh], values: toF32(dwh) },
    { shape: [gh], values: toF32(dbh) },
    { shape: [b, h], values: dh0 },
  ];
};

// ---------------------------------------------------------------------------------------------------
// Registration: kernels per host backend (lazily, since wasm registers its backend on import), and
// gradients once. A gradient runs the backward kernel once and hands out its outputs.

const KERNELS: [string, HostKernel][] = [
  [RNN_FORWARD, rnnForward],
  [RNN_BACKWARD, rnnBackward],
  [LSTM_FORWARD, lstmForward],
  [LSTM_BACKWARD, lstmBackward],
  [GRU_FORWARD, gruForward],
  [GRU_BACKWARD, gruBackward],
];

function run(kernelName: string, inputs: Record<string, tf.Tensor>): tf.Tensor[] {
  return tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap) as unknown as tf.Tensor[];
}

function ensureRegistered(): void {
  const backend = tf.getBackend();
  if (tf.getKernel(LSTM_FORWARD, backend)) return;
  if (!(['cpu', 'wasm'] as string[]).includes(backend)) {
    throw new Error(`the fused recurrence kernels run on the cpu and wasm backends, not '${backend}'; call the reference (recurrence.ts) there`);
  }
  for (const [name, kernel] of KERNELS) registerHostKernel(name, kernel);
}

// Gradients. Forward outputs: rnn [hs, hT]; lstm [hs, hT, cT, gates, cs]; gru [hs, hT, saved].
tf.registerGradient({
  kernelName: RNN_FORWARD,
  inputsToSave: ['wh', 'h0'],
  outputsToSave: [true, false],
  gradFunc: (dys, saved) => {
    const [dhs, dhT] = dys as tf.Tensor[];
    const [wh, h0, hs] = saved;
    const [dxProj, dwh, dh0] = run(RNN_BACKWARD, { dhs, dhT, hs, wh, h0 });
    return { xProj: () => dxProj, wh: () => dwh, h0: () => dh0 };
  },
});

tf.registerGradient({
  kernelName: LSTM_FORWARD,
  inputsToSave: ['wh', 'h0', 'c0'],
  outputsToSave: [true, false, false, true, true],
  gradFunc: (dys, saved) => {
    const [dhs, dhT, dcT] = dys as tf.Tensor[];
    const [wh, h0, c0, hs, gates, cs] = saved;
    const [dxProj, dwh, dh0, dc0] = run(LSTM_BACKWARD, { dhs, dhT, dcT, gates, cs, hs, wh, h0, c0 });
    return { xProj: () => dxProj, wh: () => dwh, h0: () => dh0, c0: () => dc0 };
  },
});

tf.registerGradient({
  kernelName: GRU_FORWARD,
  inputsToSave: ['wh', 'h0'],
  outputsToSave: [true, false, true],
  gradFunc: (dys, saved) => {
    const [dhs, dhT] = dys as tf.Tensor[];
    const [wh, h0, hs, gateValues] = saved;
    const [dxProj, dwh, dbh, dh0] = run(GRU_BACKWARD, { dhs, dhT, saved: gateValues, hs, wh, h0 });
    return { xProj: () => dxProj, wh: () => dwh, bh: () => dbh, h0: () => dh0 };
  },
});

// ---------------------------------------------------------------------------------------------------
// The fused recurrences: drop-in for lstmSequence, gruSequence, rnnSequence (cpu and wasm backends).

/** LSTM over a whole sequence in one kernel. xProj: (b, l, 4h), gate order i, f, g, o; wh: (h, 4h); h0, c0: (b, h). */
export function lstmSequenceFused(xProj: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D, c0: tf.Tensor2D): LstmSequenceOutput {
  ensureRegistered();
  const [hs, hT, cT, gates, cs] = run(LSTM_FORWARD, { xProj, wh, h0, c0 });
  // gates and cs live on in the gradient tape (as clones) when one is recording; the caller never sees them
  gates.dispose();
  cs.dispose();
  return { hs: hs as tf.Tensor3D, hT: hT as tf.Tensor2D, cT: cT as tf.Tensor2D };
}

/** GRU over a whole sequence in one kernel. xProj: (b, l, 3h) with the input bias, order r, z, n; wh: (h, 3h); bh: (3h); h0: (b, h). */
export function gruSequenceFused(xProj: tf.Tensor3D, wh: tf.Tensor2D, bh: tf.Tensor1D, h0: tf.Tensor2D): RecurrenceOutput {
  ensureRegistered();
  const [hs, hT, saved] = run(GRU_FORWARD, { xProj, wh, bh, h0 });
  saved.dispose();
  return { hs: hs as tf.Tensor3D, hT: hT as tf.Tensor2D };
}

/** Elman RNN over a whole sequence in one kernel. xProj: (b, l, h); wh: (h, h); h0: (b, h). */
export function rnnSequenceFused(xProj: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D): RecurrenceOutput {
  ensureRegistered();
  const [hs, hT] = run(RNN_FORWARD, { xProj, wh, h0 });
  return { hs: hs as tf.Tensor3D, hT: hT as tf.Tensor2D };
}
