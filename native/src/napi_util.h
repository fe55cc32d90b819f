/*
 * Small helpers for the N-API bindings: read numbers and typed arrays from a call's arguments, and
 * define exported functions. Typed arrays are views: a kernel reads and writes through their data
 * pointers directly (for the wasm backend, straight into the wasm heap; nothing is copied).
 */
#ifndef SEQARENA_NAPI_UTIL_H
#define SEQARENA_NAPI_UTIL_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>

#define NAPI_CALL(env, call)                                                     \
  do {                                                                           \
    if ((call) != napi_ok) {                                                     \
      napi_throw_error((env), NULL, "seqarena native: N-API call failed: " #call); \
      return NULL;                                                               \
    }                                                                            \
  } while (0)

/* Up to 32 arguments of the current call; returns how many there were, or -1 (an exception is pending). */
int su_args(napi_env env, napi_callback_info info, napi_value *argv, size_t max);

/* Argument i as a double / int; throws a TypeError naming the argument and returns 0 on a wrong type. */
double su_f64(napi_env env, napi_value value, const char *name);
int su_i32(napi_env env, napi_value value, const char *name);

/* Argument as a Float32Array (or Int32Array for su_i32s): its data and element count. NULL and a
 * pending TypeError when it is not one. */
float *su_f32s(napi_env env, napi_value value, const char *name, size_t *length);
int *su_i32s(napi_env env, napi_value value, const char *name, size_t *length);

/* Argument as a Float32Array of exactly `expected` elements: its data, or NULL and a pending RangeError
 * naming the argument and both lengths (or a TypeError when it is no Float32Array). */
float *su_f32s_n(napi_env env, napi_value value, const char *name, size_t expected);

/* exports[name] = fn */
void su_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

/* undefined, for functions that return nothing. */
napi_value su_undefined(napi_env env);

#endif
