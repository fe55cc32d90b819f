/*
 * GELU (tanh form, GPT-2's) and SiLU, forward and backward, elementwise over the thread pool
 * (architectures/kernels/activations.ts has the formulas and the composed references).
 *
 *   activation(kind, x, y)          kind 0 GELU, 1 SiLU
 *   activationGrad(kind, x, dy, dx)
 */
#include "napi_util.h"
#include "pool.h"
#include <math.h>

#define PER_TASK 16384
#define GELU_C 0.7978845608028654f /* √(2/π) */

typedef struct {
  int kind;
  const float *x, *dy;
  float *out;
  size_t n;
} act_job;

static void forward_task(void *ctx, int task, int thread) {
  (void)thread;
  act_job *j = ctx;
  const size_t start = (size_t)task * PER_TASK, end = start + PER_TASK < j->n ? start + PER_TASK : j->n;
  const float *x = j->x;
  float *y = j->out;
  if (j->kind == 0) {
    for (size_t i = start; i < end; i++) y[i] = 0.5f * x[i] * (1.0f + tanhf(GELU_C * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
  } else {
    for (size_t i = start; i < end; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
  }
}

static void backward_task(void *ctx, int task, int thread) {
  (void)thread;
  act_job *j = ctx;
  const size_t start = (size_t)task * PER_TASK, end = start + PER_TASK < j->n ? start + PER_TASK : j->n;
  const float *x = j->x, *dy = j->dy;
  float *dx = j->out;
  if (j->kind == 0) {
    for (size_t i = start; i < end; i++) {
      const float t = tanhf(GELU_C * (x[i] + 0.044715f * x[i] * x[i] * x[i]));
      const float inner = GELU_C * (1.0f + 3.0f * 0.044715f * x[i] * x[i]);
      dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * x[i] * (1.0f - t * t) * inner);
    }
  } else {
    for (size_t i = start; i < end; i++) {
      const float s = 1.0f / (1.0f + expf(-x[i]));
      dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
  }
}

static napi_value run(napi_env env, napi_callback_info info, int grad) {
  napi_value a[4];
  const int want = grad ? 4 : 3;
  if (su_args(env, info, a, 4) < want) {
    napi_throw_type_error(env, NULL, grad ? "seqarena native: activationGrad(kind, x, dy, dx)" : "seqarena native: activation(kind, x, y)");
    return NULL;
  }
  act_job j = {0};
  size_t nx = 0, ndy = 0, nout = 0;
  j.kind = su_i32(env, a[0], "kind");
  j.x = su_f32s(env, a[1], "x", &nx);
  if (!j.x) return NULL;
  if (grad && !(j.dy = su_f32s(env, a[2], "dy", &ndy))) return NULL;
  if (!(j.out = su_f32s(env, a[grad ? 3 : 2], grad ? "dx" : "y", &nout))) return NULL;
  if (nout != nx || (grad && ndy != nx) || (j.kind != 0 && j.kind != 1)) {
    napi_throw_range_error(env, NULL, "seqarena native: activation: kind must be 0 (GELU) or 1 (SiLU) and the arrays of one size");
    return NULL;
  }
  j.n = nx;
  pool_run((int)((nx + PER_TASK - 1) / PER_TASK), grad ? backward_task : forward_task, &j);
  return su_undefined(env);
}

static napi_value activation(napi_env env, napi_callback_info info) { return run(env, info, 0); }
static napi_value activation_grad(napi_env env, napi_callback_info info) { return run(env, info, 1); }

void register_activations(napi_env env, napi_value exports) {
  su_export(env, exports, "activation", activation);
  su_export(env, exports, "activationGrad", activation_grad);
}
