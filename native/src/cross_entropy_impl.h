/*
 * The masked softmax cross-entropy's loops (the maths is in architectures/kernels/cross-entropy.ts),
 * included once per instruction set: cross_entropy.c (generic) and cross_entropy.avx2.c define
 * CE_FN(name). Rows are split over the thread pool in blocks; rows whose mask is 0 are skipped
 * (forward) or get a zero gradient (backward). The loss is summed per block in double and the blocks
 * added in order by the binding, so it does not depend on the thread count.
 */
#include "cross_entropy_kernels.h"
#include "pool.h"
#include "vecmath.h"
#include <math.h>

/* The first n ≤ 8 floats of x in a vector, the other lanes `fill`. */
static inline v8f CE_FN(load_tail)(const float *x, int n, float fill) {
  float tail[8] = {fill, fill, fill, fill, fill, fill, fill, fill};
  memcpy(tail, x, (size_t)n * sizeof(float));
  return v8_load(tail);
}

/* log Σ_j exp(x_j) over one row of v logits. */
static float CE_FN(row_lse)(const float *x, int v) {
  v8f m8 = v8_set1(-INFINITY);
  int j = 0;
  for (; j + 8 <= v; j += 8) m8 = v8_max(m8, v8_load(x + j));
  if (j < v) m8 = v8_max(m8, CE_FN(load_tail)(x + j, v - j, -INFINITY));
  float max = m8[0];
  for (int k = 1; k < 8; k++) max = m8[k] > max ? m8[k] : max;
  const v8f mv = v8_set1(max);
  v8f s8 = v8_set1(0);
  for (j = 0; j + 8 <= v; j += 8) s8 += v8_exp(v8_load(x + j) - mv);
  if (j < v) s8 += v8_exp(CE_FN(load_tail)(x + j, v - j, -INFINITY) - mv);
  return max + logf(v8_sum(s8));
}

static void CE_FN(forward_task)(void *ctx, int task, int thread) {
  (void)thread;
  const ce_problem *p = ctx;
  const size_t start = (size_t)task * p->rows_per_task, end = start + p->rows_per_task < p->rows ? start + p->rows_per_task : p->rows;
  double sum = 0;
  for (size_t r = start; r < end; r++) {
    p->lse[r] = 0;
    if (p->mask[r] == 0) continue;
    const float *x = p->x + r * (size_t)p->v;
    const float l = CE_FN(row_lse)(x, p->v);
    p->lse[r] = l;
    const int t = p->target[r];
    if (t >= 0 && t < p->v) sum += (double)p->mask[r] * (l - x[t]);
  }
  p->partial[task] = sum;
}

static void CE_FN(backward_task)(void *ctx, int task, int thread) {
  (void)thread;
  const ce_problem *p = ctx;
  const int v = p->v;
  const size_t start = (size_t)task * p->rows_per_task, end = start + p->rows_per_task < p->rows ? start + p->rows_per_task : p->rows;
  for (size_t r = start; r < end; r++) {
    const float *x = p->x + r * (size_t)v;
    float *dx = p->dx + r * (size_t)v;
    const int t = p->target[r];
    if (p->mask[r] == 0 || t < 0 || t >= v) {
      memset(dx, 0, (size_t)v * sizeof(float));
      continue;
    }
    const float w = p->scale * p->mask[r];
    const v8f wv = v8_set1(w), lv = v8_set1(p->lse[r]);
    int j = 0;
    for (; j + 8 <= v; j += 8) v8_store(dx + j, wv * v8_exp(v8_load(x + j) - lv));
    if (j < v) {
      float tail[8];
      v8_store(tail, wv * v8_exp(CE_FN(load_tail)(x + j, v - j, 0) - lv));
      memcpy(dx + j, tail, (size_t)(v - j) * sizeof(float));
    }
    dx[t] -= w;
  }
}

void CE_FN(ce_forward)(const ce_problem *p) {
  pool_run((int)((p->rows + p->rows_per_task - 1) / p->rows_per_task), CE_FN(forward_task), (void *)p);
}

void CE_FN(ce_backward)(const ce_problem *p) {
  pool_run((int)((p->rows + p->rows_per_task - 1) / p->rows_per_task), CE_FN(backward_task), (void *)p);
}
