/*
 * Every kernel file's registration function, called once when the addon loads. A kernel file
 * `foo.c` defines `void register_foo(napi_env env, napi_value exports)` and adds one line here.
 */
#ifndef SEQARENA_MODULES_H
#define SEQARENA_MODULES_H
#include "napi_util.h"

#define SEQARENA_MODULES(X) \
  X(core) \
  X(gemm) \
  X(adamw) \
  X(attention) \
  X(recurrence) \
  X(selective_scan) \
  X(norms) \
  X(activations) \
  X(cross_entropy) \
  X(embedding) \
  X(sum) \
  X(concat)

#define SEQARENA_DECLARE(name) void register_##name(napi_env env, napi_value exports);
SEQARENA_MODULES(SEQARENA_DECLARE)

#endif
