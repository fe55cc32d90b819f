/*
 * The embedding lookup and its gradient (architectures/kernels/embedding.ts): rows of a (V, d) table
 * gathered by token id, and the gradient's scatter-add of rows back into a (V, d) table, over the
 * thread pool. The scatter is split by ranges of table rows: each piece scans every id and adds the
 * rows of its own range, in id order, so no two threads write one row and the sums do not depend on
 * the thread count (repeated ids add up in position order). Memory-bound copies and adds: one generic
 * copy, which the compiler vectorises.
 *
 *   embeddingGather(table, ids, out, d)       out (n, d) = table[ids]; throws on an id outside [0, V)
 *   embeddingScatter(dy, ids, dtable, d)      dtable (V, d) = Σ_i [ids_i = row] dy_i; ids outside are skipped
 */
#include "napi_util.h"
#include "pool.h"
#include <stdio.h>
#include <string.h>

#define GATHER_ROWS_PER_TASK 256

typedef struct {
  const float *src;
  const int *ids;
  float *dst;
  size_t n, d, vocab, rows_per_range;
} embedding_job;

static void gather_task(void *ctx, int task, int thread) {
  (void)thread;
  const embedding_job *j = ctx;
  const size_t start = (size_t)task * GATHER_ROWS_PER_TASK, end = start + GATHER_ROWS_PER_TASK < j->n ? start + GATHER_ROWS_PER_TASK : j->n;
  for (size_t r = start; r < end; r++) memcpy(j->dst + r * j->d, j->src + (size_t)j->ids[r] * j->d, j->d * sizeof(float));
}

static void scatter_task(void *ctx, int task, int thread) {
  (void)thread;
  const embedding_job *j = ctx;
  const size_t d = j->d, first = (size_t)task * j->rows_per_range;
  const size_t last = first + j->rows_per_range < j->vocab ? first + j->rows_per_range : j->vocab;
  memset(j->dst + first * d, 0, (last - first) * d * sizeof(float));
  for (size_t r = 0; r < j->n; r++) {
    const int id = j->ids[r];
    if (id < 0 || (size_t)id < first || (size_t)id >= last) continue;
    float *restrict out = j->dst + (size_t)id * d;
    const float *restrict row = j->src + r * d;
    for (size_t k = 0; k < d; k++) out[k] += row[k];
  }
}

/* Reads (rows, ids, table, d) — the first and third Float32Arrays, ids an Int32Array — and checks their sizes. */
static int read_job(napi_env env, napi_value *argv, embedding_job *j, int gather) {
  size_t n_first = 0, n_ids = 0, n_third = 0;
  const float *first = su_f32s(env, argv[0], gather ? "table" : "dy", &n_first);
  if (!first || !(j->ids = su_i32s(env, argv[1], "ids", &n_ids))) return 0;
  float *third = su_f32s(env, argv[2], gather ? "out" : "dtable", &n_third);
  if (!third) return 0;
  const int d = su_i32(env, argv[3], "d");
  const size_t table = gather ? n_first : n_third, rows = gather ? n_third : n_first;
  if (d < 1 || table % (size_t)d || rows != n_ids * (size_t)d) {
    char message[220];
    snprintf(message, sizeof message, "seqarena native: %s: sizes do not agree (table %zu floats, %zu ids, rows %zu floats, d %d)",
             gather ? "embeddingGather" : "embeddingScatter", table, n_ids, rows, d);
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  j->d = (size_t)d;
  j->n = n_ids;
  j->vocab = table / (size_t)d;
  j->src = first;
  j->dst = third;
  return 1;
}

static napi_value gather(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (su_args(env, info, argv, 4) != 4) {
    napi_throw_type_error(env, NULL, "seqarena native: embeddingGather(table, ids, out, d) takes 4 arguments");
    return NULL;
  }
  embedding_job j = {0};
  if (!read_job(env, argv, &j, 1)) return NULL;
  for (size_t r = 0; r < j.n; r++) {
    if (j.ids[r] < 0 || (size_t)j.ids[r] >= j.vocab) {
      char message[160];
      snprintf(message, sizeof message, "seqarena native: embeddingGather: id %d at position %zu is outside the table's [0, %zu)", j.ids[r], r, j.vocab);
      napi_throw_range_error(env, NULL, message);
      return NULL;
    }
  }
  pool_run((int)((j.n + GATHER_ROWS_PER_TASK - 1) / GATHER_ROWS_PER_TASK), gather_task, &j);
  return su_undefined(env);
}

static napi_value scatter(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (su_args(env, info, argv, 4) != 4) {
    napi_throw_type_error(env, NULL, "seqarena native: embeddingScatter(dy, ids, dtable, d) takes 4 arguments");
    return NULL;
  }
  embedding_job j = {0};
  if (!read_job(env, argv, &j, 0)) return NULL;
  if (j.vocab == 0) return su_undefined(env);
  size_t ranges = 4 * (size_t)pool_threads();
  if (ranges > j.vocab) ranges = j.vocab;
  j.rows_per_range = (j.vocab + ranges - 1) / ranges;
  pool_run((int)((j.vocab + j.rows_per_range - 1) / j.rows_per_range), scatter_task, &j);
  return su_undefined(env);
}

void register_embedding(napi_env env, napi_value exports) {
  su_export(env, exports, "embeddingGather", gather);
  su_export(env, exports, "embeddingScatter", scatter);
}
