/*
 * The addon's own functions: its thread count and the instruction sets it was built for and found.
 *   threads() → number        setThreads(n)        isa() → "avx512" | "avx2" | "generic"
 */
#include "napi_util.h"
#include "pool.h"
#include <unistd.h>

/* The widest instruction set this build has kernels for that the CPU runs. */
const char *seqarena_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#ifdef SEQARENA_HAVE_AVX512
  if (__builtin_cpu_supports("avx512f")) return "avx512";
#endif
#ifdef SEQARENA_HAVE_AVX2
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
#endif
  return "generic";
}

static napi_value threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, pool_threads(), &out));
  return out;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (su_args(env, info, argv, 1) < 1) {
    napi_throw_type_error(env, NULL, "seqarena native: setThreads(n) needs n");
    return NULL;
  }
  int n = su_i32(env, argv[0], "n");
  pool_set_threads(n < 1 ? 1 : n);
  return su_undefined(env);
}

static napi_value isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  NAPI_CALL(env, napi_create_string_utf8(env, seqarena_isa(), NAPI_AUTO_LENGTH, &out));
  return out;
}

void register_core(napi_env env, napi_value exports) {
  su_export(env, exports, "threads", threads);
  su_export(env, exports, "setThreads", set_threads);
  su_export(env, exports, "isa", isa);
}
