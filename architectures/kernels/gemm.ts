/**
 * The one GEMM signature every CPU matrix-multiply implementation here provides (native C in
 * native/src/gemm*.c, WebAssembly SIMD with a worker pool in gemm-wasm.ts, and the readable loop below),
 * so the registered MatMul kernels (matmul.ts) can pick the fastest that is present and the tests can
 * hold each one against `gemmReference`.
 *
 * For each batch index i (0 ≤ i < batch), row-major, no padding between rows:
 *   C_i (m, n) = op(A_i) · op(B_i)      op(X) = Xᵀ when its trans flag is set
 *   A_i = a[i·strideA …]: (m, k), or (k, m) when transA      strideA 0 broadcasts one A over the batch
 *   B_i = b[i·strideB …]: (k, n), or (n, k) when transB      strideB 0 likewise
 *   C_i = c[i·strideC …]: (m, n), overwritten
 */
export interface GemmArgs {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  a: Float32Array;
  strideA: number;
  b: Float32Array;
  strideB: number;
  c: Float32Array;
  strideC: number;
}

export type GemmFn = (args: GemmArgs) => void;

/** The readable reference: three loops per batch entry. */
export const gemmReference: GemmFn = ({ batch, m, n, k, transA, transB, a, strideA, b, strideB, c, strideC }) => {
  for (let i = 0; i < batch; i++) {
    const a0 = i * strideA;
    const b0 = i * strideB;
    const c0 = i * strideC;
    for (let r = 0; r < m; r++) {
      for (let col = 0; col < n; col++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[a0 + p * m + r] : a[a0 + r * k + p];
          const bv = transB ? b[b0 + col * k + p] : b[b0 + p * n + col];
          sum += av * bv;
        }
        c[c0 + r * n + col] = sum;
      }
    }
  }
};
