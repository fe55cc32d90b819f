/*
 * The native addon's entry point: registers every kernel file's functions (modules.h) on one exports
 * object. Built at install by scripts/build-native.mjs; architectures/kernels/native.ts loads it.
 */
#include "modules.h"

#define SEQARENA_REGISTER(name) register_##name(env, exports);

NAPI_MODULE_INIT() {
  SEQARENA_MODULES(SEQARENA_REGISTER)
  return exports;
}
