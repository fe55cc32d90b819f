/*
 * AVX-512 micro-kernel: a 12×32 tile of C in 24 zmm accumulators; per k step two loads of B, twelve
 * broadcasts of A (folded into the FMAs as embedded broadcasts) and 24 FMAs.
 */
#include "gemm.h"
#include <immintrin.h>

#define MR 12
#define NR 32

static void micro_12x32(int kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
  __m512 acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++) {
    __m512 b0 = _mm512_loadu_ps(b);
    __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      __m512 x = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
    }
    a += MR;
    b += NR;
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    float *r = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(r));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(r + 16));
    }
    _mm512_storeu_ps(r, acc[i][0]);
    _mm512_storeu_ps(r + 16, acc[i][1]);
  }
}

const gemm_kernel gemm_kernel_avx512 = {"avx512", MR, NR, micro_12x32};
