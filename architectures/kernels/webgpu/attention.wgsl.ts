/**
 * Scaled dot-product attention in WGSL for the webgpu backend, FlashAttention-style (Dao et al. 2022,
 * Algorithm 1; backward as FlashAttention-2, Dao 2023): the (lq, lk) score matrix never exists.
 *
 * Forward: a workgroup takes BQ query rows of one (batch, head), one invocation per row; key and value
 * tiles of BK rows are loaded into workgroup memory in turn, and each row keeps an online softmax over
 * them — a running maximum m, the sum ℓ of exp(s − m) and the weighted sum of values, rescaled by
 * exp(m_old − m_new) when the maximum grows. It writes the output and each row's log-sum-exp
 * lse = m + log ℓ, the one thing the backward needs besides the inputs.
 *
 * Backward, with P_ij = exp(s_ij − lse_i) recomputed tile by tile and D_i = dO_i · O_i (a tfjs op):
 *   dS_ij = P_ij (dO_i · v_j − D_i)
 *   dQ_i  = scale Σ_j dS_ij k_j                 one invocation per query row, key tiles in workgroup memory
 *   dK_j  = scale Σ_i dS_ij q_i,  dV_j = Σ_i P_ij dO_i
 *                                               one invocation per key row, query tiles in workgroup memory
 * Two kernels instead of one, so no sums across invocations (WGSL has no float atomics).
 *
 * Same signature and masking rules as attentionReference (attention.ts), and tested against it; like
 * the host kernel (attention-fused.ts), a query row that may see no key at all outputs zeros.
 *
 * Shapes: b batch, h heads, lq query length, lk key length, hs head size. Query i sees keys
 * j ≤ i + (lk − lq) when causal, and within a sliding window only i + (lk − lq) − window < j
 * (attention-mask.ts): each pass then walks only the tiles its block of rows sees.
 */
import * as tf from '@tensorflow/tfjs';
import { checkedWindow, type AttentionOptions } from '../attention-mask.ts';
import { ints, program, registerWebgpuKernel, runKernel, runProgram, unpack, wgsl, wgslActive } from './program.ts';

const FORWARD = 'SeqarenaWgslFlashAttention';
const GRAD_Q = 'SeqarenaWgslFlashAttentionGradQ';
const GRAD_KV = 'SeqarenaWgslFlashAttentionGradKV';
const FORWARD_INPUTS = ['q', 'k', 'v', 'keyMask'];
const GRAD_INPUTS = ['q', 'k', 'v', 'keyMask', 'dOut', 'lse', 'rowDot'];

/** Rows per workgroup, one invocation each. */
const ROWS = 64;

/** Rows of a tile in workgroup memory: two tiles of TILE · hs floats stay within 8 KiB. */
function tileRows(hs: number): number {
  return Math.max(1, Math.min(32, Math.floor(1024 / hs)));
}

/** lse of a row that sees no key: below any real one, and exp(s − it) is never taken. */
const NO_KEY = '-3.0e38';

const prologue = `
  let lid = i32(localId.x);
  let block = i32(workgroupId.x);
  let bh = i32(workgroupId.y);              // batch · heads + head
  let batch = bh / uniforms.heads;
  let lq = uniforms.lq;
  let lk = uniforms.lk;
  let causal = uniforms.causal == 1;
  let windowed = causal && uniforms.windowKeys > 0;   // a sliding window of windowKeys keys
  let scale = inverseSqrt(f32(HS));`;

/** A program of this file: head size and tile rows are compile-time constants, then the shared prologue. */
const attentionProgram = (HS: number, TILE: number, workgroup: Record<string, string>, body: string): string =>
  wgsl({ consts: { HS, TILE }, workgroup, prologue, body });

/** The workgroup memory of the passes over key tiles (forward and dQ). */
const keyTileMemory = (HS: number, TILE: number): Record<string, string> => ({
  kTile: `array<f32, ${TILE * HS}>`,
  vTile: `array<f32, ${TILE * HS}>`,
  maskTile: 'array<f32, TILE>',
  firstKey: 'i32',
  tileCount: 'i32',
});

/**
 * The walk of the forward and dQ over the key tiles a block of query rows sees (causally: up to those its
 * last row sees; in a window, from the first its first row sees), each tile loaded into workgroup memory;
 * `visit` runs for every key jt of the tile that row i sees (first ≤ j < seen, not masked).
 */
const overKeyTiles = (visit: string): string => `
  if (lid == 0) {
    let lastRow = min(lq, (block + 1) * ${ROWS}) - 1;
    let blockSeen = select(lk, min(lk, lastRow + uniforms.offset + 1), causal);
    firstKey = select(0, max(0, block * ${ROWS} + uniforms.offset - uniforms.windowKeys + 1), windowed);
    tileCount = (blockSeen - firstKey + TILE - 1) / TILE;
  }
  let keyStart = workgroupUniformLoad(&firstKey);
  let tiles = workgroupUniformLoad(&tileCount);
  for (var tile = 0; tile < tiles; tile++) {
    let k0 = keyStart + tile * TILE;
    for (var e = lid; e < TILE * HS; e += ${ROWS}) {
      let j = min(k0 + e / HS, lk - 1);
      kTile[e] = k[(bh * lk + j) * HS + e % HS];
      vTile[e] = v[(bh * lk + j) * HS + e % HS];
    }
    for (var e = lid; e < TILE; e += ${ROWS}) {
      maskTile[e] = select(0.0, keyMask[batch * lk + min(k0 + e, lk - 1)], k0 + e < lk);
    }
    workgroupBarrier();
    for (var jt = 0; jt < TILE; jt++) {
      if (k0 + jt >= first && k0 + jt < seen && maskTile[jt] != 0.0) {${visit}
      }
    }
    workgroupBarrier();
  }`;

/** Forward: output (b, h, lq, hs) then lse (b, h, lq), packed flat. */
function forwardCode(HS: number, TILE: number): string {
  return attentionProgram(HS, TILE, keyTileMemory(HS, TILE), `
  let i = block * ${ROWS} + lid;            // query row
  let row = min(i, lq - 1);
  var qi : array<f32, HS>;
  var acc : array<f32, HS>;
  for (var x = 0; x < HS; x++) { qi[x] = q[(bh * lq + row) * HS + x]; acc[x] = 0.0; }
  var m = ${NO_KEY};
  var sum = 0.0;
  let seen = select(lk, min(lk, row + uniforms.offset + 1), causal);   // keys first ≤ j < seen are visible
  let first = select(0, max(0, row + uniforms.offset - uniforms.windowKeys + 1), windowed);
  ${overKeyTiles(`
        var s = 0.0;
        for (var x = 0; x < HS; x++) { s += qi[x] * kTile[jt * HS + x]; }
        s *= scale;
        if (s > m) {                        // a new maximum: rescale what the row holds
          let r = exp(m - s);
          sum *= r;
          for (var x = 0; x < HS; x++) { acc[x] *= r; }
          m = s;
        }
        let p = exp(s - m);
        sum += p;
        for (var x = 0; x < HS; x++) { acc[x] += p * vTile[jt * HS + x]; }`)}
  if (i < lq) {
    let inv = select(0.0, 1.0 / sum, sum > 0.0);
    for (var x = 0; x < HS; x++) { result[(bh * lq + i) * HS + x] = acc[x] * inv; }
    result[uniforms.offLse + bh * lq + i] = select(${NO_KEY}, m + log(sum), sum > 0.0);
  }`);
}

/** dQ (b, h, lq, hs): per query row over key tiles. */
function gradQCode(HS: number, TILE: number): string {
  return attentionProgram(HS, TILE, keyTileMemory(HS, TILE), `
  let i = block * ${ROWS} + lid;
  let row = min(i, lq - 1);
  var qi : array<f32, HS>;
  var gi : array<f32, HS>;                  // dO_i
  var dq : array<f32, HS>;
  for (var x = 0; x < HS; x++) {
    qi[x] = q[(bh * lq + row) * HS + x];
    gi[x] = dOut[(bh * lq + row) * HS + x];
    dq[x] = 0.0;
  }
  let rowLse = lse[bh * lq + row];
  let rowD = rowDot[bh * lq + row];
  let seen = select(select(lk, min(lk, row + uniforms.offset + 1), causal), 0, rowLse <= ${NO_KEY});
  let first = select(0, max(0, row + uniforms.offset - uniforms.windowKeys + 1), windowed);
  ${overKeyTiles(`
        var s = 0.0;
        var dp = 0.0;
        for (var x = 0; x < HS; x++) {
          s += qi[x] * kTile[jt * HS + x];
          dp += gi[x] * vTile[jt * HS + x];
        }
        let p = exp(s * scale - rowLse);
        let ds = p * (dp - rowD) * scale;
        for (var x = 0; x < HS; x++) { dq[x] += ds * kTile[jt * HS + x]; }`)}
  if (i < lq) {
    for (var x = 0; x < HS; x++) { result[(bh * lq + i) * HS + x] = dq[x]; }
  }`);
}

/** dK then dV, each (b, h, lk, hs), packed flat: per key row over query tiles. */
function gradKVCode(HS: number, TILE: number): string {
  const memory = {
    qTile: `array<f32, ${TILE * HS}>`,
    gTile: `array<f32, ${TILE * HS}>`, // dO rows
    lseTile: 'array<f32, TILE>',
    dTile: 'array<f32, TILE>',
    firstTile: 'i32',
    queryEnd: 'i32',
  };
  return attentionProgram(HS, TILE, memory, `
  let j = block * ${ROWS} + lid;            // key row
  let col = min(j, lk - 1);
  var kj : array<f32, HS>;
  var vj : array<f32, HS>;
  var dk : array<f32, HS>;
  var dv : array<f32, HS>;
  for (var x = 0; x < HS; x++) {
    kj[x] = k[(bh * lk + col) * HS + x];
    vj[x] = v[(bh * lk + col) * HS + x];
    dk[x] = 0.0;
    dv[x] = 0.0;
  }
  let keyLive = keyMask[batch * lk + col] != 0.0;
  let firstQuery = select(0, max(0, col - uniforms.offset), causal);   // query rows firstQuery ≤ i < endQuery see this key
  let endQuery = select(lq, col - uniforms.offset + uniforms.windowKeys, windowed);
  if (lid == 0) {
    firstTile = select(0, max(0, block * ${ROWS} - uniforms.offset), causal) / TILE;
    let lastKey = min(lk, (block + 1) * ${ROWS}) - 1;
    queryEnd = select(lq, clamp(lastKey - uniforms.offset + uniforms.windowKeys, 0, lq), windowed);
  }
  let start = workgroupUniformLoad(&firstTile);
  let tiles = (workgroupUniformLoad(&queryEnd) + TILE - 1) / TILE;
  for (var tile = start; tile < tiles; tile++) {
    let i0 = tile * TILE;
    for (var e = lid; e < TILE * HS; e += ${ROWS}) {
      let i = min(i0 + e / HS, lq - 1);
      qTile[e] = q[(bh * lq + i) * HS + e % HS];
      gTile[e] = dOut[(bh * lq + i) * HS + e % HS];
    }
    for (var e = lid; e < TILE; e += ${ROWS}) {
      let i = min(i0 + e, lq - 1);
      lseTile[e] = select(${NO_KEY}, lse[bh * lq + i], i0 + e < lq);
      dTile[e] = rowDot[bh * lq + i];
    }
    workgroupBarrier();
    for (var it = 0; it < TILE; it++) {
      if (keyLive && i0 + it >= firstQuery && i0 + it < endQuery && lseTile[it] > ${NO_KEY}) {
        var s = 0.0;
        var dp = 0.0;
        for (var x = 0; x < HS; x++) {
          s += qTile[it * HS + x] * kj[x];
          dp += gTile[it * HS + x] * vj[x];
        }
        let p = exp(s * scale - lseTile[it]);
        let ds = p * (dp - dTile[it]) * scale;
        for (var x = 0; x < HS; x++) {
          dv[x] += p * gTile[it * HS + x];
          dk[x] += ds * qTile[it * HS + x];
        }
      }
    }
    workgroupBarrier();
  }
  if (j < lk) {
    for (var x = 0; x < HS; x++) {
      result[(bh * lk + j) * HS + x] = dk[x];
      result[uniforms.offV + (bh * lk + j) * HS + x] = dv[x];
    }
  }`);
}

function registerKernels(): void {
  registerWebgpuKernel(FORWARD, FORWARD_INPUTS, ([q, k, v, keyMask], backend, attrs) => {
    const [b, h, lq, hs] = q.shape;
    const lk = k.shape[2];
    const TILE = tileRows(hs);
    const uni = ints({ heads: h, lq, lk, offset: lk - lq, causal: attrs.causal ? 1 : 0, windowKeys: attrs.window as number, offLse: b * h * lq * hs });
    const p = program({
      kernel: FORWARD,
      key: `attention_forward_${hs}_${TILE}`,
      inputs: FORWARD_INPUTS,
      outputSize: b * h * lq * hs + b * h * lq,
      workgroupSize: ROWS,
      workgroups: [Math.ceil(lq / ROWS), b * h, 1],
      uniforms: uni.declaration,
      code: forwardCode(hs, TILE),
    });
    return runProgram(backend, p, [q, k, v, keyMask], uni.data);
  });
  registerWebgpuKernel(GRAD_Q, GRAD_INPUTS, (inputs, backend, attrs) => {
    const [q, k] = inputs;
    const [b, h, lq, hs] = q.shape;
    const lk = k.shape[2];
    const TILE = tileRows(hs);
    const uni = ints({ heads: h, lq, lk, offset: lk - lq, causal: attrs.causal ? 1 : 0, windowKeys: attrs.window as number });
    const p = program({
      kernel: GRAD_Q,
      key: `attention_grad_q_${hs}_${TILE}`,
      inputs: GRAD_INPUTS,
      outputSize: b * h * lq * hs,
      workgroupSize: ROWS,
      workgroups: [Math.ceil(lq / ROWS), b * h, 1],
      uniforms: uni.declaration,
      code: gradQCode(hs, TILE),
    });
    return runProgram(backend, p, inputs, uni.data);
  });
  registerWebgpuKernel(GRAD_KV, GRAD_INPUTS, (inputs, backend, attrs) => {
    const [q, k] = inputs;
    const [b, h, lq, hs] = q.shape;
    const lk = k.shape[2];
    const TILE = tileRows(hs);
    const uni = ints({ heads: h, lq, lk, offset: lk - lq, causal: attrs.causal ? 1 : 0, windowKeys: attrs.window as number, offV: b * h * lk * hs });
    const p = program({
      kernel: GRAD_KV,
      key: `attention_grad_kv_${hs}_${TILE}`,
      inputs: GRAD_INPUTS,
      outputSize: 2 * b * h * lk * hs,
      workgroupSize: ROWS,
      workgroups: [Math.ceil(lk / ROWS), b * h, 1],
      uniforms: uni.declaration,
      code: gradKVCode(hs, TILE),
    });
    return runProgram(backend, p, inputs, uni.data);
  });
}

/** Whether the WGSL attention runs now: the webgpu backend, unless SEQARENA_WEBGPU_KERNELS=reference. */
export const wgslAttentionSupported = wgslActive;

/** softmax(q kᵀ / √hs + masks) v with the WGSL kernels. q: (b, h, lq, hs); k, v: (b, h, lk, hs) → (b, h, lq, hs). */
export function attentionWgsl(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
  const [b, h, lq, hs] = q.shape;
  const lk = k.shape[2];
  const same = (a: number[], e: number[]): boolean => a.length === e.length && a.every((s, i) => s === e[i]);
  if (!same(k.shape, [b, h, lk, hs]) || !same(v.shape, k.shape)) {
    throw new Error(`attentionWgsl: q [${q.shape}], k [${k.shape}], v [${v.shape}] must be (b, h, lq, hs), (b, h, lk, hs), (b, h, lk, hs)`);
  }
  if (opts.causal && lq > lk) throw new Error(`causal attention needs lq ≤ lk, got lq ${lq} and lk ${lk}`);
  if (opts.keyMask && !same(opts.keyMask.shape, [b, lk])) throw new Error(`attentionWgsl: keyMask has shape [${opts.keyMask.shape}], expected [${b},${lk}] (b, lk)`);
  if (tf.getBackend() !== 'webgpu') throw new Error(`attentionWgsl runs on the webgpu backend, not '${tf.getBackend()}'`);
  registerKernels();
  // attrs are numbers: 0 is no window
  const attrs = { causal: opts.causal, window: Number.isFinite(checkedWindow(opts)) ? (opts.window as number) : 0 };
  const withGrad = tf.customGrad((qq, kk, vv, mask, save) => {
    const inputs = [qq, kk, vv, mask] as tf.Tensor[];
    const [packed] = runKernel(FORWARD, FORWARD_INPUTS, inputs, attrs);
    const [out, lse] = unpack(packed, [
      [b, h, lq, hs],
      [b, h, lq],
    ]);
    (save as tf.GradSaveFunc)([...inputs, out, lse]);
    return {
      value: out,
      gradFunc: (dOut: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sMask, sOut, sLse] = saved;
        const rowDot = dOut.mul(sOut).sum(-1); // D_i = dO_i · O_i, (b, h, lq)
        const inputs = [sq, sk, sv, sMask, dOut, sLse, rowDot];
        const [dq] = runKernel(GRAD_Q, GRAD_INPUTS, inputs, attrs);
        const [packedKV] = runKernel(GRAD_KV, GRAD_INPUTS, inputs, attrs);
        const [dk, dv] = unpack(packedKV, [k.shape, v.shape]);
        return [dq.reshape(q.shape), dk, dv, tf.zerosLike(sMask)];
      },
    };
  });
  return tf.tidy(() => {
    const keyMask = opts.keyMask ? tf.cast(opts.keyMask, 'float32') : tf.ones([b, lk]);
    return withGrad(q, k, v, keyMask) as tf.Tensor4D;
  });
}
