/**
 * The selective scan of Mamba in WGSL for the webgpu backend: a chunked parallel scan over time, forward
 * and backward, tested equal to `selectiveScanReference` (selective-scan.ts, whose glossary this file
 * uses: b, l, di, n, Δ, A, B, C, D).
 *
 * Time is cut into nc = ⌈l / T⌉ chunks of T steps. Within a chunk the recurrence
 *   h_t = a_t ⊙ h_{t−1} + Δ_t B_t u_t,   a_t = exp(Δ_t A)   (n per channel)
 * runs sequentially in one invocation per (sequence, chunk, channel), all chunks at once; only the
 * states entering each chunk need a sequential pass over chunks, one invocation per (sequence,
 * channel, state):
 *
 *   forward   1. summaries: from a zero state, each chunk's end state h̃ and decay product M = Π a_t
 *             2. carry:     H_{c+1} = M_c ⊙ H_c + h̃_c, the state entering each chunk
 *             3. outputs:   rerun each chunk from H_c, y_t = C_t · h_t + D u_t
 *   backward  the adjoint g_t = ∂loss/∂h_t runs the other way, g_t = a_{t+1} ⊙ g_{t+1} + dy_t C_t, and
 *             is chunked the same way:
 *             1. summaries of (1) again (states are recomputed, never stored)
 *             2. each chunk's adjoint from a zero end: S_c = a_start ⊙ g̃_start
 *             3. carry both ways: H_c forward, and R_c = S_{c+1} + M_{c+1} ⊙ R_{c+1} (what enters the
 *                chunk from its right) backward
 *             4. per chunk: rerun the T states from H_c into private memory, walk them backward from R_c
 *                and write ∂u, ∂Δ and the per-chunk partial sums of ∂A, ∂B, ∂C (∂B and ∂C sum over
 *                channels: a workgroup of channels adds its share in workgroup memory)
 *             ∂D = Σ dy ⊙ u and the partial sums' last reduction are tfjs ops.
 *
 * Memory: what the forward and backward hold beyond inputs and outputs is (b, nc, di, n) per chunk
 * summary, so it grows as l / T — linear in l — and never as l · n per channel like the composed scans.
 * Sequential depth is 2T + nc per direction instead of l.
 */
import * as tf from '@tensorflow/tfjs';
import { scanSizes } from '../selective-scan-fused.ts';
import { cover, ints, program, registerWebgpuKernel, runKernel, runProgram, unpack, wgsl, wgslActive, type WebgpuBackend } from './program.ts';

const FORWARD = 'SeqarenaWgslSelectiveScan';
const BACKWARD = 'SeqarenaWgslSelectiveScanGrad';
const FORWARD_INPUTS = ['u', 'delta', 'A', 'B', 'C', 'D'];
const BACKWARD_INPUTS = ['u', 'delta', 'A', 'B', 'C', 'dy'];

/**
 * Steps per chunk: the backward keeps a chunk's T·n states in private memory, so T·n stays at 256 floats
 * or less (T ≤ 16).
 */
export function defaultChunk(n: number): number {
  return Math.max(1, Math.min(16, Math.floor(256 / n)));
}

/** Channels per workgroup of the backward's reduction over channels: 2 · channels · n floats of workgroup memory ≤ 8 KiB. */
function channelsPerGroup(n: number): number {
  return Math.max(1, Math.min(64, Math.floor(1024 / n)));
}

interface Geometry {
  b: number;
  l: number;
  di: number;
  n: number;
  T: number;
  nc: number;
}

function geometry(u: tf.TensorInfo, A: tf.TensorInfo, chunk: number): Geometry {
  const [b, l, di] = u.shape;
  const n = A.shape[1];
  return { b, l, di, n, T: chunk, nc: Math.ceil(l / chunk) };
}

// ---------------------------------------------------------------------------------------------------
// The WGSL passes, on two shared prologues: the per-chunk passes run one invocation per (sequence s,
// chunk c, channel d), workgroups (⌈di / WG⌉, nc, b); the carries one per (sequence s, channel d, state k).

const perChunk = (WG: number): string => `
  let lid = i32(localId.x);
  let d = i32(workgroupId.x) * ${WG} + lid;
  let c = i32(workgroupId.y);
  let s = i32(workgroupId.z);
  let l = uniforms.l;
  let di = uniforms.di;
  let t0 = c * T;
  let t1 = min(t0 + T, l);`;

const perState = `
  let di = uniforms.di;
  let nc = uniforms.nc;
  if (index >= uniforms.b * di * N) { return; }
  let k = index % N;
  let d = (index / N) % di;
  let s = index / (N * di);`;

/** A per-chunk pass with n states and chunks of T steps. */
const chunkPass = (N: number, T: number, WG: number, body: string, workgroup?: Record<string, string>): string =>
  wgsl({ consts: { N, T }, workgroup, prologue: perChunk(WG), body });

/** Pass 1: each chunk from a zero state → summary (b, nc, di, 2n) = [h̃ (n) | M (n)]. */
function summariesCode(N: number, T: number, WG: number): string {
  return chunkPass(N, T, WG, `
  if (d >= di) { return; }
  var h : array<f32, N>;
  var m : array<f32, N>;
  for (var k = 0; k < N; k++) { h[k] = 0.0; m[k] = 1.0; }
  for (var t = t0; t < t1; t++) {
    let i = (s * l + t) * di + d;          // (b, l, di)
    let dt = delta[i];
    let dtx = dt * u[i];
    let bc = (s * l + t) * N;              // (b, l, n)
    for (var k = 0; k < N; k++) {
      let a = exp(dt * A[d * N + k]);
      h[k] = a * h[k] + dtx * B[bc + k];
      m[k] = a * m[k];
    }
  }
  let o = ((s * uniforms.nc + c) * di + d) * 2 * N;   // (b, nc, di, 2n)
  for (var k = 0; k < N; k++) {
    result[o + k] = h[k];
    result[o + N + k] = m[k];
  }`);
}

/** Pass 2 (forward): one invocation per (s, d, k) carries the state over chunks → entering (b, nc, di, n). */
function carryCode(N: number): string {
  return wgsl({ consts: { N }, prologue: perState, body: `
  var H = 0.0;
  for (var c = 0; c < nc; c++) {
    let row = (s * nc + c) * di + d;
    result[row * N + k] = H;
    H = summary[row * 2 * N + N + k] * H + summary[row * 2 * N + k];
  }` });
}

/** Pass 3 (forward): rerun each chunk from the state entering it → y (b, l, di). */
function outputsCode(N: number, T: number, WG: number): string {
  return chunkPass(N, T, WG, `
  if (d >= di) { return; }
  var h : array<f32, N>;
  let o = ((s * uniforms.nc + c) * di + d) * N;       // (b, nc, di, n)
  for (var k = 0; k < N; k++) { h[k] = entering[o + k]; }
  for (var t = t0; t < t1; t++) {
    let i = (s * l + t) * di + d;
    let dt = delta[i];
    let x = u[i];
    let bc = (s * l + t) * N;
    var y = 0.0;
    for (var k = 0; k < N; k++) {
      h[k] = exp(dt * A[d * N + k]) * h[k] + dt * x * B[bc + k];
      y += C[bc + k] * h[k];
    }
    result[i] = y + D[d] * x;
  }`);
}

/** Backward pass 2: each chunk's adjoint from a zero end → S (b, nc, di, n) = a_start ⊙ g̃_start. */
function adjointSummariesCode(N: number, T: number, WG: number): string {
  return chunkPass(N, T, WG, `
  if (d >= di) { return; }
  var g : array<f32, N>;                 // a_{t+1} ⊙ g_{t+1}: zero past the chunk's end
  for (var k = 0; k < N; k++) { g[k] = 0.0; }
  for (var t = t1 - 1; t >= t0; t--) {
    let i = (s * l + t) * di + d;
    let dt = delta[i];
    let gy = dy[i];
    let bc = (s * l + t) * N;
    for (var k = 0; k < N; k++) {
      g[k] = exp(dt * A[d * N + k]) * (g[k] + gy * C[bc + k]);
    }
  }
  let o = ((s * uniforms.nc + c) * di + d) * N;
  for (var k = 0; k < N; k++) { result[o + k] = g[k]; }`);
}

/** Backward pass 3: one invocation per (s, d, k) → HR (b, nc, di, 2n) = [H entering (n) | R from the right (n)]. */
function carryBothWaysCode(N: number): string {
  return wgsl({ consts: { N }, prologue: perState, body: `
  var H = 0.0;
  for (var c = 0; c < nc; c++) {
    let row = (s * nc + c) * di + d;
    result[row * 2 * N + k] = H;
    H = summary[row * 2 * N + N + k] * H + summary[row * 2 * N + k];
  }
  var R = 0.0;
  for (var c = nc - 1; c >= 0; c--) {
    let row = (s * nc + c) * di + d;
    result[row * 2 * N + N + k] = R;
    R = adjoint[row * N + k] + summary[row * 2 * N + N + k] * R;
  }` });
}

/**
 * Backward pass 4: per chunk and channel, the gradients (the host kernel's formulas,
 * selective-scan-fused.ts). Output, packed flat: ∂u (b, l, di) | ∂Δ (b, l, di) | ∂A per chunk
 * (b, nc, di, n) | ∂B per channel group (b, l, G, n) | ∂C per channel group (b, l, G, n).
 * The loops over a chunk run T times in every invocation (steps past l do nothing) so that the
 * workgroup barriers of the channel reduction stay in uniform control flow.
 */
function gradientsCode(N: number, T: number, WG: number): string {
  const partials = { partB: `array<f32, ${WG * N}>`, partC: `array<f32, ${WG * N}>` };
  return chunkPass(N, T, WG, `
  let live = d < di;
  let dd = min(d, di - 1);               // channel whose inputs an idle invocation reads
  let group = i32(workgroupId.x);
  let ho = ((s * uniforms.nc + c) * di + dd) * 2 * N;
  var h : array<f32, N>;
  var g : array<f32, N>;                 // a_{t+1} ⊙ g_{t+1}
  var gA : array<f32, N>;
  var states : array<f32, ${T * N}>;     // h_t for the chunk's steps, (T, n)
  for (var k = 0; k < N; k++) { h[k] = HR[ho + k]; g[k] = HR[ho + N + k]; gA[k] = 0.0; }
  for (var j = 0; j < T; j++) {
    let t = t0 + j;
    if (t < l) {
      let i = (s * l + t) * di + dd;
      let dt = delta[i];
      let dtx = dt * u[i];
      let bc = (s * l + t) * N;
      for (var k = 0; k < N; k++) {
        h[k] = exp(dt * A[dd * N + k]) * h[k] + dtx * B[bc + k];
        states[j * N + k] = h[k];
      }
    }
  }
  for (var jj = 0; jj < T; jj++) {
    let j = T - 1 - jj;
    let t = t0 + j;
    let inRange = t < l;
    if (inRange) {
      let i = (s * l + t) * di + dd;
      let dt = delta[i];
      let x = u[i];
      let gy = dy[i];
      let bc = (s * l + t) * N;
      var gx = 0.0;
      var gdt = 0.0;
      for (var k = 0; k < N; k++) {
        let ak = A[dd * N + k];
        let a = exp(dt * ak);
        let gk = g[k] + gy * C[bc + k];
        let hPrev = select(HR[ho + k], states[max(j - 1, 0) * N + k], j > 0);
        let gExponent = gk * a * hPrev;  // ∂loss/∂(Δ_t A_k)
        partB[lid * N + k] = select(0.0, gk * dt * x, live);
        partC[lid * N + k] = select(0.0, gy * states[j * N + k], live);
        gA[k] += gExponent * dt;
        gdt += gExponent * ak + gk * B[bc + k] * x;
        gx += gk * dt * B[bc + k];
        g[k] = gk * a;
      }
      if (live) {
        result[i] = gx;
        result[uniforms.offDelta + i] = gdt;
      }
    }
    workgroupBarrier();
    if (inRange) {
      for (var col = lid; col < 2 * N; col += ${WG}) {
        let k = col % N;
        let isC = col >= N;
        var sum = 0.0;
        for (var r = 0; r < ${WG}; r++) { sum += select(partB[r * N + k], partC[r * N + k], isC); }
        let o = ((s * l + t) * uniforms.groups + group) * N + k;   // (b, l, G, n)
        result[select(uniforms.offB, uniforms.offC, isC) + o] = sum;
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let o = ((s * uniforms.nc + c) * di + d) * N;
    for (var k = 0; k < N; k++) { result[uniforms.offA + o + k] = gA[k]; }
  }`, partials);
}

// ---------------------------------------------------------------------------------------------------
// The kernels: each runs its passes and frees the intermediates.

const CHUNK_WG = 64;

function runSummaries(kernel: string, backend: WebgpuBackend, g: Geometry, u: tf.TensorInfo, delta: tf.TensorInfo, A: tf.TensorInfo, B: tf.TensorInfo): tf.TensorInfo {
  const uni = ints({ l: g.l, di: g.di, nc: g.nc });
  const p = program({
    kernel,
    key: `scan_summaries_${g.n}_${g.T}`,
    inputs: ['u', 'delta', 'A', 'B'],
    outputSize: g.b * g.nc * g.di * 2 * g.n,
    workgroupSize: CHUNK_WG,
    workgroups: [Math.ceil(g.di / CHUNK_WG), g.nc, g.b],
    uniforms: uni.declaration,
    code: summariesCode(g.n, g.T, CHUNK_WG),
  });
  return runProgram(backend, p, [u, delta, A, B], uni.data);
}

function registerKernels(): void {
  registerWebgpuKernel(FORWARD, FORWARD_INPUTS, ([u, delta, A, B, C, D], backend, attrs) => {
    const g = geometry(u, A, attrs.chunk as number);
    const summary = runSummaries(FORWARD, backend, g, u, delta, A, B);
    const carryUniforms = ints({ b: g.b, di: g.di, nc: g.nc });
    const entering = runProgram(
      backend,
      program({
        kernel: FORWARD,
        key: `scan_carry_${g.n}`,
        inputs: ['summary'],
        outputSize: g.b * g.nc * g.di * g.n,
        workgroupSize: 64,
        workgroups: cover(g.b * g.di * g.n, 64),
        uniforms: carryUniforms.declaration,
        code: carryCode(g.n),
      }),
      [summary],
      carryUniforms.data,
    );
    const outUniforms = ints({ l: g.l, di: g.di, nc: g.nc });
    const y = runProgram(
      backend,
      program({
        kernel: FORWARD,
        key: `scan_outputs_${g.n}_${g.T}`,
        inputs: ['u', 'delta', 'A', 'B', 'C', 'D', 'entering'],
        outputSize: g.b * g.l * g.di,
        workgroupSize: CHUNK_WG,
        workgroups: [Math.ceil(g.di / CHUNK_WG), g.nc, g.b],
        uniforms: outUniforms.declaration,
        code: outputsCode(g.n, g.T, CHUNK_WG),
      }),
      [u, delta, A, B, C, D, entering],
      outUniforms.data,
    );
    backend.disposeData(summary.dataId);
    backend.disposeData(entering.dataId);
    return { ...y, shape: [g.b, g.l, g.di] };
  });

  registerWebgpuKernel(BACKWARD, BACKWARD_INPUTS, ([u, delta, A, B, C, dy], backend, attrs) => {
    const g = geometry(u, A, attrs.chunk as number);
    const summary = runSummaries(BACKWARD, backend, g, u, delta, A, B);
    const chunkUniforms = ints({ l: g.l, di: g.di, nc: g.nc });
    const adjoint = runProgram(
      backend,
      program({
        kernel: BACKWARD,
        key: `scan_adjoints_${g.n}_${g.T}`,
        inputs: ['delta', 'A', 'C', 'dy'],
        outputSize: g.b * g.nc * g.di * g.n,
        workgroupSize: CHUNK_WG,
        workgroups: [Math.ceil(g.di / CHUNK_WG), g.nc, g.b],
        uniforms: chunkUniforms.declaration,
        code: adjointSummariesCode(g.n, g.T, CHUNK_WG),
      }),
      [delta, A, C, dy],
      chunkUniforms.data,
    );
    const carryUniforms = ints({ b: g.b, di: g.di, nc: g.nc });
    const HR = runProgram(
      backend,
      program({
        kernel: BACKWARD,
        key: `scan_carry_both_${g.n}`,
        inputs: ['summary', 'adjoint'],
        outputSize: g.b * g.nc * g.di * 2 * g.n,
        workgroupSize: 64,
        workgroups: cover(g.b * g.di * g.n, 64),
        uniforms: carryUniforms.declaration,
        code: carryBothWaysCode(g.n),
      }),
      [summary, adjoint],
      carryUniforms.data,
    );
    const WG = channelsPerGroup(g.n);
    const groups = Math.ceil(g.di / WG);
    const sizes = packedGradientSizes(g, groups);
    const gradUniforms = ints({
      l: g.l,
      di: g.di,
      nc: g.nc,
      groups,
      offDelta: sizes.du,
      offA: sizes.du + sizes.ddelta,
      offB: sizes.du + sizes.ddelta + sizes.dA,
      offC: sizes.du + sizes.ddelta + sizes.dA + sizes.dB,
    });
    const packed = runProgram(
      backend,
      program({
        kernel: BACKWARD,
        key: `scan_gradients_${g.n}_${g.T}_${WG}`,
        inputs: ['u', 'delta', 'A', 'B', 'C', 'dy', 'HR'],
        outputSize: sizes.du + sizes.ddelta + sizes.dA + sizes.dB + sizes.dC,
        workgroupSize: WG,
        workgroups: [groups, g.nc, g.b],
        uniforms: gradUniforms.declaration,
        code: gradientsCode(g.n, g.T, WG),
      }),
      [u, delta, A, B, C, dy, HR],
      gradUniforms.data,
    );
    for (const info of [summary, adjoint, HR]) backend.disposeData(info.dataId);
    return packed;
  });
}

function packedGradientSizes(g: Geometry, groups: number): { du: number; ddelta: number; dA: number; dB: number; dC: number } {
  return { du: g.b * g.l * g.di, ddelta: g.b * g.l * g.di, dA: g.b * g.nc * g.di * g.n, dB: g.b * g.l * groups * g.n, dC: g.b * g.l * groups * g.n };
}

/** Whether the WGSL scan runs now: the webgpu backend, unless SEQARENA_WEBGPU_KERNELS=reference. */
export const wgslScanSupported = wgslActive;

/**
 * The selective scan in WGSL: same signature and result as `selectiveScanReference`, differentiable in
 * all six inputs. u, delta (b, l, di); A (di, n); B, C (b, l, n); D (di) → y (b, l, di). `chunk` is T
 * (tests use small ones to cross many chunk boundaries).
 */
export function selectiveScanWgsl(
  u: tf.Tensor3D,
  delta: tf.Tensor3D,
  A: tf.Tensor2D,
  B: tf.Tensor3D,
  C: tf.Tensor3D,
  D: tf.Tensor1D,
  chunk: number = defaultChunk(A.shape[1]),
): tf.Tensor3D {
  const { b, l, di, n } = scanSizes(u.shape, delta.shape, A.shape, B.shape, C.shape, D.shape);
  if (tf.getBackend() !== 'webgpu') throw new Error(`selectiveScanWgsl runs on the webgpu backend, not '${tf.getBackend()}'`);
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`selectiveScanWgsl: chunk must be a whole number ≥ 1, got ${chunk}`);
  registerKernels();
  const T = Math.min(chunk, l);
  const withGrad = tf.customGrad((uu, dd, AA, BB, CC, DD, save) => {
    const inputs = [uu, dd, AA, BB, CC, DD] as tf.Tensor[];
    (save as tf.GradSaveFunc)(inputs);
    const [y] = runKernel(FORWARD, FORWARD_INPUTS, inputs, { chunk: T });
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [su, sDelta, sA, sB, sC, sD] = saved;
        const [packed] = runKernel(BACKWARD, BACKWARD_INPUTS, [su, sDelta, sA, sB, sC, dy], { chunk: T });
        const g: Geometry = { b, l, di, n, T, nc: Math.ceil(l / T) };
        const groups = Math.ceil(di / channelsPerGroup(n));
        const [du, ddelta, dAChunks, dBGroups, dCGroups] = unpack(packed, [
          [b, l, di],
          [b, l, di],
          [b, g.nc, di, n],
          [b, l, groups, n],
          [b, l, groups, n],
        ]);
        packed.dispose();
        return [
          du.add(dy.mul(sD)),
          ddelta,
          dAChunks.sum([0, 1]),
          dBGroups.sum(2),
          dCGroups.sum(2),
          dy.mul(su).sum([0, 1]),
        ];
      },
    };
  });
  return withGrad(u, delta, A, B, C, D) as tf.Tensor3D;
}
