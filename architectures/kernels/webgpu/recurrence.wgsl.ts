/**
 * The whole-sequence recurrences of the RNN family (Elman RNN, LSTM, GRU) in WGSL for the webgpu
 * backend: one dispatch per time step, which is as few as the dependency allows (step t needs all of
 * h_{t−1}), forward and backward (BPTT). Same signatures, gate orders and equations as recurrence.ts
 * (read that file for the maths), and tested against it.
 *
 * A step is one invocation per (batch row, hidden unit j): it forms unit j of every gate from x_t and
 * h_{t−1}·Wh (a dot product over h; neighbouring invocations read neighbouring columns of Wh), applies
 * the gates and writes unit j of the new state. All steps of a call write into one sequence-long
 * buffer — the program's output, which is read-write — so step t reads step t − 1's states from it,
 * and WebGPU orders the dispatches. Forward saves what backward needs (activated gates, cell states).
 *
 * Backward walks t = l−1 … 0 the same way: invocation (row, j) takes unit j of dL/dh_t from later steps
 * as the dot product of row j of Wh with the gate gradients of step t + 1 (written by the previous
 * dispatch), and writes unit j of this step's gate gradients. The sums over all steps that need no
 * recurrence — dWh = Σ_t h_{t−1}ᵀ dz_t, dbh, dh0 — are tfjs matmuls after the walk.
 *
 * The final states (hT, cT) are the last steps of hs and cs, sliced by the caller, so their gradients
 * reach the kernel as part of dhs and dcs.
 *
 * Glossary: b batch, l sequence length, h hidden size, gh gate width (h, 3h or 4h).
 */
import * as tf from '@tensorflow/tfjs';
import type { LstmSequenceOutput, RecurrenceOutput } from '../recurrence.ts';
import { copyRange, cover, ints, program, registerWebgpuKernel, runKernel, runProgram, unpack, wgsl, wgslActive, type WebgpuBackend, type WgslProgram } from './program.ts';

const STEP_WG = 64;

/** Activations that stay finite for any input (tanh through exp(−2|x|)). */
const ACTIVATIONS = `
fn sigmoid(x : f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn tanhSafe(x : f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }`;

/**
 * For the forward steps, whose sequence of states is the output: unit k of h_{t−1} for row bi, h0 at
 * t = 0, else from the previous step's slice of the output (so: this step's offset).
 */
const PREVIOUS_STATE = `
fn previousState(bi : i32, k : i32, t : i32, so : i32, hidden : i32) -> f32 {
  if (t == 0) { return h0[bi * hidden + k]; }
  return result[so - hidden + k];
}`;

/** The invocation's (batch row bi, unit j) and the step's geometry. */
const STEP_PROLOGUE = `
  let hidden = uniforms.hidden;
  let l = uniforms.l;
  let t = uniforms.t;
  if (index >= uniforms.b * hidden) { return; }
  let j = index % hidden;
  let bi = index / hidden;
  let so = (bi * l + t) * hidden;          // (b, l, h) offset of this step`;

function checkShapes(kind: string, gates: number, xProj: number[], wh: number[], states: Record<string, number[]>): { b: number; l: number; h: number } {
  const [b, l, gh] = xProj;
  const h = wh[0];
  if (xProj.length !== 3) throw new Error(`${kind}: xProj must be (b, l, ${gates}h), got shape [${xProj}]`);
  if (l === 0) throw new Error(`${kind}: recurrence over an empty sequence (xProj shape ${xProj}); give at least one time step`);
  if (wh.length !== 2 || wh[1] !== gates * h || gh !== gates * h) throw new Error(`${kind}: wh has shape [${wh}], expected [${gh / gates},${gh}] (from xProj [${xProj}])`);
  for (const [name, shape] of Object.entries(states)) {
    const want = name === 'bh' ? [gates * h] : [b, h];
    if (shape.length !== want.length || shape.some((s, i) => s !== want[i])) throw new Error(`${kind}: ${name} has shape [${shape}], expected [${want}]`);
  }
  if (tf.getBackend() !== 'webgpu') throw new Error(`${kind} runs on the webgpu backend, not '${tf.getBackend()}'`);
  return { b, l, h };
}

/**
 * Run `step` once per time step (forward t = 0 … l−1, or backward), all writing into one packed output
 * of `size` floats, and return it.
 */
function walk(backend: WebgpuBackend, p: WgslProgram, inputs: tf.TensorInfo[], geometry: Record<string, number>, l: number, size: number, backward: boolean): tf.TensorInfo {
  const out = backend.makeTensorInfo([size], 'float32');
  for (let s = 0; s < l; s++) {
    const t = backward ? l - 1 - s : s;
    runProgram(backend, p, inputs, ints({ ...geometry, t }).data, out);
  }
  return out;
}

function stepProgram(kernel: string, key: string, inputs: string[], b: number, h: number, size: number, geometry: Record<string, number>, body: string): WgslProgram {
  return program({
    kernel,
    key,
    inputs,
    outputSize: size,
    workgroupSize: STEP_WG,
    workgroups: cover(b * h, STEP_WG),
    uniforms: ints({ ...geometry, t: 0 }).declaration,
    code: wgsl({ functions: ACTIVATIONS + (body.includes('previousState(') ? PREVIOUS_STATE : ''), prologue: STEP_PROLOGUE, body }),
  });
}

/** The states before step t of every row, (b·l, h): h0 then hs without its last step. */
function previousStates(hs: tf.Tensor, h0: tf.Tensor): tf.Tensor2D {
  const [b, l, h] = hs.shape;
  const shifted = l > 1 ? tf.concat([h0.reshape([b, 1, h]), hs.slice([0, 0, 0], [b, l - 1, h])], 1) : h0.reshape([b, 1, h]);
  return shifted.reshape([b * l, h]) as tf.Tensor2D;
}

/** Step 0 of a (b, l, w) sequence, as (b, w). */
const firstStep = (x: tf.Tensor): tf.Tensor2D => {
  const [b, , w] = x.shape as number[];
  return x.slice([0, 0, 0], [b, 1, w]).reshape([b, w]) as tf.Tensor2D;
};
/** The last step of a (b, l, w) sequence, as (b, w). */
const lastStep = (x: tf.Tensor): tf.Tensor2D => {
  const [b, l, w] = x.shape as number[];
  return x.slice([0, l - 1, 0], [b, 1, w]).reshape([b, w]) as tf.Tensor2D;
};

// ---------------------------------------------------------------------------------------------------
// Elman RNN: h' = tanh(x_t + h·Wh). Forward output hs; backward output dz = dxProj (b, l, h).

const RNN_FORWARD = 'SeqarenaWgslRnnSequence';
const RNN_BACKWARD = 'SeqarenaWgslRnnSequenceGrad';

const RNN_STEP = `
  var z = xProj[so + j];
  for (var k = 0; k < hidden; k++) {
    let hk = previousState(bi, k, t, so, hidden);
    z += hk * wh[k * hidden + j];
  }
  result[so + j] = tanhSafe(z);`;

const RNN_BACK_STEP = `
  var dh = dhs[so + j];
  if (t < l - 1) {
    for (var m = 0; m < hidden; m++) { dh += result[so + hidden + m] * wh[j * hidden + m]; }
  }
  let ht = hs[so + j];
  result[so + j] = dh * (1.0 - ht * ht);`;

// ---------------------------------------------------------------------------------------------------
// LSTM: [i, f, g, o] = x_t + h·Wh;  c' = σ(f)⊙c + σ(i)⊙tanh(g);  h' = σ(o)⊙tanh(c').
// Forward output, packed: hs (b, l, h) | cs (b, l, h) | gates σ(i), σ(f), tanh(g), σ(o) (b, l, 4h).
// Backward output, packed: dz = dxProj (b, l, 4h) | dc (b, l, h), dL/dc_t.

const LSTM_FORWARD = 'SeqarenaWgslLstmSequence';
const LSTM_BACKWARD = 'SeqarenaWgslLstmSequenceGrad';

const LSTM_STEP = `
  let gh = 4 * hidden;
  let go = (bi * l + t) * gh;
  var zi = xProj[go + j];
  var zf = xProj[go + hidden + j];
  var zg = xProj[go + 2 * hidden + j];
  var zo = xProj[go + 3 * hidden + j];
  for (var k = 0; k < hidden; k++) {
    let hk = previousState(bi, k, t, so, hidden);
    let w = k * gh + j;
    zi += hk * wh[w];
    zf += hk * wh[w + hidden];
    zg += hk * wh[w + 2 * hidden];
    zo += hk * wh[w + 3 * hidden];
  }
  var cPrev : f32;
  if (t == 0) { cPrev = c0[bi * hidden + j]; } else { cPrev = result[uniforms.offC + so - hidden + j]; }
  let i = sigmoid(zi);
  let f = sigmoid(zf);
  let g = tanhSafe(zg);
  let o = sigmoid(zo);
  let c = f * cPrev + i * g;
  result[so + j] = o * tanhSafe(c);
  result[uniforms.offC + so + j] = c;
  let sg = uniforms.offGates + go;
  result[sg + j] = i;
  result[sg + hidden + j] = f;
  result[sg + 2 * hidden + j] = g;
  result[sg + 3 * hidden + j] = o;`;

const LSTM_BACK_STEP = `
  let gh = 4 * hidden;
  let go = (bi * l + t) * gh;
  var dh = dhs[so + j];
  var dc = dcs[so + j];
  if (t < l - 1) {
    for (var m = 0; m < gh; m++) { dh += result[go + gh + m] * wh[j * gh + m]; }
    dc += result[uniforms.offDc + so + hidden + j] * gates[go + gh + hidden + j];   // dc_{t+1} ⊙ f_{t+1}
  }
  let i = gates[go + j];
  let f = gates[go + hidden + j];
  let g = gates[go + 2 * hidden + j];
  let o = gates[go + 3 * hidden + j];
  let tc = tanhSafe(cs[so + j]);
  var cPrev : f32;
  if (t == 0) { cPrev = c0[bi * hidden + j]; } else { cPrev = cs[so - hidden + j]; }
  dc += dh * o * (1.0 - tc * tc);
  result[go + j] = dc * g * i * (1.0 - i);
  result[go + hidden + j] = dc * cPrev * f * (1.0 - f);
  result[go + 2 * hidden + j] = dc * i * (1.0 - g * g);
  result[go + 3 * hidden + j] = dh * tc * o * (1.0 - o);
  result[uniforms.offDc + so + j] = dc;`;

// ---------------------------------------------------------------------------------------------------
// GRU (PyTorch's form): a = h·Wh + bh;  r = σ(x_r + a_r);  z = σ(x_z + a_z);  n = tanh(x_n + r⊙a_n);
// h' = (1 − z)⊙n + z⊙h.
// Forward output, packed: hs (b, l, h) | saved r, z, n, a_n (b, l, 4h).
// Backward output, packed: dxProj (b, l, 3h) | dh (b, l, h), dL/dh_t.

const GRU_FORWARD = 'SeqarenaWgslGruSequence';
const GRU_BACKWARD = 'SeqarenaWgslGruSequenceGrad';

const GRU_STEP = `
  let gh = 3 * hidden;
  let xo = (bi * l + t) * gh;
  var ar = bh[j];
  var az = bh[hidden + j];
  var an = bh[2 * hidden + j];
  for (var k = 0; k < hidden; k++) {
    let hk = previousState(bi, k, t, so, hidden);
    let w = k * gh + j;
    ar += hk * wh[w];
    az += hk * wh[w + hidden];
    an += hk * wh[w + 2 * hidden];
  }
  let hPrev = previousState(bi, j, t, so, hidden);
  let r = sigmoid(xProj[xo + j] + ar);
  let z = sigmoid(xProj[xo + hidden + j] + az);
  let n = tanhSafe(xProj[xo + 2 * hidden + j] + r * an);
  result[so + j] = n + z * (hPrev - n);
  let vo = uniforms.offSaved + (bi * l + t) * 4 * hidden;
  result[vo + j] = r;
  result[vo + hidden + j] = z;
  result[vo + 2 * hidden + j] = n;
  result[vo + 3 * hidden + j] = an;`;

const GRU_BACK_STEP = `
  let gh = 3 * hidden;
  let xo = (bi * l + t) * gh;
  let vo = (bi * l + t) * 4 * hidden;
  var dh = dhs[so + j];
  if (t < l - 1) {
    // through h·Wh of step t + 1 (its gradient of a = h·Wh + bh: dxProj with the n block times r) and through z⊙h
    let next = xo + gh;
    let rNext = vo + 4 * hidden;
    for (var m = 0; m < hidden; m++) {
      let row = j * gh;
      dh += result[next + m] * wh[row + m];
      dh += result[next + hidden + m] * wh[row + hidden + m];
      dh += result[next + 2 * hidden + m] * saved[rNext + m] * wh[row + 2 * hidden + m];
    }
    dh += result[uniforms.offDh + so + hidden + j] * saved[rNext + hidden + j];
  }
  let r = saved[vo + j];
  let z = saved[vo + hidden + j];
  let n = saved[vo + 2 * hidden + j];
  let an = saved[vo + 3 * hidden + j];
  var hPrev : f32;
  if (t == 0) { hPrev = h0[bi * hidden + j]; } else { hPrev = hs[so - hidden + j]; }
  let dnPre = dh * (1.0 - z) * (1.0 - n * n);
  result[xo + j] = dnPre * an * r * (1.0 - r);
  result[xo + hidden + j] = dh * (hPrev - n) * z * (1.0 - z);
  result[xo + 2 * hidden + j] = dnPre;
  result[uniforms.offDh + so + j] = dh;`;

// ---------------------------------------------------------------------------------------------------
// Registration

function registerKernels(): void {
  registerWebgpuKernel(RNN_FORWARD, ['xProj', 'wh', 'h0'], (inputs, backend) => {
    const [b, l, h] = inputs[0].shape;
    const geometry = { b, l, hidden: h };
    const p = stepProgram(RNN_FORWARD, 'rnn_step', ['xProj', 'wh', 'h0'], b, h, b * l * h, geometry, RNN_STEP);
    return { ...walk(backend, p, inputs, geometry, l, b * l * h, false), shape: [b, l, h] };
  });
  registerWebgpuKernel(RNN_BACKWARD, ['dhs', 'hs', 'wh'], (inputs, backend) => {
    const [b, l, h] = inputs[1].shape;
    const geometry = { b, l, hidden: h };
    const p = stepProgram(RNN_BACKWARD, 'rnn_back_step', ['dhs', 'hs', 'wh'], b, h, b * l * h, geometry, RNN_BACK_STEP);
    return { ...walk(backend, p, inputs, geometry, l, b * l * h, true), shape: [b, l, h] };
  });

  registerWebgpuKernel(LSTM_FORWARD, ['xProj', 'wh', 'h0', 'c0'], (inputs, backend) => {
    const [b, l] = inputs[0].shape;
    const h = inputs[1].shape[0];
    const seq = b * l * h;
    const geometry = { b, l, hidden: h, offC: seq, offGates: 2 * seq };
    const p = stepProgram(LSTM_FORWARD, 'lstm_step', ['xProj', 'wh', 'h0', 'c0'], b, h, 6 * seq, geometry, LSTM_STEP);
    const packed = walk(backend, p, inputs, geometry, l, 6 * seq, false);
    const outputs = [copyRange(LSTM_FORWARD, backend, packed, 0, [b, l, h]), copyRange(LSTM_FORWARD, backend, packed, seq, [b, l, h]), copyRange(LSTM_FORWARD, backend, packed, 2 * seq, [b, l, 4 * h])];
    backend.disposeData(packed.dataId);
    return outputs;
  });
  registerWebgpuKernel(LSTM_BACKWARD, ['dhs', 'dcs', 'gates', 'cs', 'c0', 'wh'], (inputs, backend) => {
    const [b, l, h] = inputs[0].shape;
    const seq = b * l * h;
    const geometry = { b, l, hidden: h, offDc: 4 * seq };
    const p = stepProgram(LSTM_BACKWARD, 'lstm_back_step', ['dhs', 'dcs', 'gates', 'cs', 'c0', 'wh'], b, h, 5 * seq, geometry, LSTM_BACK_STEP);
    return walk(backend, p, inputs, geometry, l, 5 * seq, true);
  });

  registerWebgpuKernel(GRU_FORWARD, ['xProj', 'wh', 'bh', 'h0'], (inputs, backend) => {
    const [b, l] = inputs[0].shape;
    const h = inputs[1].shape[0];
    const seq = b * l * h;
    const geometry = { b, l, hidden: h, offSaved: seq };
    const p = stepProgram(GRU_FORWARD, 'gru_step', ['xProj', 'wh', 'bh', 'h0'], b, h, 5 * seq, geometry, GRU_STEP);
    const packed = walk(backend, p, inputs, geometry, l, 5 * seq, false);
    const outputs = [copyRange(GRU_FORWARD, backend, packed, 0, [b, l, h]), copyRange(GRU_FORWARD, backend, packed, seq, [b, l, 4 * h])];
    backend.disposeData(packed.dataId);
    return outputs;
  });
  registerWebgpuKernel(GRU_BACKWARD, ['dhs', 'saved', 'hs', 'h0', 'wh'], (inputs, backend) => {
    const [b, l, h] = inputs[0].shape;
    const seq = b * l * h;
    const geometry = { b, l, hidden: h, offDh: 3 * seq };
    const p = stepProgram(GRU_BACKWARD, 'gru_back_step', ['dhs', 'saved', 'hs', 'h0', 'wh'], b, h, 4 * seq, geometry, GRU_BACK_STEP);
    return walk(backend, p, inputs, geometry, l, 4 * seq, true);
  });
}

// Gradients: the backward kernel, then the sums over steps as tfjs ops. Forward outputs: rnn [hs];
// lstm [hs, cs, gates]; gru [hs, saved].
tf.registerGradient({
  kernelName: RNN_FORWARD,
  inputsToSave: ['wh', 'h0'],
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const dhs = Array.isArray(dy) ? dy[0] : dy;
    const [wh, h0, hs] = saved;
    const [b, l, h] = hs.shape;
    const [dz] = runKernel(RNN_BACKWARD, ['dhs', 'hs', 'wh'], [dhs, hs, wh]);
    return {
      xProj: () => dz,
      wh: () => tf.matMul(previousStates(hs, h0), dz.reshape([b * l, h]), true, false),
      h0: () => tf.matMul(firstStep(dz), wh, false, true),
    };
  },
});

tf.registerGradient({
  kernelName: LSTM_FORWARD,
  inputsToSave: ['wh', 'h0', 'c0'],
  outputsToSave: [true, true, true],
  gradFunc: (dys, saved) => {
    const [dhs, dcs] = dys as tf.Tensor[];
    const [wh, h0, c0, hs, cs, gates] = saved;
    const [b, l, h] = hs.shape;
    const [packed] = runKernel(LSTM_BACKWARD, ['dhs', 'dcs', 'gates', 'cs', 'c0', 'wh'], [dhs, dcs, gates, cs, c0, wh]);
    const [dz, dc] = unpack(packed, [
      [b, l, 4 * h],
      [b, l, h],
    ]);
    return {
      xProj: () => dz,
      wh: () => tf.matMul(previousStates(hs, h0), dz.reshape([b * l, 4 * h]), true, false),
      h0: () => tf.matMul(firstStep(dz), wh, false, true),
      c0: () => firstStep(dc).mul(firstStep(gates).slice([0, h], [b, h])), // dc_0 ⊙ f_0
    };
  },
});

tf.registerGradient({
  kernelName: GRU_FORWARD,
  inputsToSave: ['wh', 'h0'],
  outputsToSave: [true, true],
  gradFunc: (dys, saved) => {
    const [dhs] = dys as tf.Tensor[];
    const [wh, h0, hs, gateValues] = saved;
    const [b, l, h] = hs.shape;
    const [packed] = runKernel(GRU_BACKWARD, ['dhs', 'saved', 'hs', 'h0', 'wh'], [dhs, gateValues, hs, h0, wh]);
    const [dxProj, dh] = unpack(packed, [
      [b, l, 3 * h],
      [b, l, h],
    ]);
    // dL/d(h·Wh + bh): dxProj with its n block times r
    const [dr, dzGate, dn] = tf.split(dxProj, 3, 2);
    const r = gateValues.slice([0, 0, 0], [b, l, h]);
    const da = tf.concat([dr, dzGate, dn.mul(r)], 2);
    const z0 = firstStep(gateValues).slice([0, h], [b, h]);
    return {
      xProj: () => dxProj,
      wh: () => tf.matMul(previousStates(hs, h0), da.reshape([b * l, 3 * h]), true, false),
      bh: () => da.sum([0, 1]),
      h0: () => tf.matMul(firstStep(da), wh, false, true).add(firstStep(dh).mul(z0)),
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// The recurrences: drop-in for lstmSequence, gruSequence, rnnSequence on webgpu.

/** Whether the WGSL recurrences run now: the webgpu backend, unless SEQARENA_WEBGPU_KERNELS=reference. */
export const wgslRecurrenceSupported = wgslActive;

/** LSTM over a whole sequence, one dispatch a step. xProj: (b, l, 4h), gate order i, f, g, o; wh: (h, 4h); h0, c0: (b, h). */
export function lstmSequenceWgsl(xProj: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D, c0: tf.Tensor2D): LstmSequenceOutput {
  checkShapes('lstmSequenceWgsl', 4, xProj.shape, wh.shape, { h0: h0.shape, c0: c0.shape });
  registerKernels();
  return tf.tidy(() => {
    const [hs, cs] = runKernel(LSTM_FORWARD, ['xProj', 'wh', 'h0', 'c0'], [xProj, wh, h0, c0]);
    return { hs: hs as tf.Tensor3D, hT: lastStep(hs), cT: lastStep(cs) };
  });
}

/** GRU over a whole sequence, one dispatch a step. xProj: (b, l, 3h) with the input bias, order r, z, n; wh: (h, 3h); bh: (3h); h0: (b, h). */
export function gruSequenceWgsl(xProj: tf.Tensor3D, wh: tf.Tensor2D, bh: tf.Tensor1D, h0: tf.Tensor2D): RecurrenceOutput {
  checkShapes('gruSequenceWgsl', 3, xProj.shape, wh.shape, { bh: bh.shape, h0: h0.shape });
  registerKernels();
  return tf.tidy(() => {
    const [hs] = runKernel(GRU_FORWARD, ['xProj', 'wh', 'bh', 'h0'], [xProj, wh, bh, h0]);
    return { hs: hs as tf.Tensor3D, hT: lastStep(hs) };
  });
}

/** Elman RNN over a whole sequence, one dispatch a step. xProj: (b, l, h); wh: (h, h); h0: (b, h). */
export function rnnSequenceWgsl(xProj: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D): RecurrenceOutput {
  checkShapes('rnnSequenceWgsl', 1, xProj.shape, wh.shape, { h0: h0.shape });
  registerKernels();
  return tf.tidy(() => {
    const [hs] = runKernel(RNN_FORWARD, ['xProj', 'wh', 'h0'], [xProj, wh, h0]);
    return { hs: hs as tf.Tensor3D, hT: lastStep(hs) };
  });
}
