/*
 * AVX2 + FMA micro-kernel: a 6×16 tile of C in 12 ymm accumulators; per k step two loads of B, six
 * broadcasts of A and twelve FMAs (the 16 ymm registers hold 12 accumulators, 2 B vectors, 1 broadcast).
 */
#include "gemm.h"
#include <immintrin.h>

#define MR 6
#define NR 16

static void micro_6x16(int kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(b);
    __m256 b1 = _mm256_loadu_ps(b + 8);
    __m256 x;
    x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    a += MR;
    b += NR;
  }
#define STORE(row, lo, hi)                                                                 \
  do {                                                                                     \
    float *r = c + (row) * ldc;                                                            \
    if (accumulate) {                                                                      \
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(r));                                          \
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(r + 8));                                      \
    }                                                                                      \
    _mm256_storeu_ps(r, lo);                                                               \
    _mm256_storeu_ps(r + 8, hi);                                                           \
  } while (0)
  STORE(0, c00, c01);
  STORE(1, c10, c11);
  STORE(2, c20, c21);
  STORE(3, c30, c31);
  STORE(4, c40, c41);
  STORE(5, c50, c51);
#undef STORE
}

const gemm_kernel gemm_kernel_avx2 = {"avx2", MR, NR, micro_6x16};
