/*
 * The masked softmax cross-entropy's problem description, shared by its binding (cross_entropy.c)
 * and the per-instruction-set copies of its loops (cross_entropy_impl.h).
 */
#ifndef SEQARENA_CROSS_ENTROPY_KERNELS_H
#define SEQARENA_CROSS_ENTROPY_KERNELS_H
#include <stddef.h>

typedef struct {
  size_t rows, rows_per_task;
  int v;
  const float *x, *mask; /* (rows, v), (rows) */
  const int *target;     /* (rows) */
  float *lse;            /* (rows): forward writes, backward reads */
  double *partial;       /* forward: Σ m (lse − x_t) per task */
  float *dx;             /* backward: (rows, v) */
  float scale;           /* backward: dy / max(Σ m, 1) */
} ce_problem;

#define CE_DECLARE(isa)                           \
  void ce_forward_##isa(const ce_problem *p);     \
  void ce_backward_##isa(const ce_problem *p);
CE_DECLARE(generic)
CE_DECLARE(avx2)

#endif
