/*
 * The Elman RNN, LSTM and GRU over a whole sequence, forward and backward through time, over every core;
 * the loops are in recurrence_impl.h and architectures/kernels/recurrence-fused.ts calls these.
 * Outputs are written in place into the arrays passed; b, l, h come last.
 *   rnnForward(xProj, wh, h0, hs, b, l, h)
 *   rnnBackward(dhs, dhT, hs, wh, h0, dxProj, dwh, dh0, b, l, h)
 *   lstmForward(xProj, wh, h0, c0, hs, cs, gates, b, l, h)
 *   lstmBackward(dhs, dhT, dcT, gates, cs, hs, wh, h0, c0, dxProj, dwh, dh0, dc0, b, l, h)
 *   gruForward(xProj, wh, bh, h0, hs, saved, b, l, h)
 *   gruBackward(dhs, dhT, saved, hs, wh, h0, dxProj, dwh, dbh, dh0, b, l, h)
 */
#define REC_FN(name) name##_generic
#include "recurrence_impl.h"
#include "napi_util.h"
#include <stdio.h>

/* What each argument holds, as its size: (b, l, gates·h), (b, l, h), (b, h), (h, gates·h), (gates·h), (b, l, 4h). */
typedef enum { BLG, BLH, BH, HG, G, BL4H } size_kind;

typedef struct {
  const char *name;
  size_kind size;
  size_t field; /* offset of the pointer in rec_problem */
} arg_spec;

#define ARG(name, size, field) {name, size, offsetof(rec_problem, field)}

static napi_value call(napi_env env, napi_callback_info info, rec_kind kind, const char *signature, const arg_spec *specs, int count, int backward) {
  napi_value argv[20];
  if (su_args(env, info, argv, 20) != count + 3) {
    char message[240];
    snprintf(message, sizeof message, "seqarena native: %s takes %d arguments", signature, count + 3);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  rec_problem p = {0};
  p.kind = kind;
  p.b = su_i32(env, argv[count], "b");
  p.l = su_i32(env, argv[count + 1], "l");
  p.h = su_i32(env, argv[count + 2], "h");
  if (p.b < 1 || p.l < 1 || p.h < 1) {
    napi_throw_range_error(env, NULL, "seqarena native: recurrence sizes b, l, h must all be ≥ 1");
    return NULL;
  }
  const size_t b = p.b, l = p.l, h = p.h, g = kind;
  const size_t sizes[] = {[BLG] = b * l * g * h, [BLH] = b * l * h, [BH] = b * h, [HG] = h * g * h, [G] = g * h, [BL4H] = b * l * 4 * h};
  for (int i = 0; i < count; i++) {
    float *data = su_f32s_n(env, argv[i], specs[i].name, sizes[specs[i].size]);
    if (!data) return NULL;
    *(float **)((char *)&p + specs[i].field) = data;
  }
  if (!backward) {
    SEQARENA_DISPATCH(rec_forward, &p);
    return su_undefined(env);
  }
  float *da = NULL;
  if (kind == REC_GRU && !(p.da = da = malloc(sizeof(float) * sizes[BLG]))) {
    napi_throw_error(env, NULL, "seqarena native: gruBackward could not allocate its scratch memory; use a smaller batch or length");
    return NULL;
  }
  SEQARENA_DISPATCH(rec_backward, &p);
  free(da);
  return su_undefined(env);
}

static const arg_spec RNN_FORWARD[] = {ARG("xProj", BLG, xProj), ARG("wh", HG, wh), ARG("h0", BH, h0), ARG("hs", BLH, hs)};
static const arg_spec RNN_BACKWARD[] = {ARG("dhs", BLH, dhs), ARG("dhT", BH, dhT), ARG("hs", BLH, hs), ARG("wh", HG, wh),
                                        ARG("h0", BH, h0), ARG("dxProj", BLG, dxProj), ARG("dwh", HG, dwh), ARG("dh0", BH, dh0)};
static const arg_spec LSTM_FORWARD[] = {ARG("xProj", BLG, xProj), ARG("wh", HG, wh), ARG("h0", BH, h0), ARG("c0", BH, c0),
                                        ARG("hs", BLH, hs), ARG("cs", BLH, cs), ARG("gates", BLG, saved)};
static const arg_spec LSTM_BACKWARD[] = {ARG("dhs", BLH, dhs), ARG("dhT", BH, dhT), ARG("dcT", BH, dcT), ARG("gates", BLG, saved),
                                         ARG("cs", BLH, cs), ARG("hs", BLH, hs), ARG("wh", HG, wh), ARG("h0", BH, h0),
                                         ARG("c0", BH, c0), ARG("dxProj", BLG, dxProj), ARG("dwh", HG, dwh), ARG("dh0", BH, dh0),
                                         ARG("dc0", BH, dc0)};
static const arg_spec GRU_FORWARD[] = {ARG("xProj", BLG, xProj), ARG("wh", HG, wh), ARG("bh", G, bh), ARG("h0", BH, h0),
                                       ARG("hs", BLH, hs), ARG("saved", BL4H, saved)};
static const arg_spec GRU_BACKWARD[] = {ARG("dhs", BLH, dhs), ARG("dhT", BH, dhT), ARG("saved", BL4H, saved), ARG("hs", BLH, hs),
                                        ARG("wh", HG, wh), ARG("h0", BH, h0), ARG("dxProj", BLG, dxProj), ARG("dwh", HG, dwh),
                                        ARG("dbh", G, dbh), ARG("dh0", BH, dh0)};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define BINDING(fn, kind, specs, backward, signature) \
  static napi_value fn(napi_env env, napi_callback_info info) { return call(env, info, kind, signature, specs, COUNT(specs), backward); }

BINDING(rnn_forward, REC_RNN, RNN_FORWARD, 0, "rnnForward(xProj, wh, h0, hs, b, l, h)")
BINDING(rnn_backward, REC_RNN, RNN_BACKWARD, 1, "rnnBackward(dhs, dhT, hs, wh, h0, dxProj, dwh, dh0, b, l, h)")
BINDING(lstm_forward, REC_LSTM, LSTM_FORWARD, 0, "lstmForward(xProj, wh, h0, c0, hs, cs, gates, b, l, h)")
BINDING(lstm_backward, REC_LSTM, LSTM_BACKWARD, 1, "lstmBackward(dhs, dhT, dcT, gates, cs, hs, wh, h0, c0, dxProj, dwh, dh0, dc0, b, l, h)")
BINDING(gru_forward, REC_GRU, GRU_FORWARD, 0, "gruForward(xProj, wh, bh, h0, hs, saved, b, l, h)")
BINDING(gru_backward, REC_GRU, GRU_BACKWARD, 1, "gruBackward(dhs, dhT, saved, hs, wh, h0, dxProj, dwh, dbh, dh0, b, l, h)")

void register_recurrence(napi_env env, napi_value exports) {
  su_export(env, exports, "rnnForward", rnn_forward);
  su_export(env, exports, "rnnBackward", rnn_backward);
  su_export(env, exports, "lstmForward", lstm_forward);
  su_export(env, exports, "lstmBackward", lstm_backward);
  su_export(env, exports, "gruForward", gru_forward);
  su_export(env, exports, "gruBackward", gru_backward);
}
