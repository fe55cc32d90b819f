#include "napi_util.h"
#include <stdio.h>

int su_args(napi_env env, napi_callback_info info, napi_value *argv, size_t max) {
  size_t argc = max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "seqarena native: cannot read arguments");
    return -1;
  }
  return (int)argc;
}

static void type_error(napi_env env, const char *name, const char *expected) {
  char message[160];
  snprintf(message, sizeof message, "seqarena native: argument '%s' must be %s", name, expected);
  napi_throw_type_error(env, NULL, message);
}

double su_f64(napi_env env, napi_value value, const char *name) {
  double out = 0;
  if (napi_get_value_double(env, value, &out) != napi_ok) type_error(env, name, "a number");
  return out;
}

int su_i32(napi_env env, napi_value value, const char *name) {
  int out = 0;
  if (napi_get_value_int32(env, value, &out) != napi_ok) type_error(env, name, "an integer");
  return out;
}

static void *typed(napi_env env, napi_value value, const char *name, napi_typedarray_type want, const char *label, size_t *length) {
  bool is = false;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) {
    type_error(env, name, label);
    return NULL;
  }
  napi_typedarray_type type;
  void *data = NULL;
  size_t n = 0;
  if (napi_get_typedarray_info(env, value, &type, &n, &data, NULL, NULL) != napi_ok || type != want) {
    type_error(env, name, label);
    return NULL;
  }
  if (length) *length = n;
  return data;
}

float *su_f32s(napi_env env, napi_value value, const char *name, size_t *length) {
  return (float *)typed(env, value, name, napi_float32_array, "a Float32Array", length);
}

int *su_i32s(napi_env env, napi_value value, const char *name, size_t *length) {
  return (int *)typed(env, value, name, napi_int32_array, "an Int32Array", length);
}

float *su_f32s_n(napi_env env, napi_value value, const char *name, size_t expected) {
  size_t n = 0;
  float *data = su_f32s(env, value, name, &n);
  if (data && n != expected) {
    char message[200];
    snprintf(message, sizeof message, "seqarena native: argument '%s' has %zu elements, expected %zu (check the shapes passed with it)", name, n, expected);
    napi_throw_range_error(env, NULL, message);
    return NULL;
  }
  return data;
}

void su_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok) napi_set_named_property(env, exports, name, f);
}

napi_value su_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}
