/*
 * Softmax cross-entropy averaged over masked rows, forward and the logits' gradient, over every core;
 * the loops are in cross_entropy_impl.h and architectures/kernels/cross-entropy.ts calls these.
 *   crossEntropy(logits, target, mask, loss, lse, v)          loss: 1 float; lse: one per row
 *   crossEntropyGrad(logits, target, mask, lse, dy, dlogits, v)
 * logits and dlogits are (rows, v); target (Int32Array), mask and lse have one entry per row.
 */
#define CE_FN(name) name##_generic
#include "cross_entropy_impl.h"
#include "napi_util.h"
#include <stdio.h>
#include <stdlib.h>

/* About 8k logits per piece of work: enough to repay a wake-up, small enough to split 4096 × 32. */
static size_t rows_per_task(int v) {
  const size_t rows = 8192 / (size_t)v;
  return rows < 1 ? 1 : rows;
}

/* Reads logits, target, mask and v (at argv[0], [1], [2] and argv[vAt]) into p; 0 with an exception pending when they do not agree. */
static int read_common(napi_env env, napi_value *argv, int vAt, ce_problem *p, const char *fn) {
  size_t nx = 0, nt = 0;
  p->v = su_i32(env, argv[vAt], "v");
  if (!(p->x = su_f32s(env, argv[0], "logits", &nx)) || !(p->target = su_i32s(env, argv[1], "target", &nt))) return 0;
  if (p->v < 1 || nx != nt * (size_t)p->v) {
    char message[200];
    snprintf(message, sizeof message, "seqarena native: %s: logits have %zu elements, expected rows × v = %zu × %d", fn, nx, nt, p->v);
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  p->rows = nt;
  p->rows_per_task = rows_per_task(p->v);
  return (p->mask = su_f32s_n(env, argv[2], "mask", nt)) != NULL;
}

static napi_value forward(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (su_args(env, info, argv, 6) != 6) {
    napi_throw_type_error(env, NULL, "seqarena native: crossEntropy(logits, target, mask, loss, lse, v) takes 6 arguments");
    return NULL;
  }
  ce_problem p = {0};
  if (!read_common(env, argv, 5, &p, "crossEntropy")) return NULL;
  float *loss = su_f32s_n(env, argv[3], "loss", 1);
  if (!loss || !(p.lse = su_f32s_n(env, argv[4], "lse", p.rows))) return NULL;
  const size_t tasks = (p.rows + p.rows_per_task - 1) / p.rows_per_task;
  p.partial = calloc(tasks ? tasks : 1, sizeof(double));
  if (!p.partial) {
    napi_throw_error(env, NULL, "seqarena native: crossEntropy could not allocate its partial sums");
    return NULL;
  }
  SEQARENA_DISPATCH(ce_forward, &p);
  double sum = 0, count = 0;
  for (size_t t = 0; t < tasks; t++) sum += p.partial[t];
  for (size_t r = 0; r < p.rows; r++) count += p.mask[r];
  free(p.partial);
  loss[0] = (float)(sum / (count > 1 ? count : 1));
  return su_undefined(env);
}

static napi_value backward(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (su_args(env, info, argv, 7) != 7) {
    napi_throw_type_error(env, NULL, "seqarena native: crossEntropyGrad(logits, target, mask, lse, dy, dlogits, v) takes 7 arguments");
    return NULL;
  }
  ce_problem p = {0};
  if (!read_common(env, argv, 6, &p, "crossEntropyGrad")) return NULL;
  if (!(p.lse = su_f32s_n(env, argv[3], "lse", p.rows))) return NULL;
  const double dy = su_f64(env, argv[4], "dy");
  if (!(p.dx = su_f32s_n(env, argv[5], "dlogits", p.rows * (size_t)p.v))) return NULL;
  double count = 0;
  for (size_t r = 0; r < p.rows; r++) count += p.mask[r];
  p.scale = (float)(dy / (count > 1 ? count : 1));
  SEQARENA_DISPATCH(ce_backward, &p);
  return su_undefined(env);
}

void register_cross_entropy(napi_env env, napi_value exports) {
  su_export(env, exports, "crossEntropy", forward);
  su_export(env, exports, "crossEntropyGrad", backward);
}
