/*
 * The column sums' loop, included once per instruction set: sum.c (generic), sum.avx2.c and
 * sum.avx512.c define SUM_FN(name), and the compiler vectorises the loop over columns with that
 * set's registers. Each column is summed in double, row after row from +0, and rounded to float once
 * at the end: the order and precision tfjs's cpu Sum uses, so the result is the same bit for bit on
 * every instruction set and thread count (threads take whole columns, never rows).
 */
#include "pool.h"
#include "sum_kernels.h"

/* Columns accumulated together in registers (doubles: 8 ymm or 4 zmm), rows streamed past them. */
#define SUM_BLOCK 32

static void SUM_FN(block)(const float *restrict x, size_t rows, size_t ld, float *restrict out) {
  double acc[SUM_BLOCK] = {0};
  for (size_t i = 0; i < rows; i++) {
    const float *restrict row = x + i * ld;
#pragma GCC unroll 32
    for (int j = 0; j < SUM_BLOCK; j++) acc[j] += (double)row[j];
  }
  for (int j = 0; j < SUM_BLOCK; j++) out[j] = (float)acc[j];
}

static void SUM_FN(ragged)(const float *restrict x, size_t rows, size_t ld, size_t width, float *restrict out) {
  double acc[SUM_BLOCK] = {0};
  for (size_t i = 0; i < rows; i++) {
    const float *restrict row = x + i * ld;
    for (size_t j = 0; j < width; j++) acc[j] += (double)row[j];
  }
  for (size_t j = 0; j < width; j++) out[j] = (float)acc[j];
}

static void SUM_FN(task)(void *ctx, int task, int thread) {
  (void)thread;
  const sum_problem *p = ctx;
  const size_t first = (size_t)task * p->cols_per_task;
  const size_t last = first + p->cols_per_task < p->cols ? first + p->cols_per_task : p->cols;
  size_t j = first;
  for (; j + SUM_BLOCK <= last; j += SUM_BLOCK) SUM_FN(block)(p->x + j, p->rows, p->cols, p->out + j);
  if (j < last) SUM_FN(ragged)(p->x + j, p->rows, p->cols, last - j, p->out + j);
}

void SUM_FN(column_sums)(const sum_problem *p) {
  pool_run((int)((p->cols + p->cols_per_task - 1) / p->cols_per_task), SUM_FN(task), (void *)p);
}
