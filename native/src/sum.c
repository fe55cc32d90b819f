/*
 * tfjs's Sum over leading axes as column sums of a (rows, cols) matrix, over every core
 * (architectures/kernels/sum.ts reshapes the tensor and calls this; the loop is in sum_impl.h).
 *   columnSums(x, out, rows, cols)       out (cols) = Σ_i x (rows, cols)[i, :]
 * The columns are cut into pieces of whole 32-column blocks, about four per thread; a small sum runs
 * on the calling thread alone, where waking the pool would cost more than it saves.
 */
#define SUM_FN(name) name##_generic
#include "sum_impl.h"
#include "napi_util.h"
#include <stdio.h>
#include <string.h>

/* Below this many elements one thread does it all (a wake-up costs about as much as summing them). */
#define SUM_SPLIT_ELEMENTS 32768

const char *seqarena_isa(void);

static size_t cols_per_task(size_t rows, size_t cols) {
  const size_t threads = (size_t)pool_threads();
  if (threads == 1 || rows * cols < SUM_SPLIT_ELEMENTS) return cols;
  const size_t blocks = (cols + SUM_BLOCK - 1) / SUM_BLOCK;
  const size_t pieces = 4 * threads;
  const size_t per = (blocks + pieces - 1) / pieces;
  return (per < 1 ? 1 : per) * SUM_BLOCK;
}

static napi_value column_sums(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (su_args(env, info, argv, 4) != 4) {
    napi_throw_type_error(env, NULL, "seqarena native: columnSums(x, out, rows, cols) takes 4 arguments");
    return NULL;
  }
  const int rows = su_i32(env, argv[2], "rows"), cols = su_i32(env, argv[3], "cols");
  if (rows < 0 || cols < 1) {
    napi_throw_range_error(env, NULL, "seqarena native: columnSums: rows must be ≥ 0 and cols ≥ 1");
    return NULL;
  }
  sum_problem p = {.rows = (size_t)rows, .cols = (size_t)cols};
  if (!(p.x = su_f32s_n(env, argv[0], "x", p.rows * p.cols)) || !(p.out = su_f32s_n(env, argv[1], "out", p.cols))) return NULL;
  p.cols_per_task = cols_per_task(p.rows, p.cols);
  const char *isa = seqarena_isa();
  (void)isa;
#ifdef SEQARENA_HAVE_AVX512
  if (strcmp(isa, "avx512") == 0) {
    column_sums_avx512(&p);
    return su_undefined(env);
  }
#endif
#ifdef SEQARENA_HAVE_AVX2
  if (strcmp(isa, "avx2") == 0) {
    column_sums_avx2(&p);
    return su_undefined(env);
  }
#endif
  column_sums_generic(&p);
  return su_undefined(env);
}

void register_sum(napi_env env, napi_value exports) { su_export(env, exports, "columnSums", column_sums); }
