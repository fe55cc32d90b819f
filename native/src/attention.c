/*
 * Causal or masked flash attention, forward (saving each row's log-sum-exp) and backward, over every
 * core; the loops are in attention_impl.h and architectures/kernels/attention-fused.ts calls these.
 * Outputs are written in place; sizes come last, causal as 0 or 1, then the sliding window (0: none).
 *   flashAttentionForward(q, k, v, mask, out, lse, b, h, lq, lk, hs, causal, window)
 *   flashAttentionBackward(q, k, v, mask, out, lse, dOut, dLse, dq, dk, dv, b, h, lq, lk, hs, causal, window)
 * (Named apart from the attentionForward/attentionBackward of addons built before the window argument,
 * so a stale build is skipped for the WebAssembly kernels rather than called with the wrong arity.)
 */
#define ATTN_FN(name) name##_generic
#include "attention_impl.h"
#include "napi_util.h"
#include <math.h>

static int read_problem(napi_env env, napi_value *argv, napi_value *sizes, attn_problem *p) {
  p->b = su_i32(env, sizes[0], "b");
  p->h = su_i32(env, sizes[1], "h");
  p->lq = su_i32(env, sizes[2], "lq");
  p->lk = su_i32(env, sizes[3], "lk");
  p->hs = su_i32(env, sizes[4], "hs");
  p->causal = su_i32(env, sizes[5], "causal") != 0;
  p->window = su_i32(env, sizes[6], "window");
  if (p->b < 1 || p->h < 1 || p->lq < 1 || p->lk < 1 || p->hs < 1) {
    napi_throw_range_error(env, NULL, "seqarena native: attention sizes b, h, lq, lk, hs must all be ≥ 1");
    return 0;
  }
  if (p->window < 0 || (p->window > 0 && !p->causal)) {
    napi_throw_range_error(env, NULL, "seqarena native: an attention window is a positive key count on causal attention (0: none)");
    return 0;
  }
  if (p->causal && p->lq > p->lk) {
    napi_throw_range_error(env, NULL, "seqarena native: causal attention needs lq ≤ lk");
    return 0;
  }
  p->scale = 1.0f / sqrtf((float)p->hs);
  const size_t nq = (size_t)p->b * p->h * p->lq * p->hs, nk = (size_t)p->b * p->h * p->lk * p->hs;
  const size_t rows = (size_t)p->b * p->h * p->lq;
  if (!(p->q = su_f32s_n(env, argv[0], "q", nq))) return 0;
  if (!(p->k = su_f32s_n(env, argv[1], "k", nk))) return 0;
  if (!(p->v = su_f32s_n(env, argv[2], "v", nk))) return 0;
  if (!(p->mask = su_f32s_n(env, argv[3], "mask", (size_t)p->b * p->lk))) return 0;
  if (!(p->out = su_f32s_n(env, argv[4], "out", nq))) return 0;
  if (!(p->lse = su_f32s_n(env, argv[5], "lse", rows))) return 0;
  return 1;
}

static napi_value forward(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (su_args(env, info, argv, 13) != 13) {
    napi_throw_type_error(env, NULL, "seqarena native: flashAttentionForward(q, k, v, mask, out, lse, b, h, lq, lk, hs, causal, window) takes 13 arguments");
    return NULL;
  }
  attn_problem p = {0};
  if (!read_problem(env, argv, argv + 6, &p)) return NULL;
  SEQARENA_DISPATCH(attn_forward, &p);
  return su_undefined(env);
}

static napi_value backward(napi_env env, napi_callback_info info) {
  napi_value argv[18];
  if (su_args(env, info, argv, 18) != 18) {
    napi_throw_type_error(env, NULL, "seqarena native: flashAttentionBackward(q, k, v, mask, out, lse, dOut, dLse, dq, dk, dv, b, h, lq, lk, hs, causal, window) takes 18 arguments");
    return NULL;
  }
  attn_problem p = {0};
  if (!read_problem(env, argv, argv + 11, &p)) return NULL;
  const size_t nq = (size_t)p.b * p.h * p.lq * p.hs, nk = (size_t)p.b * p.h * p.lk * p.hs;
  if (!(p.dOut = su_f32s_n(env, argv[6], "dOut", nq))) return NULL;
  if (!(p.dLse = su_f32s_n(env, argv[7], "dLse", (size_t)p.b * p.h * p.lq))) return NULL;
  if (!(p.dq = su_f32s_n(env, argv[8], "dq", nq))) return NULL;
  if (!(p.dk = su_f32s_n(env, argv[9], "dk", nk))) return NULL;
  if (!(p.dv = su_f32s_n(env, argv[10], "dv", nk))) return NULL;
  SEQARENA_DISPATCH(attn_backward, &p);
  return su_undefined(env);
}

void register_attention(napi_env env, napi_value exports) {
  su_export(env, exports, "flashAttentionForward", forward);
  su_export(env, exports, "flashAttentionBackward", backward);
}
