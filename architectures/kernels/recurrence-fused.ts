/**
 * Fused whole-sequence kernels for the Elman RNN, LSTM and GRU recurrences on the host backends (cpu,
 * wasm): one kernel call runs every time step forward, and one runs backpropagation through time.
 * The composed references in recurrence.ts launch ~10 tfjs ops per step; here a step is one matrix
 * product for the whole batch and a plain loop over the gates, so recurrences stop paying per-op overhead.
 *
 * Same signatures, gate orders and equations as recurrence.ts (read that file for the maths), and tested
 * against it. Forward saves what backward needs (activated gates, cell states); backward walks t = l−1 … 0.
 * The backward kernel has no gradient of its own: first derivatives only, which is what training needs.
 *
 * Batch rows are independent through time, so every step's h·Wh is one (b, h)×(h, gh) product of the
 * whole batch's states, and backward's dz·Whᵀ one (b, gh)×(gh, h) product; backward's
 * dWh = Σ_(row, t) h_{t−1}ᵀ dz_t is one (h, b·l)×(b·l, gh) product after the walk. Where the native
 * addon is built (native.ts), every kernel here runs its C version (native/src/recurrence.c: blocks of
 * batch rows on every core, the same products); otherwise the products run on the WebAssembly GEMM's
 * worker threads (matmul.ts's wasmGemm; the readable gemmReference where WebAssembly SIMD or shared
 * memory is missing) and the gate loops below in JavaScript. Those loops stay the tested fallback.
 *
 * Glossary: b batch, l sequence length, h hidden size, gh gate width (h, 3h or 4h).
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import { gemmReference, type GemmFn } from './gemm.ts';
import { wasmGemm } from './matmul.ts';
import { HOST_BACKENDS, registerHostKernel, float32Values as f32, type HostKernel } from './typed-kernel.ts';
import type { LstmSequenceOutput, RecurrenceOutput } from './recurrence.ts';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** tanh through one Math.exp, which V8 runs in about half the time of Math.tanh; exact limits ±1. */
const tanh = (x: number): number => 1 - 2 / (Math.exp(2 * x) + 1);

/** Shapes (b, l, gates·h), (h, gates·h), (b, h) agree, or an error naming the one that does not. */
function checkShapes(kind: string, gates: number, xProj: number[], wh: number[], states: Record<string, number[]>): { b: number; l: number; h: number } {
  const [b, l, gh] = xProj;
  const h = wh[0];
  const bad = (what: string, shape: number[], want: number[]): Error =>
    new Error(`${kind}: ${what} has shape [${shape}], expected [${want}] (from xProj [${xProj}] and wh [${wh}])`);
  if (xProj.length !== 3) throw new Error(`${kind}: xProj must be (b, l, ${gates}h), got shape [${xProj}]`);
  if (l === 0) throw new Error(`${kind}: recurrence over an empty sequence (xProj shape ${xProj}); give at least one time step`);
  if (wh.length !== 2 || wh[1] !== gates * h || gh !== gates * h) throw bad('wh', wh, [gh / gates, gh]);
  for (const [name, shape] of Object.entries(states)) {
    const want = name === 'bh' ? [gates * h] : [b, h];
    if (shape.length !== want.length || shape.some((s, i) => s !== want[i])) throw bad(name, shape, want);
  }
  return { b, l, h };
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces

/** The GEMM of the fallback's per-step products. */
const stepGemm = (): GemmFn => wasmGemm() ?? gemmReference;

/** c (m, n) = a (m, k) · b (k, n); with transA a is (k, m), with transB b is (n, k). */
function product(m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, transA = false, transB = false): void {
  stepGemm()({ batch: 1, m, n, k, transA, transB, a, strideA: 0, b, strideB: 0, c, strideC: 0 });
}

/** The last step of a (b, l, h) sequence, as a (b, h) array. */
function lastStep(seq: Float32Array, b: number, l: number, h: number): Float32Array {
  const out = new Float32Array(b * h);
  for (let bi = 0; bi < b; bi++) {
    const from = (bi * l + l - 1) * h;
    out.set(seq.subarray(from, from + h), bi * h);
  }
  return out;
}

/** The state before every step, (b·l, h) in (row, t) order: h0[row] at t = 0, else hs[row, t−1]. */
function previousStates(hs: Float32Array, h0: Float32Array, b: number, l: number, h: number): Float32Array {
  const out = new Float32Array(b * l * h);
  for (let bi = 0; bi < b; bi++) {
    out.set(h0.subarray(bi * h, bi * h + h), bi * l * h);
    out.set(hs.subarray(bi * l * h, (bi * l + l - 1) * h), (bi * l + 1) * h);
  }
  return out;
}

/** Wh (h, gh) as (gh, h), so backward's per-step dz·Whᵀ is a plain product (the GEMM would pack Bᵀ at every step). */
function transposed(w: Float32Array, h: number, gh: number): Float32Array {
  const out = new Float32Array(h * gh);
  for (let k = 0; k < h; k++) for (let j = 0; j < gh; j++) out[j * h + k] = w[k * gh + j];
  return out;
}

/** dWh (h, gh) = Σ_(row, t) h_{t−1}ᵀ dz_t: previous states (b·l, h) against the pre-activation gradients (b·l, gh). */
function weightGradient(hs: Float32Array, h0: Float32Array, dz: Float32Array, b: number, l: number, h: number, gh: number): Float32Array {
  const dwh = new Float32Array(h * gh);
  product(h, gh, b * l, previousStates(hs, h0, b, l, h), dz, dwh, true, false);
  return dwh;
}

// ---------------------------------------------------------------------------------------------------
// Elman RNN: h' = tanh(x_t + h·Wh)

const RNN_FORWARD = 'SeqarenaRnnSequence';
const RNN_BACKWARD = 'SeqarenaRnnSequenceGrad';

const rnnForward: HostKernel = ({ xProj, wh, h0 }) => {
  const { b, l, h } = checkShapes('rnnSequenceFused', 1, xProj.shape, wh.shape, { h0: h0.shape });
  const hs = new Float32Array(b * l * h);
  const native = nativeAddon();
  if (native?.rnnForward) {
    native.rnnForward(f32(xProj), f32(wh), f32(h0), hs, b, l, h);
  } else {
    const W = f32(wh);
    const state = Float32Array.from(h0.values); // (b, h): h_{t−1} of every row
    const z = new Float32Array(b * h); // (b, h): h_{t−1}·Wh
    const x = xProj.values;
    for (let t = 0; t < l; t++) {
      product(b, h, h, state, W, z);
      for (let bi = 0; bi < b; bi++) {
        const o = (bi * l + t) * h;
        for (let j = 0; j < h; j++) {
          const v = tanh(x[o + j] + z[bi * h + j]);
          hs[o + j] = v;
          state[bi * h + j] = v;
        }
      }
    }
  }
  return [
    { shape: [b, l, h], values: hs },
    { shape: [b, h], values: lastStep(hs, b, l, h) },
  ];
};

const rnnBackward: HostKernel = ({ dhs, dhT, hs, wh, h0 }) => {
  const [b, l, h] = hs.shape;
  const native = nativeAddon();
  if (native?.rnnBackward) {
    const [dxProj, dwh, dh0] = [b * l * h, h * h, b * h].map((count) => new Float32Array(count));
    native.rnnBackward(f32(dhs), f32(dhT), f32(hs), f32(wh), f32(h0), dxProj, dwh, dh0, b, l, h);
    return [
      { shape: [b, l, h], values: dxProj },
      { shape: [h, h], values: dwh },
      { shape: [b, h], values: dh0 },
    ];
  }
  const WT = transposed(f32(wh), h, h);
  const hv = hs.values;
  const gy = dhs.values;
  const dxProj = new Float32Array(b * l * h); // dz_t of every (row, t): also what dWh needs
  const carry = Float32Array.from(dhT.values); // (b, h): dL/dh_t from later steps
  const dz = new Float32Array(b * h);
  for (let t = l - 1; t >= 0; t--) {
    for (let bi = 0; bi < b; bi++) {
      const o = (bi * l + t) * h;
      for (let j = 0; j < h; j++) {
        const ht = hv[o + j];
        const g = (gy[o + j] + carry[bi * h + j]) * (1 - ht * ht);
        dz[bi * h + j] = g;
        dxProj[o + j] = g;
      }
    }
    product(b, h, h, dz, WT, carry);
  }
  return [
    { shape: [b, l, h], values: dxProj },
    { shape: [h, h], values: weightGradient(f32(hs), f32(h0), dxProj, b, l, h, h) },
    { shape: [b, h], values: carry },
  ];
};

// ---------------------------------------------------------------------------------------------------
// LSTM: [i, f, g, o] = x_t + h·Wh;  c' = σ(f)⊙c + σ(i)⊙tanh(g);  h' = σ(o)⊙tanh(c')

const LSTM_FORWARD = 'SeqarenaLstmSequence';
const LSTM_BACKWARD = 'SeqarenaLstmSequenceGrad';

const lstmForward: HostKernel = ({ xProj, wh, h0, c0 }) => {
  const { b, l, h } = checkShapes('lstmSequenceFused', 4, xProj.shape, wh.shape, { h0: h0.shape, c0: c0.shape });
  const gh = 4 * h;
  // gates: activated σ(i), σ(f), tanh(g), σ(o), saved for backward
  const [hs, cs, gates] = [b * l * h, b * l * h, b * l * gh].map((count) => new Float32Array(count));
  const native = nativeAddon();
  if (native?.lstmForward) {
    native.lstmForward(f32(xProj), f32(wh), f32(h0), f32(c0), hs, cs, gates, b, l, h);
  } else {
    const W = f32(wh);
    const state = Float32Array.from(h0.values); // (b, h)
    const cell = Float32Array.from(c0.values); // (b, h)
    const z = new Float32Array(b * gh); // (b, gh): h_{t−1}·Wh
    const x = xProj.values;
    for (let t = 0; t < l; t++) {
      product(b, gh, h, state, W, z);
      for (let bi = 0; bi < b; bi++) {
        const xo = (bi * l + t) * gh;
        const so = (bi * l + t) * h;
        const zo = bi * gh;
        for (let j = 0; j < h; j++) {
          const i = sigmoid(x[xo + j] + z[zo + j]);
          const f = sigmoid(x[xo + h + j] + z[zo + h + j]);
          const g = tanh(x[xo + 2 * h + j] + z[zo + 2 * h + j]);
          const o = sigmoid(x[xo + 3 * h + j] + z[zo + 3 * h + j]);
          const c = f * cell[bi * h + j] + i * g;
          const hv = o * tanh(c);
          cell[bi * h + j] = c;
          cs[so + j] = c;
          state[bi * h + j] = hv;
          hs[so + j] = hv;
          gates[xo + j] = i;
          gates[xo + h + j] = f;
          gates[xo + 2 * h + j] = g;
          gates[xo + 3 * h + j] = o;
        }
      }
    }
  }
  return [
    { shape: [b, l, h], values: hs },
    { shape: [b, h], values: lastStep(hs, b, l, h) },
    { shape: [b, h], values: lastStep(cs, b, l, h) },
    { shape: [b, l, gh], values: gates },
    { shape: [b, l, h], values: cs },
  ];
};

const lstmBackward: HostKernel = ({ dhs, dhT, dcT, gates, cs, hs, wh, h0, c0 }) => {
  const [b, l, h] = hs.shape;
  const gh = 4 * h;
  const native = nativeAddon();
  if (native?.lstmBackward) {
    const [dxProj, dwh, dh0, dc0] = [b * l * gh, h * gh, b * h, b * h].map((count) => new Float32Array(count));
    native.lstmBackward(f32(dhs), f32(dhT), f32(dcT), f32(gates), f32(cs), f32(hs), f32(wh), f32(h0), f32(c0), dxProj, dwh, dh0, dc0, b, l, h);
    return [
      { shape: [b, l, gh], values: dxProj },
      { shape: [h, gh], values: dwh },
      { shape: [b, h], values: dh0 },
      { shape: [b, h], values: dc0 },
    ];
  }
  const WT = transposed(f32(wh), h, gh);
  const gv = gates.values;
  const cv = cs.values;
  const gy = dhs.values;
  const dxProj = new Float32Array(b * l * gh); // dz_t of every (row, t): also what dWh needs
  const carry = Float32Array.from(dhT.values); // (b, h): dL/dh_t from later steps
  const dcCarry = Float64Array.from(dcT.values); // (b, h): dL/dc_t from later steps
  const dz = new Float32Array(b * gh);
  for (let t = l - 1; t >= 0; t--) {
    for (let bi = 0; bi < b; bi++) {
      const so = (bi * l + t) * h;
      const go = (bi * l + t) * gh;
      const zo = bi * gh;
      const cPrev = t === 0 ? c0.values : cv;
      const cpo = t === 0 ? bi * h : so - h;
      for (let j = 0; j < h; j++) {
        const i = gv[go + j];
        const f = gv[go + h + j];
        const g = gv[go + 2 * h + j];
        const o = gv[go + 3 * h + j];
        const tc = tanh(cv[so + j]);
        const dh = gy[so + j] + carry[bi * h + j];
        const dc = dcCarry[bi * h + j] + dh * o * (1 - tc * tc);
        dz[zo + j] = dc * g * i * (1 - i);
        dz[zo + h + j] = dc * cPrev[cpo + j] * f * (1 - f);
        dz[zo + 2 * h + j] = dc * i * (1 - g * g);
        dz[zo + 3 * h + j] = dh * tc * o * (1 - o);
        dcCarry[bi * h + j] = dc * f;
      }
      dxProj.set(dz.subarray(zo, zo + gh), go);
    }
    product(b, h, gh, dz, WT, carry);
  }
  return [
    { shape: [b, l, gh], values: dxProj },
    { shape: [h, gh], values: weightGradient(f32(hs), f32(h0), dxProj, b, l, h, gh) },
    { shape: [b, h], values: carry },
    { shape: [b, h], values: Float32Array.from(dcCarry) },
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
  const native = nativeAddon();
  if (native?.gruForward) {
    native.gruForward(f32(xProj), f32(wh), f32(bh), f32(h0), hs, saved, b, l, h);
  } else {
    const W = f32(wh);
    const state = Float32Array.from(h0.values); // (b, h)
    const a = new Float32Array(b * gh); // (b, gh): h_{t−1}·Wh (bh added below)
    const x = xProj.values;
    const bias = bh.values;
    for (let t = 0; t < l; t++) {
      product(b, gh, h, state, W, a);
      for (let bi = 0; bi < b; bi++) {
        const xo = (bi * l + t) * gh;
        const so = (bi * l + t) * h;
        const vo = (bi * l + t) * 4 * h;
        const ao = bi * gh;
        for (let j = 0; j < h; j++) {
          const an = a[ao + 2 * h + j] + bias[2 * h + j];
          const r = sigmoid(x[xo + j] + a[ao + j] + bias[j]);
          const z = sigmoid(x[xo + h + j] + a[ao + h + j] + bias[h + j]);
          const n = tanh(x[xo + 2 * h + j] + r * an);
          const hv = n + z * (state[bi * h + j] - n);
          state[bi * h + j] = hv;
          hs[so + j] = hv;
          saved[vo + j] = r;
          saved[vo + h + j] = z;
          saved[vo + 2 * h + j] = n;
          saved[vo + 3 * h + j] = an;
        }
      }
    }
  }
  return [
    { shape: [b, l, h], values: hs },
    { shape: [b, h], values: lastStep(hs, b, l, h) },
    { shape: [b, l, 4 * h], values: saved },
  ];
};

const gruBackward: HostKernel = ({ dhs, dhT, saved, hs, wh, h0 }) => {
  const [b, l, h] = hs.shape;
  const gh = 3 * h;
  const native = nativeAddon();
  if (native?.gruBackward) {
    const [dxProj, dwh, dbh, dh0] = [b * l * gh, h * gh, gh, b * h].map((count) => new Float32Array(count));
    native.gruBackward(f32(dhs), f32(dhT), f32(saved), f32(hs), f32(wh), f32(h0), dxProj, dwh, dbh, dh0, b, l, h);
    return [
      { shape: [b, l, gh], values: dxProj },
      { shape: [h, gh], values: dwh },
      { shape: [gh], values: dbh },
      { shape: [b, h], values: dh0 },
    ];
  }
  const WT = transposed(f32(wh), h, gh);
  const hv = hs.values;
  const h0v = h0.values;
  const sv = saved.values;
  const gy = dhs.values;
  const dxProj = new Float32Array(b * l * gh);
  const da = new Float32Array(b * l * gh); // dL/d(h·Wh + bh) of every (row, t): what dWh and dbh need
  const dbh = new Float64Array(gh);
  const carry = Float32Array.from(dhT.values); // (b, h): dL/dh_t from later steps
  const direct = new Float32Array(b * h); // dL/dh_{t−1} through z⊙h, the path that skips Wh
  const daStep = new Float32Array(b * gh);
  for (let t = l - 1; t >= 0; t--) {
    for (let bi = 0; bi < b; bi++) {
      const so = (bi * l + t) * h;
      const xo = (bi * l + t) * gh;
      const vo = (bi * l + t) * 4 * h;
      const ao = bi * gh;
      const prev = t === 0 ? h0v : hv;
      const po = t === 0 ? bi * h : so - h;
      for (let j = 0; j < h; j++) {
        const r = sv[vo + j];
        const z = sv[vo + h + j];
        const n = sv[vo + 2 * h + j];
        const an = sv[vo + 3 * h + j];
        const dh = gy[so + j] + carry[bi * h + j];
        const dnPre = dh * (1 - z) * (1 - n * n);
        const drPre = dnPre * an * r * (1 - r);
        const dzPre = dh * (prev[po + j] - n) * z * (1 - z);
        dxProj[xo + j] = drPre;
        dxProj[xo + h + j] = dzPre;
        dxProj[xo + 2 * h + j] = dnPre;
        daStep[ao + j] = drPre;
        daStep[ao + h + j] = dzPre;
        daStep[ao + 2 * h + j] = dnPre * r;
        direct[bi * h + j] = dh * z;
      }
      da.set(daStep.subarray(ao, ao + gh), xo);
      for (let j = 0; j < gh; j++) dbh[j] += daStep[ao + j];
    }
    product(b, h, gh, daStep, WT, carry);
    for (let j = 0; j < b * h; j++) carry[j] += direct[j];
  }
  return [
    { shape: [b, l, gh], values: dxProj },
    { shape: [h, gh], values: weightGradient(f32(hs), f32(h0), da, b, l, h, gh) },
    { shape: [gh], values: Float32Array.from(dbh) },
    { shape: [b, h], values: carry },
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

/** Whether the fused recurrences can run on a backend: the host backends, whose tensors JavaScript reads directly. */
export function fusedRecurrenceSupported(backendName: string = tf.getBackend()): boolean {
  return (HOST_BACKENDS as readonly string[]).includes(backendName);
}

/** Which implementation the fused recurrences run: the native C kernels where the addon is built, else the WebAssembly SIMD loops. */
export function fusedRecurrenceImplementation(): 'native' | 'wasm' {
  return nativeAddon()?.lstmForward ? 'native' : 'wasm';
}

function ensureRegistered(): void {
  const backend = tf.getBackend();
  if (tf.getKernel(LSTM_FORWARD, backend)) return;
  if (!fusedRecurrenceSupported(backend)) {
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
