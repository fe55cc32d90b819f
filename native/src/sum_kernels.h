/*
 * Column sums (out[j] = Σ_i x[i, j] of a row-major (rows, cols) matrix), shared by the binding
 * (sum.c) and the per-instruction-set copies of the loop (sum_impl.h).
 */
#ifndef SEQARENA_SUM_KERNELS_H
#define SEQARENA_SUM_KERNELS_H
#include <stddef.h>

typedef struct {
  const float *x; /* (rows, cols) */
  float *out;     /* (cols) */
  size_t rows, cols;
  size_t cols_per_task; /* a multiple of SUM_BLOCK, or every column */
} sum_problem;

#define SUM_DECLARE(isa) void column_sums_##isa(const sum_problem *p);
SUM_DECLARE(generic)
SUM_DECLARE(avx2)
SUM_DECLARE(avx512)

#endif
