/**
 * The selective scan's fallback loops (where the native addon is not built), as pieces for the
 * JavaScript kernel pool (js-pool.ts), which runs them on every core. The maths and the symbols are in
 * selective-scan-fused.ts; this file imports no tfjs, so the pool's workers load it quickly.
 *
 * Work is cut as the native kernel cuts it: a piece is one sequence × a block of SCAN_BLOCK channels,
 * whatever the thread count. Channels are independent in the scan, so pieces never share an output:
 * backward writes ∂B and ∂C (sums over channels) per channel block and ∂A, ∂D (sums over sequences) per
 * sequence, and `scanReduce` adds those partials in a fixed order, so results do not depend on the
 * number of threads. Backward recomputes a channel's states (like the CUDA kernel) into a scratch of
 * 2·l·n numbers per thread instead of saving them in the forward pass.
 *
 * Every operand lives in the pool's shared memory; a call's parameters are the sizes (b, l, di, n)
 * followed by the byte offsets of the operands (see ForwardParams, BackwardParams).
 */
import type { PoolTask } from './js-pool.ts';

/** Channels per piece of work. */
export const SCAN_BLOCK = 8;

/** Parameter order of `scanForward`: sizes, then byte offsets of the float32 operands. */
export const FORWARD_PARAMS = ['b', 'l', 'di', 'n', 'u', 'delta', 'A', 'B', 'C', 'D', 'y'] as const;
/**
 * Parameter order of `scanBackward` and `scanReduce`: float32 inputs and outputs, then the float64
 * partial sums ∂A (b, di, n) and ∂D (b, di) per sequence, ∂B and ∂C (blocks, b, l, n) per channel block.
 */
export const BACKWARD_PARAMS = [
  'b', 'l', 'di', 'n', 'u', 'delta', 'A', 'B', 'C', 'D', 'dy', 'du', 'ddelta', 'dA', 'dB', 'dC', 'dD', 'dAParts', 'dBParts', 'dCParts', 'dDParts',
] as const;

type Named<K extends readonly string[]> = Record<K[number], number>;
// as small integers (| 0): indices derived from doubles would make every typed-array access slower
const named = <K extends readonly string[]>(keys: K, params: Float64Array): Named<K> =>
  Object.fromEntries(keys.map((k, i) => [k, params[i] | 0])) as Named<K>;

let scratch = new Float64Array(0);
/** This thread's scratch of at least `count` numbers. */
function scratchOf(count: number): Float64Array {
  if (scratch.length < count) scratch = new Float64Array(count);
  return scratch;
}

/** Sequence and channel range of a piece. */
function pieceRange(piece: number, di: number): { s: number; d0: number; d1: number } {
  const blocks = Math.ceil(di / SCAN_BLOCK);
  const d0 = (piece % blocks) * SCAN_BLOCK;
  return { s: Math.floor(piece / blocks), d0, d1: Math.min(di, d0 + SCAN_BLOCK) };
}

/** y_t = C_t · h_t + D u_t with h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t, for one piece. */
const scanForward: PoolTask = (buffer, params, piece) => {
  const p = named(FORWARD_PARAMS, params);
  const { l, di, n } = p;
  const f = new Float32Array(buffer);
  const [u, dv, av, bv, cv, D, y] = [p.u, p.delta, p.A, p.B, p.C, p.D, p.y].map((byte) => byte >> 2);
  const { s, d0, d1 } = pieceRange(piece, di);
  const h = scratchOf(n);
  for (let d = d0; d < d1; d++) {
    h.fill(0, 0, n);
    const aRow = av + d * n;
    const skip = f[D + d];
    for (let t = 0; t < l; t++) {
      const i = (s * l + t) * di + d;
      const bc = (s * l + t) * n;
      const dt = f[dv + i];
      const x = f[u + i];
      const dtx = dt * x;
      let acc = 0;
      for (let k = 0; k < n; k++) {
        const hk = Math.exp(dt * f[aRow + k]) * h[k] + dtx * f[bv + bc + k];
        h[k] = hk;
        acc += f[cv + bc + k] * hk;
      }
      f[y + i] = acc + skip * x;
    }
  }
};

/**
 * Backward for one piece; with g_t = ∂loss/∂h_t,
 *   g_t = exp(Δ_{t+1} A) ⊙ g_{t+1} + dy_t C_t
 *   ∂C_t += dy_t h_t      ∂B_t += g_t Δ_t u_t      ∂u_t = dy_t D + Δ_t Σ g_t B_t
 *   ∂Δ_t = Σ g_t ⊙ (A exp(Δ_t A) h_{t−1} + B_t u_t)   ∂A += g_t ⊙ Δ_t exp(Δ_t A) h_{t−1}   ∂D += dy_t u_t
 */
const scanBackward: PoolTask = (buffer, params, piece) => {
  const p = named(BACKWARD_PARAMS, params);
  const { b, l, di, n } = p;
  const f = new Float32Array(buffer);
  const w = new Float64Array(buffer);
  const [u, dv, av, bv, cv, D, gy, du, ddelta] = [p.u, p.delta, p.A, p.B, p.C, p.D, p.dy, p.du, p.ddelta].map((byte) => byte >> 2);
  const { s, d0, d1 } = pieceRange(piece, di);
  const block = Math.floor(d0 / SCAN_BLOCK);
  const dBp = (p.dBParts >> 3) + block * b * l * n;
  const dCp = (p.dCParts >> 3) + block * b * l * n;
  const dAp = (p.dAParts >> 3) + s * di * n;
  const dDp = (p.dDParts >> 3) + s * di;
  for (let t = 0; t < l; t++) {
    const bc = dBp + (s * l + t) * n;
    w.fill(0, bc, bc + n);
    w.fill(0, dCp + (s * l + t) * n, dCp + (s * l + t) * n + n);
  }
  const space = scratchOf(2 * l * n + n);
  const decay = 0; // exp(Δ_t A), (l, n)
  const states = l * n; // h_t, (l, n)
  const g = 2 * l * n; // (n)
  for (let d = d0; d < d1; d++) {
    const aRow = av + d * n;
    const skip = f[D + d];
    for (let t = 0; t < l; t++) {
      const i = (s * l + t) * di + d;
      const bc = (s * l + t) * n;
      const dt = f[dv + i];
      const dtx = dt * f[u + i];
      const row = t * n;
      for (let k = 0; k < n; k++) {
        const a = Math.exp(dt * f[aRow + k]);
        space[decay + row + k] = a;
        space[states + row + k] = a * (t > 0 ? space[states + row - n + k] : 0) + dtx * f[bv + bc + k];
      }
    }
    space.fill(0, g, g + n);
    let dD = 0;
    for (let k = 0; k < n; k++) w[dAp + d * n + k] = 0;
    for (let t = l - 1; t >= 0; t--) {
      const i = (s * l + t) * di + d;
      const bc = (s * l + t) * n;
      const dt = f[dv + i];
      const x = f[u + i];
      const gyt = f[gy + i];
      const row = t * n;
      dD += gyt * x;
      let gx = gyt * skip;
      let gdt = 0;
      for (let k = 0; k < n; k++) {
        const gk = space[g + k] + gyt * f[cv + bc + k];
        const hPrev = t > 0 ? space[states + row - n + k] : 0;
        const a = space[decay + row + k];
        const gExponent = gk * a * hPrev; // ∂loss/∂(Δ_t A_k)
        w[dCp + bc + k] += gyt * space[states + row + k];
        w[dBp + bc + k] += gk * dt * x;
        w[dAp + d * n + k] += gExponent * dt;
        gdt += gExponent * f[aRow + k] + gk * f[bv + bc + k] * x;
        gx += gk * dt * f[bv + bc + k];
        space[g + k] = gk * a;
      }
      f[du + i] = gx;
      f[ddelta + i] = gdt;
    }
    w[dDp + d] = dD;
  }
};

/** Pieces 0 … b−1: ∂B, ∂C of sequence `piece`, summed over channel blocks in order; then ∂A, ∂D of channel piece − b, over sequences. */
const scanReduce: PoolTask = (buffer, params, piece) => {
  const p = named(BACKWARD_PARAMS, params);
  const { b, l, di, n } = p;
  const f = new Float32Array(buffer);
  const w = new Float64Array(buffer);
  const blocks = Math.ceil(di / SCAN_BLOCK);
  if (piece < b) {
    const stride = b * l * n;
    for (let j = piece * l * n; j < (piece + 1) * l * n; j++) {
      let sb = 0;
      let sc = 0;
      for (let blk = 0; blk < blocks; blk++) {
        sb += w[(p.dBParts >> 3) + blk * stride + j];
        sc += w[(p.dCParts >> 3) + blk * stride + j];
      }
      f[(p.dB >> 2) + j] = sb;
      f[(p.dC >> 2) + j] = sc;
    }
    return;
  }
  const d = piece - b;
  for (let k = 0; k < n; k++) {
    let sum = 0;
    for (let s = 0; s < b; s++) sum += w[(p.dAParts >> 3) + (s * di + d) * n + k];
    f[(p.dA >> 2) + d * n + k] = sum;
  }
  let sum = 0;
  for (let s = 0; s < b; s++) sum += w[(p.dDParts >> 3) + s * di + d];
  f[(p.dD >> 2) + d] = sum;
};

export const POOL_TASKS: Record<string, PoolTask> = { scanForward, scanBackward, scanReduce };
