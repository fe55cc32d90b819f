/*
 * The addon's own functions: its thread count and the instruction sets it was built for and found.
 *   threads() → number        setThreads(n)
 *   isa() → "avx512" | "avx2" | "generic"   (the one the kernels use)
 *   isas() → the ones this build and CPU support, widest first      setIsa(name)
 */
#include "napi_util.h"
#include "pool.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether this build has kernels for `isa` and the CPU runs them. */
int seqarena_isa_supported(const char *isa) {
  if (strcmp(isa, "generic") == 0) return 1;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#ifdef SEQARENA_HAVE_AVX512
  if (strcmp(isa, "avx512") == 0) return __builtin_cpu_supports("avx512f");
#endif
#ifdef SEQARENA_HAVE_AVX2
  if (strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#endif
  return 0;
}

static const char *const ISAS[] = {"avx512", "avx2", "generic"};
#define N_ISAS 3
static const char *active_isa = NULL;

/*
 * The instruction set the kernels dispatch to: the widest one supported, or the one SEQARENA_ISA names
 * (avx512 | avx2 | generic) when it is supported — so the AVX2 path can be measured and tested on an
 * AVX-512 machine.
 */
const char *seqarena_isa(void) {
  if (active_isa) return active_isa;
  const char *want = getenv("SEQARENA_ISA");
  for (int i = 0; i < N_ISAS; i++) {
    if (want && *want && strcmp(want, ISAS[i]) != 0) continue;
    if (seqarena_isa_supported(ISAS[i])) return active_isa = ISAS[i];
  }
  for (int i = 0; i < N_ISAS; i++)
    if (seqarena_isa_supported(ISAS[i])) return active_isa = ISAS[i];
  return active_isa = "generic";
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

static napi_value isas(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, name;
  NAPI_CALL(env, napi_create_array(env, &out));
  uint32_t count = 0;
  for (int i = 0; i < N_ISAS; i++) {
    if (!seqarena_isa_supported(ISAS[i])) continue;
    NAPI_CALL(env, napi_create_string_utf8(env, ISAS[i], NAPI_AUTO_LENGTH, &name));
    NAPI_CALL(env, napi_set_element(env, out, count++, name));
  }
  return out;
}

static napi_value set_isa(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char want[32] = {0};
  size_t len = 0;
  if (su_args(env, info, argv, 1) < 1 || napi_get_value_string_utf8(env, argv[0], want, sizeof want, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "seqarena native: setIsa(name) needs a name: avx512, avx2 or generic");
    return NULL;
  }
  for (int i = 0; i < N_ISAS; i++) {
    if (strcmp(want, ISAS[i]) == 0 && seqarena_isa_supported(ISAS[i])) {
      active_isa = ISAS[i];
      return su_undefined(env);
    }
  }
  char message[160];
  snprintf(message, sizeof message, "seqarena native: instruction set '%s' is not supported by this build and CPU (see isas())", want);
  napi_throw_error(env, NULL, message);
  return NULL;
}

void register_core(napi_env env, napi_value exports) {
  su_export(env, exports, "threads", threads);
  su_export(env, exports, "setThreads", set_threads);
  su_export(env, exports, "isa", isa);
  su_export(env, exports, "isas", isas);
  su_export(env, exports, "setIsa", set_isa);
}
