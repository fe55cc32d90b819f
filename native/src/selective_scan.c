/*
 * The selective scan (Mamba), forward and backward, over every core; the loops are in
 * selective_scan_impl.h and architectures/kernels/selective-scan-fused.ts calls these.
 *   selectiveScanForward(u, delta, A, B, C, D, y, b, l, di, n)
 *   selectiveScanBackward(u, delta, A, B, C, D, dy, du, ddelta, dA, dB, dC, dD, b, l, di, n)
 * Shapes: u, delta, y, dy, du, ddelta (b, l, di); A, dA (di, n); B, C, dB, dC (b, l, n); D, dD (di).
 * Outputs are written in place.
 */
#define SCAN_FN(name) name##_generic
#include "selective_scan_impl.h"
#include "napi_util.h"
#include <stdlib.h>

static int read_sizes(napi_env env, napi_value *argv, int *b, int *l, int *di, int *n) {
  *b = su_i32(env, argv[0], "b");
  *l = su_i32(env, argv[1], "l");
  *di = su_i32(env, argv[2], "di");
  *n = su_i32(env, argv[3], "n");
  if (*b < 1 || *l < 1 || *di < 1 || *n < 1) {
    napi_throw_range_error(env, NULL, "seqarena native: selective scan sizes b, l, di, n must all be ≥ 1");
    return 0;
  }
  return 1;
}

static int read_inputs(napi_env env, napi_value *argv, scan_problem *p) {
  const size_t bld = (size_t)p->b * p->l * p->di, bln = (size_t)p->b * p->l * p->n, dn = (size_t)p->di * p->n;
  p->u = su_f32s_n(env, argv[0], "u", bld);
  if (p->u) p->delta = su_f32s_n(env, argv[1], "delta", bld);
  if (p->delta) p->A = su_f32s_n(env, argv[2], "A", dn);
  if (p->A) p->B = su_f32s_n(env, argv[3], "B", bln);
  if (p->B) p->C = su_f32s_n(env, argv[4], "C", bln);
  if (p->C) p->D = su_f32s_n(env, argv[5], "D", (size_t)p->di);
  return p->D != NULL;
}

static napi_value forward(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  if (su_args(env, info, argv, 11) != 11) {
    napi_throw_type_error(env, NULL, "seqarena native: selectiveScanForward(u, delta, A, B, C, D, y, b, l, di, n) takes 11 arguments");
    return NULL;
  }
  scan_problem p = {0};
  if (!read_sizes(env, argv + 7, &p.b, &p.l, &p.di, &p.n) || !read_inputs(env, argv, &p)) return NULL;
  p.y = su_f32s_n(env, argv[6], "y", (size_t)p.b * p.l * p.di);
  if (!p.y) return NULL;
  SEQARENA_DISPATCH(scan_forward, &p);
  return su_undefined(env);
}

static napi_value backward(napi_env env, napi_callback_info info) {
  napi_value argv[17];
  if (su_args(env, info, argv, 17) != 17) {
    napi_throw_type_error(env, NULL, "seqarena native: selectiveScanBackward(u, delta, A, B, C, D, dy, du, ddelta, dA, dB, dC, dD, b, l, di, n) takes 17 arguments");
    return NULL;
  }
  scan_problem p = {0};
  if (!read_sizes(env, argv + 13, &p.b, &p.l, &p.di, &p.n) || !read_inputs(env, argv, &p)) return NULL;
  const size_t bld = (size_t)p.b * p.l * p.di, bln = (size_t)p.b * p.l * p.n, dn = (size_t)p.di * p.n;
  if (!(p.dy = su_f32s_n(env, argv[6], "dy", bld))) return NULL;
  if (!(p.du = su_f32s_n(env, argv[7], "du", bld))) return NULL;
  if (!(p.ddelta = su_f32s_n(env, argv[8], "ddelta", bld))) return NULL;
  if (!(p.dA = su_f32s_n(env, argv[9], "dA", dn))) return NULL;
  if (!(p.dB = su_f32s_n(env, argv[10], "dB", bln))) return NULL;
  if (!(p.dC = su_f32s_n(env, argv[11], "dC", bln))) return NULL;
  if (!(p.dD = su_f32s_n(env, argv[12], "dD", (size_t)p.di))) return NULL;
  const size_t blocks = (size_t)(p.di + SCAN_BLOCK - 1) / SCAN_BLOCK;
  const size_t thread_scratch = 2 * (size_t)p.l * SCAN_BLOCK * p.n;
  const size_t total = 2 * blocks * bln + (size_t)p.b * dn + (size_t)p.b * p.di + (size_t)pool_threads() * thread_scratch;
  float *memory = malloc(total * sizeof(float));
  if (!memory) {
    napi_throw_error(env, NULL, "seqarena native: selectiveScanBackward could not allocate its scratch memory; use a smaller batch or length");
    return NULL;
  }
  p.dB_parts = memory;
  p.dC_parts = p.dB_parts + blocks * bln;
  p.dA_parts = p.dC_parts + blocks * bln;
  p.dD_parts = p.dA_parts + (size_t)p.b * dn;
  float *scratch = p.dD_parts + (size_t)p.b * p.di;
  SEQARENA_DISPATCH(scan_backward, &p, scratch);
  free(memory);
  return su_undefined(env);
}

void register_selective_scan(napi_env env, napi_value exports) {
  su_export(env, exports, "selectiveScanForward", forward);
  su_export(env, exports, "selectiveScanBackward", backward);
}
