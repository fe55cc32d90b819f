/*
 * tfjs's Concat and SplitV on float32 tensors as row-block copies, over the thread pool
 * (architectures/kernels/concat.ts views the tensors as rows and calls these):
 *
 *   concatRows(parts, out, rows)    out (rows, Σ w_i) = [parts_0 | parts_1 | …], parts_i (rows, w_i)
 *   splitRows(x, parts, rows)       the inverse: parts_i (rows, w_i) = x (rows, Σ w_i)[:, o_i : o_i + w_i]
 *
 * w_i is each part's length over rows. Every element is copied as it is (memcpy), so the result is
 * tfjs's bit for bit whatever the thread count. Threads take ranges of rows; a small copy runs on the
 * calling thread alone, where waking the pool would cost more than it saves.
 */
#include "napi_util.h"
#include "pool.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Below this many floats one thread does it all; above, pieces of at least this many each. */
#define COPY_SPLIT_FLOATS 32768

typedef struct {
  float **parts;
  size_t *widths;
  size_t n_parts, rows, total, rows_per_task;
  float *whole;
  int split; /* 0: parts → whole (concat); 1: whole → parts (split) */
} copy_job;

static void copy_task(void *ctx, int task, int thread) {
  (void)thread;
  const copy_job *j = ctx;
  const size_t first = (size_t)task * j->rows_per_task;
  const size_t last = first + j->rows_per_task < j->rows ? first + j->rows_per_task : j->rows;
  for (size_t r = first; r < last; r++) {
    float *row = j->whole + r * j->total;
    for (size_t i = 0; i < j->n_parts; i++) {
      const size_t w = j->widths[i];
      if (w == 0) continue;
      float *part = j->parts[i] + r * w;
      if (j->split) memcpy(part, row, w * sizeof(float));
      else memcpy(row, part, w * sizeof(float));
      row += w;
    }
  }
}

static size_t rows_per_task(size_t rows, size_t total) {
  const size_t threads = (size_t)pool_threads();
  const size_t floats = rows * total;
  if (threads == 1 || floats < COPY_SPLIT_FLOATS) return rows;
  size_t pieces = 4 * threads;
  if (floats / pieces < COPY_SPLIT_FLOATS / 2) pieces = floats / (COPY_SPLIT_FLOATS / 2);
  const size_t per = (rows + pieces - 1) / pieces;
  return per < 1 ? 1 : per;
}

/* (parts, whole, rows) of either call, with the parts' sizes checked against rows and the whole. */
static napi_value row_blocks(napi_env env, napi_callback_info info, int split) {
  const char *name = split ? "splitRows(x, parts, rows)" : "concatRows(parts, out, rows)";
  napi_value argv[3];
  if (su_args(env, info, argv, 3) != 3) {
    char message[120];
    snprintf(message, sizeof message, "seqarena native: %s takes 3 arguments", name);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  napi_value list = argv[split ? 1 : 0];
  bool is_array = false;
  if (napi_is_array(env, list, &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "seqarena native: concatRows / splitRows: parts must be an array of Float32Arrays");
    return NULL;
  }
  uint32_t count = 0;
  NAPI_CALL(env, napi_get_array_length(env, list, &count));
  const int rows = su_i32(env, argv[2], "rows");
  size_t n_whole = 0;
  float *whole = su_f32s(env, argv[split ? 0 : 1], split ? "x" : "out", &n_whole);
  if (!whole) return NULL;
  if (rows < 1) {
    napi_throw_range_error(env, NULL, "seqarena native: concatRows / splitRows: rows must be ≥ 1");
    return NULL;
  }
  copy_job j = {.n_parts = count, .rows = (size_t)rows, .whole = whole, .split = split};
  j.parts = malloc((count ? count : 1) * sizeof(float *));
  j.widths = malloc((count ? count : 1) * sizeof(size_t));
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    size_t n = 0;
    bool pending = false;
    if (napi_get_element(env, list, i, &item) != napi_ok) pending = true;
    /* an empty Float32Array may have no data pointer: a part of width 0, never read or written */
    else if (!(j.parts[i] = su_f32s(env, item, "parts[i]", &n))) napi_is_exception_pending(env, &pending);
    if (pending) {
      free(j.parts);
      free(j.widths);
      return NULL;
    }
    if (n % j.rows) {
      free(j.parts);
      free(j.widths);
      napi_throw_range_error(env, NULL, "seqarena native: concatRows / splitRows: a part's length is not a multiple of rows");
      return NULL;
    }
    j.widths[i] = n / j.rows;
    j.total += j.widths[i];
  }
  if (j.total * j.rows != n_whole) {
    char message[200];
    snprintf(message, sizeof message, "seqarena native: %s: the parts hold %zu floats, the whole %zu", name, j.total * j.rows, n_whole);
    free(j.parts);
    free(j.widths);
    napi_throw_range_error(env, NULL, message);
    return NULL;
  }
  j.rows_per_task = rows_per_task(j.rows, j.total);
  pool_run((int)((j.rows + j.rows_per_task - 1) / j.rows_per_task), copy_task, &j);
  free(j.parts);
  free(j.widths);
  return su_undefined(env);
}

static napi_value concat_rows(napi_env env, napi_callback_info info) { return row_blocks(env, info, 0); }

static napi_value split_rows(napi_env env, napi_callback_info info) { return row_blocks(env, info, 1); }

void register_concat(napi_env env, napi_value exports) {
  su_export(env, exports, "concatRows", concat_rows);
  su_export(env, exports, "splitRows", split_rows);
}
