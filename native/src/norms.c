/*
 * LayerNorm and RMSNorm over the last axis, forward and backward (architectures/kernels/norms.ts has
 * the formulas and the composed references). Rows are split over the thread pool in blocks; the
 * gradients of the scale (and shift) are summed per block and the blocks added in order, so results
 * do not depend on the thread count. Row statistics are accumulated in double.
 *
 *   layerNorm(x, gamma, beta, eps, y, mean, rstd, d)              rows = x.length / d
 *   layerNormGrad(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, d)
 *   rmsNorm(x, gamma, eps, y, rstd, d)
 *   rmsNormGrad(x, gamma, rstd, dy, dx, dgamma, d)
 */
#include "napi_util.h"
#include "pool.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ROWS_PER_TASK 64

typedef struct {
  const float *x, *gamma, *beta, *mean, *rstd, *dy;
  float *y, *out_mean, *out_rstd, *dx;
  double *dgamma, *dbeta; /* per task: tasks × d */
  size_t rows, d;
  float eps;
  int rms;
} norm_job;

static void forward_task(void *ctx, int task, int thread) {
  (void)thread;
  norm_job *j = ctx;
  const size_t d = j->d, end = (size_t)(task + 1) * ROWS_PER_TASK < j->rows ? (size_t)(task + 1) * ROWS_PER_TASK : j->rows;
  for (size_t r = (size_t)task * ROWS_PER_TASK; r < end; r++) {
    const float *x = j->x + r * d;
    float *y = j->y + r * d;
    double mean = 0, var = 0;
    if (!j->rms) {
      for (size_t i = 0; i < d; i++) mean += x[i];
      mean /= (double)d;
    }
    for (size_t i = 0; i < d; i++) {
      const double c = x[i] - mean;
      var += c * c;
    }
    var /= (double)d;
    const float rstd = (float)(1.0 / sqrt(var + j->eps)), m = (float)mean;
    if (j->rms) {
      for (size_t i = 0; i < d; i++) y[i] = x[i] * rstd * j->gamma[i];
    } else {
      for (size_t i = 0; i < d; i++) y[i] = (x[i] - m) * rstd * j->gamma[i] + j->beta[i];
      j->out_mean[r] = m;
    }
    j->out_rstd[r] = rstd;
  }
}

static void backward_task(void *ctx, int task, int thread) {
  (void)thread;
  norm_job *j = ctx;
  const size_t d = j->d, end = (size_t)(task + 1) * ROWS_PER_TASK < j->rows ? (size_t)(task + 1) * ROWS_PER_TASK : j->rows;
  double *dg = j->dgamma + (size_t)task * d;
  double *db = j->rms ? NULL : j->dbeta + (size_t)task * d;
  for (size_t r = (size_t)task * ROWS_PER_TASK; r < end; r++) {
    const float *x = j->x + r * d, *dy = j->dy + r * d;
    float *dx = j->dx + r * d;
    const float rstd = j->rstd[r], m = j->rms ? 0.0f : j->mean[r];
    /* xhat = (x − m)·rstd, g = dy·γ: dx = rstd·(g − mean(g) − xhat·mean(g·xhat)); RMSNorm has no mean(g) term. */
    double sum_g = 0, sum_gx = 0;
    for (size_t i = 0; i < d; i++) {
      const float xhat = (x[i] - m) * rstd, g = dy[i] * j->gamma[i];
      sum_g += g;
      sum_gx += (double)g * xhat;
      dg[i] += (double)dy[i] * xhat;
      if (db) db[i] += dy[i];
    }
    const float mean_g = j->rms ? 0.0f : (float)(sum_g / (double)d), mean_gx = (float)(sum_gx / (double)d);
    for (size_t i = 0; i < d; i++) {
      const float xhat = (x[i] - m) * rstd, g = dy[i] * j->gamma[i];
      dx[i] = rstd * (g - mean_g - xhat * mean_gx);
    }
  }
}

static int tasks_for(size_t rows) { return (int)((rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK); }

/* Reads a Float32Array argument into *out and *n; 0 (with a TypeError pending) when it is not one. */
static int f32(napi_env env, napi_value v, const char *name, const float **out, size_t *n) {
  *out = su_f32s(env, v, name, n);
  return *out != NULL;
}

static napi_value sizes_error(napi_env env, const char *fn) {
  char message[160];
  snprintf(message, sizeof message, "seqarena native: %s: array sizes do not agree with d (x: rows × d, gamma: d, per-row arrays: rows)", fn);
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

/* Sum the per-task partial gradients into out (d floats), in task order. */
static void reduce_into(float *out, const double *partial, int tasks, size_t d) {
  for (size_t i = 0; i < d; i++) {
    double s = 0;
    for (int t = 0; t < tasks; t++) s += partial[(size_t)t * d + i];
    out[i] = (float)s;
  }
}

static napi_value norm_forward(napi_env env, napi_callback_info info, int rms) {
  napi_value a[8];
  const int want = rms ? 6 : 8;
  if (su_args(env, info, a, 8) < want) {
    napi_throw_type_error(env, NULL, rms ? "seqarena native: rmsNorm(x, gamma, eps, y, rstd, d)" : "seqarena native: layerNorm(x, gamma, beta, eps, y, mean, rstd, d)");
    return NULL;
  }
  norm_job j = {0};
  size_t nx, ng, nb = 0, ny, nm = 0, nr;
  const float *y, *mean = NULL, *rstd, *beta = NULL;
  int k = 0;
  if (!f32(env, a[k++], "x", &j.x, &nx) || !f32(env, a[k++], "gamma", &j.gamma, &ng)) return NULL;
  if (!rms && !f32(env, a[k++], "beta", &beta, &nb)) return NULL;
  j.eps = (float)su_f64(env, a[k++], "eps");
  if (!f32(env, a[k++], "y", &y, &ny)) return NULL;
  if (!rms && !f32(env, a[k++], "mean", &mean, &nm)) return NULL;
  if (!f32(env, a[k++], "rstd", &rstd, &nr)) return NULL;
  j.d = (size_t)su_i32(env, a[k++], "d");
  if (j.d == 0 || nx % j.d) return sizes_error(env, rms ? "rmsNorm" : "layerNorm");
  j.rows = nx / j.d;
  if (ng != j.d || ny != nx || nr != j.rows || (!rms && (nb != j.d || nm != j.rows))) return sizes_error(env, rms ? "rmsNorm" : "layerNorm");
  j.beta = beta;
  j.y = (float *)y;
  j.out_mean = (float *)mean;
  j.out_rstd = (float *)rstd;
  j.rms = rms;
  pool_run(tasks_for(j.rows), forward_task, &j);
  return su_undefined(env);
}

static napi_value norm_backward(napi_env env, napi_callback_info info, int rms) {
  napi_value a[9];
  const int want = rms ? 7 : 9;
  if (su_args(env, info, a, 9) < want) {
    napi_throw_type_error(env, NULL, rms ? "seqarena native: rmsNormGrad(x, gamma, rstd, dy, dx, dgamma, d)" : "seqarena native: layerNormGrad(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, d)");
    return NULL;
  }
  norm_job j = {0};
  size_t nx, ng, nm = 0, nr, ndy, ndx, ndg, ndb = 0;
  const float *dx, *dgamma, *dbeta = NULL;
  int k = 0;
  if (!f32(env, a[k++], "x", &j.x, &nx) || !f32(env, a[k++], "gamma", &j.gamma, &ng)) return NULL;
  if (!rms && !f32(env, a[k++], "mean", &j.mean, &nm)) return NULL;
  if (!f32(env, a[k++], "rstd", &j.rstd, &nr) || !f32(env, a[k++], "dy", &j.dy, &ndy) || !f32(env, a[k++], "dx", &dx, &ndx) ||
      !f32(env, a[k++], "dgamma", &dgamma, &ndg))
    return NULL;
  if (!rms && !f32(env, a[k++], "dbeta", &dbeta, &ndb)) return NULL;
  j.d = (size_t)su_i32(env, a[k++], "d");
  const char *fn = rms ? "rmsNormGrad" : "layerNormGrad";
  if (j.d == 0 || nx % j.d) return sizes_error(env, fn);
  j.rows = nx / j.d;
  if (ng != j.d || nr != j.rows || ndy != nx || ndx != nx || ndg != j.d || (!rms && (nm != j.rows || ndb != j.d))) return sizes_error(env, fn);
  const int tasks = tasks_for(j.rows);
  j.dgamma = calloc((size_t)(tasks ? tasks : 1) * j.d, sizeof(double));
  j.dbeta = rms ? NULL : calloc((size_t)(tasks ? tasks : 1) * j.d, sizeof(double));
  j.dx = (float *)dx;
  j.rms = rms;
  pool_run(tasks, backward_task, &j);
  reduce_into((float *)dgamma, j.dgamma, tasks, j.d);
  if (!rms) reduce_into((float *)dbeta, j.dbeta, tasks, j.d);
  free(j.dgamma);
  free(j.dbeta);
  return su_undefined(env);
}

static napi_value layer_norm(napi_env env, napi_callback_info info) { return norm_forward(env, info, 0); }
static napi_value layer_norm_grad(napi_env env, napi_callback_info info) { return norm_backward(env, info, 0); }
static napi_value rms_norm(napi_env env, napi_callback_info info) { return norm_forward(env, info, 1); }
static napi_value rms_norm_grad(napi_env env, napi_callback_info info) { return norm_backward(env, info, 1); }

void register_norms(napi_env env, napi_value exports) {
  su_export(env, exports, "layerNorm", layer_norm);
  su_export(env, exports, "layerNormGrad", layer_norm_grad);
  su_export(env, exports, "rmsNorm", rms_norm);
  su_export(env, exports, "rmsNormGrad", rms_norm_grad);
}
