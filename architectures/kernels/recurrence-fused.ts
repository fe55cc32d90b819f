/**
 * Fused whole-sequence kernels for the Elman RNN, LSTM and GRU recurrences on the host backends (cpu,
 * wasm): one kernel call runs every time step forward, and one runs backpropagation through time.
 * The composed references in recurrence.ts launch ~10 tfjs ops per step; here a step is one SIMD
 * matrix–vector loop (simd.ts) and a plain loop over the gates, so recurrences stop paying per-op overhead.
 *
 * Same signatures, gate orders and equations as recurrence.ts (read that file for the maths), and tested
 * against it. Forward saves what backward needs (activated gates, cell states); backward walks t = l−1 … 0.
 * The backward kernel has no gradient of its own: first derivatives only, which is what training needs.
 *
 * The step's h·Wh dominates: it runs k-outer over one contiguous row of Wh (h, gh) at a time (gemvAcc),
 * so the inner loop streams memory; backward's dz·Whᵀ is a dot product with the same rows (gemvT), and
 * dWh += hᵀdz updates them in the same order (ger). States live in the SIMD arena while a kernel runs.
 *
 * Where the native addon is built (native.ts), every kernel here runs its C version instead
 * (native/src/recurrence.c): per step the whole batch block's h·Wh is one (rows, h)×(h, gh) product,
 * blocks of batch rows run on every core, and backward's dWh is one GEMM over all b·l steps. The loops
 * below stay the tested fallback.
 *
 * Glossary: b batch, l sequence length, h hidden size, gh gate width (h, 3h or 4h).
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native.ts';
import { Arena } from './simd.ts';
import { HOST_BACKENDS, registerHostKernel, float32Values as f32, type HostKernel } from './typed-kernel.ts';
import type { LstmSequenceOutput, RecurrenceOutput } from './recurrence.ts';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

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

const arena = new Arena();
const { gemvAcc, gemvT, ger } = arena.loops;

/** Arena offset of the state before step t of batch row bi: hs[bi, t−1], or h0[bi] at t = 0. */
function previous(seq: number, init: number, bi: number, t: number, l: number, h: number): number {
  return t === 0 ? init + bi * h : seq + (bi * l + t - 1) * h;
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

// ---------------------------------------------------------------------------------------------------
// Elman RNN: h' = tanh(x_t + h·Wh)

const RNN_FORWARD = 'SeqarenaRnnSequence';
const RNN_BACKWARD = 'SeqarenaRnnSequenceGrad';

const rnnForward: HostKernel = ({ xProj, wh, h0 }) => {
  const { b, l, h } = checkShapes('rnnSequenceFused', 1, xProj.shape, wh.shape, { h0: h0.shape });
  const native = nativeAddon();
  if (native?.rnnForward) {
    const hs = new Float32Array(b * l * h);
    native.rnnForward(f32(xProj), f32(wh), f32(h0), hs, b, l, h);
    return [
      { shape: [b, l, h], values: hs },
      { shape: [b, h], values: lastStep(hs, b, l, h) },
    ];
  }
  arena.begin(h * h + 2 * b * h + b * l * h + h + 16);
  const W = arena.alloc(h * h, wh.values);
  const H0 = arena.alloc(b * h, h0.values);
  const HS = arena.alloc(b * l * h);
  const Z = arena.alloc(h);
  const m = arena.f32;
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) {
      const xo = (bi * l + t) * h;
      m.set(xProj.values.subarray(xo, xo + h), Z);
      gemvAcc(Z, previous(HS, H0, bi, t, l, h), W, h, h);
      for (let j = 0; j < h; j++) m[HS + xo + j] = Math.tanh(m[Z + j]);
    }
  }
  const hs = arena.copyOut(HS, b * l * h);
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
  arena.begin(2 * h * h + b * h + b * l * h + 2 * h + 20);
  const W = arena.alloc(h * h, wh.values);
  const H0 = arena.alloc(b * h, h0.values);
  const HS = arena.alloc(b * l * h, hs.values);
  const DW = arena.alloc(h * h);
  const DZ = arena.alloc(h);
  const CARRY = arena.alloc(h); // dL/dh_t from later steps
  const m = arena.f32;
  const dxProj = new Float32Array(b * l * h);
  const dh0 = new Float32Array(b * h);
  for (let bi = 0; bi < b; bi++) {
    m.set(dhT.values.subarray(bi * h, bi * h + h), CARRY);
    for (let t = l - 1; t >= 0; t--) {
      const o = (bi * l + t) * h;
      for (let j = 0; j < h; j++) {
        const ht = m[HS + o + j];
        const dz = (dhs.values[o + j] + m[CARRY + j]) * (1 - ht * ht);
        m[DZ + j] = dz;
        dxProj[o + j] = dz;
      }
      const hPrev = previous(HS, H0, bi, t, l, h);
      gemvT(CARRY, DZ, W, h, h);
      ger(DW, hPrev, DZ, h, h);
    }
    dh0.set(m.subarray(CARRY, CARRY + h), bi * h);
  }
  return [
    { shape: [b, l, h], values: dxProj },
    { shape: [h, h], values: arena.copyOut(DW, h * h) },
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
  const native = nativeAddon();
  if (native?.lstmForward) {
    const [hs, cs, gates] = [b * l * h, b * l * h, b * l * gh].map((count) => new Float32Array(count));
    native.lstmForward(f32(xProj), f32(wh), f32(h0), f32(c0), hs, cs, gates, b, l, h);
    return [
      { shape: [b, l, h], values: hs },
      { shape: [b, h], values: lastStep(hs, b, l, h) },
      { shape: [b, h], values: lastStep(cs, b, l, h) },
      { shape: [b, l, gh], values: gates },
      { shape: [b, l, h], values: cs },
    ];
  }
  arena.begin(h * gh + b * h + b * l * h + gh + 16);
  const W = arena.alloc(h * gh, wh.values);
  const H0 = arena.alloc(b * h, h0.values);
  const HS = arena.alloc(b * l * h);
  const Z = arena.alloc(gh);
  const m = arena.f32;
  const cs = new Float32Array(b * l * h);
  const gates = new Float32Array(b * l * gh); // activated σ(i), σ(f), tanh(g), σ(o), saved for backward
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) {
      const xo = (bi * l + t) * gh;
      m.set(xProj.values.subarray(xo, xo + gh), Z);
      gemvAcc(Z, previous(HS, H0, bi, t, l, h), W, h, gh);
      const so = (bi * l + t) * h;
      const cPrev = t === 0 ? c0.values : cs;
      const cpo = t === 0 ? bi * h : so - h;
      for (let j = 0; j < h; j++) {
        const i = sigmoid(m[Z + j]);
        const f = sigmoid(m[Z + h + j]);
        const g = Math.tanh(m[Z + 2 * h + j]);
        const o = sigmoid(m[Z + 3 * h + j]);
        const c = f * cPrev[cpo + j] + i * g;
        cs[so + j] = c;
        m[HS + so + j] = o * Math.tanh(c);
        gates[xo + j] = i;
        gates[xo + h + j] = f;
        gates[xo + 2 * h + j] = g;
        gates[xo + 3 * h + j] = o;
      }
    }
  }
  const hs = arena.copyOut(HS, b * l * h);
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
  arena.begin(2 * h * gh + b * h + b * l * h + gh + h + 20);
  const W = arena.alloc(h * gh, wh.values);
  const H0 = arena.alloc(b * h, h0.values);
  const HS = arena.alloc(b * l * h, hs.values);
  const DW = arena.alloc(h * gh);
  const DZ = arena.alloc(gh);
  const DH = arena.alloc(h); // dL/dh_t from later steps
  const m = arena.f32;
  const dxProj = new Float32Array(b * l * gh);
  const dh0 = new Float32Array(b * h);
  const dc0 = new Float32Array(b * h);
  const dcCarry = new Float64Array(h);
  const gv = gates.values;
  const cv = cs.values;
  for (let bi = 0; bi < b; bi++) {
    m.set(dhT.values.subarray(bi * h, bi * h + h), DH);
    for (let j = 0; j < h; j++) dcCarry[j] = dcT.values[bi * h + j];
    for (let t = l - 1; t >= 0; t--) {
      const so = (bi * l + t) * h;
      const go = (bi * l + t) * gh;
      const cPrev = t === 0 ? c0.values : cv;
      const cpo = t === 0 ? bi * h : so - h;
      for (let j = 0; j < h; j++) {
        const i = gv[go + j];
        const f = gv[go + h + j];
        const g = gv[go + 2 * h + j];
        const o = gv[go + 3 * h + j];
        const tc = Math.tanh(cv[so + j]);
        const dh = dhs.values[so + j] + m[DH + j];
        const dc = dcCarry[j] + dh * o * (1 - tc * tc);
        m[DZ + j] = dc * g * i * (1 - i);
        m[DZ + h + j] = dc * cPrev[cpo + j] * f * (1 - f);
        m[DZ + 2 * h + j] = dc * i * (1 - g * g);
        m[DZ + 3 * h + j] = dh * tc * o * (1 - o);
        dcCarry[j] = dc * f;
      }
      dxProj.set(m.subarray(DZ, DZ + gh), go);
      gemvT(DH, DZ, W, h, gh);
      ger(DW, previous(HS, H0, bi, t, l, h), DZ, h, gh);
    }
    dh0.set(m.subarray(DH, DH + h), bi * h);
    for (let j = 0; j < h; j++) dc0[bi * h + j] = dcCarry[j];
  }
  return [
    { shape: [b, l, gh], values: dxProj },
    { shape: [h, gh], values: arena.copyOut(DW, h * gh) },
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
  const native = nativeAddon();
  if (native?.gruForward) {
    const [hs, saved] = [b * l * h, b * l * 4 * h].map((count) => new Float32Array(count));
    native.gruForward(f32(xProj), f32(wh), f32(bh), f32(h0), hs, saved, b, l, h);
    return [
      { shape: [b, l, h], values: hs },
      { shape: [b, h], values: lastStep(hs, b, l, h) },
      { shape: [b, l, 4 * h], values: saved },
    ];
  }
  arena.begin(h * gh + b * h + b * l * h + gh + 16);
  const W = arena.alloc(h * gh, wh.values);
  const H0 = arena.alloc(b * h, h0.values);
  const HS = arena.alloc(b * l * h);
  const A = arena.alloc(gh);
  const m = arena.f32;
  const saved = new Float32Array(b * l * 4 * h); // r, z, n, a_n per step: what backward needs
  const x = xProj.values;
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) {
      m.set(bh.values, A);
      const hPrev = previous(HS, H0, bi, t, l, h);
      gemvAcc(A, hPrev, W, h, gh);
      const xo = (bi * l + t) * gh;
      const so = (bi * l + t) * h;
      const vo = (bi * l + t) * 4 * h;
      for (let j = 0; j < h; j++) {
        const an = m[A + 2 * h + j];
        const r = sigmoid(x[xo + j] + m[A + j]);
        const z = sigmoid(x[xo + h + j] + m[A + h + j]);
        const n = Math.tanh(x[xo + 2 * h + j] + r * an);
        m[HS + so + j] = n + z * (m[hPrev + j] - n);
        saved[vo + j] = r;
        saved[vo + h + j] = z;
        saved[vo + 2 * h + j] = n;
        saved[vo + 3 * h + j] = an;
      }
    }
  }
  const hs = arena.copyOut(HS, b * l * h);
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
  arena.begin(2 * h * gh + b * h + b * l * h + gh + h + 20);
  const W = arena.alloc(h * gh, wh.values);
  const H0 = arena.alloc(b * h, h0.values);
  const HS = arena.alloc(b * l * h, hs.values);
  const DW = arena.alloc(h * gh);
  const DA = arena.alloc(gh); // dL/d(h·Wh + bh)
  const CARRY = arena.alloc(h);
  const m = arena.f32;
  const dxProj = new Float32Array(b * l * gh);
  const dbh = new Float64Array(gh);
  const dh0 = new Float32Array(b * h);
  const direct = new Float64Array(h); // dL/dh_{t−1} through z⊙h, the path that skips Wh
  const sv = saved.values;
  for (let bi = 0; bi < b; bi++) {
    m.set(dhT.values.subarray(bi * h, bi * h + h), CARRY);
    for (let t = l - 1; t >= 0; t--) {
      const so = (bi * l + t) * h;
      const xo = (bi * l + t) * gh;
      const vo = (bi * l + t) * 4 * h;
      const hPrev = previous(HS, H0, bi, t, l, h);
      for (let j = 0; j < h; j++) {
        const r = sv[vo + j];
        const z = sv[vo + h + j];
        const n = sv[vo + 2 * h + j];
        const an = sv[vo + 3 * h + j];
        const dh = dhs.values[so + j] + m[CARRY + j];
        const dnPre = dh * (1 - z) * (1 - n * n);
        const drPre = dnPre * an * r * (1 - r);
        const dzPre = dh * (m[hPrev + j] - n) * z * (1 - z);
        dxProj[xo + j] = drPre;
        dxProj[xo + h + j] = dzPre;
        dxProj[xo + 2 * h + j] = dnPre;
        m[DA + j] = drPre;
        m[DA + h + j] = dzPre;
        m[DA + 2 * h + j] = dnPre * r;
        direct[j] = dh * z;
      }
      for (let j = 0; j < gh; j++) dbh[j] += m[DA + j];
      gemvT(CARRY, DA, W, h, gh);
      ger(DW, hPrev, DA, h, gh);
      for (let j = 0; j < h; j++) m[CARRY + j] += direct[j];
    }
    dh0.set(m.subarray(CARRY, CARRY + h), bi * h);
  }
  return [
    { shape: [b, l, gh], values: dxProj },
    { shape: [h, gh], values: arena.copyOut(DW, h * gh) },
    { shape: [gh], values: Float32Array.from(dbh) },
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
