/*
 * The GEMM's micro-kernels, one per instruction set. A micro-kernel multiplies a packed MR×kc panel of
 * A by a packed kc×NR panel of B into an MR×NR tile of C (row stride ldc): C = A·B, or C += A·B when
 * `accumulate`. Packed A holds, for each p, the MR values of column p; packed B, for each p, the NR
 * values of row p (zero-padded past the matrix edges, so the kernel always computes a full tile).
 */
#ifndef SEQARENA_GEMM_H
#define SEQARENA_GEMM_H

typedef void (*gemm_micro_fn)(int kc, const float *a, const float *b, float *c, long ldc, int accumulate);

typedef struct {
  const char *isa;
  int mr, nr;
  gemm_micro_fn micro;
} gemm_kernel;

#ifdef SEQARENA_HAVE_AVX2
extern const gemm_kernel gemm_kernel_avx2;
#endif
#ifdef SEQARENA_HAVE_AVX512
extern const gemm_kernel gemm_kernel_avx512;
#endif

#endif
