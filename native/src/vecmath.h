/*
 * Eight-lane float vectors (GCC/Clang vector extensions) and the transcendental functions the fused
 * kernels need in bulk: exp, sigmoid, tanh. The same source is compiled once generic (two SSE halves
 * per vector) and once with AVX2+FMA (one ymm register), see the *.avx2.c files.
 *
 * exp: x = n·ln2 + r with |r| ≤ ln2/2, exp(r) by its Taylor polynomial to degree 7 (truncation error
 * below 1e-8 relative, under one float ulp), times 2ⁿ built in the exponent bits. Inputs below −87
 * give 0 (exp(−87) ≈ 1.6e−38 is at the edge of normal floats); −inf gives 0, as the softmax needs.
 */
#ifndef SEQARENA_VECMATH_H
#define SEQARENA_VECMATH_H
#include <math.h>
#include <string.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

static inline v8f v8_load(const float *p) {
  v8f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void v8_store(float *p, v8f v) { memcpy(p, &v, sizeof v); }

static inline v8f v8_set1(float x) { return (v8f){x, x, x, x, x, x, x, x}; }

/* mask ? a : b, lane by lane (mask lanes are all ones or all zeros, as comparisons give). */
static inline v8f v8_select(v8i mask, v8f a, v8f b) { return (v8f)((mask & (v8i)a) | (~mask & (v8i)b)); }

static inline float v8_sum(v8f v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

static inline v8f v8_max(v8f a, v8f b) { return v8_select(a > b, a, b); }

static inline v8f v8_exp(v8f x) {
  const v8f lo = v8_set1(-87.0f);
  const v8f hi = v8_set1(88.0f);
  v8i under = x < lo;
  v8f xc = v8_select(x > hi, hi, v8_select(under, lo, x));
  v8f fx = xc * 1.44269504088896341f + 0.5f;
  v8i ni = __builtin_convertvector(fx, v8i); /* truncates toward zero: make it a floor */
  v8f fn = __builtin_convertvector(ni, v8f);
  v8i above = fn > fx;
  ni += above; /* above is −1 where truncation rounded up */
  fn = __builtin_convertvector(ni, v8f);
  v8f r = xc - fn * 0.693145751953125f - fn * 1.428606820309417e-06f; /* ln2 split hi + lo */
  v8f p = v8_set1(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  v8f scale = (v8f)((ni + 127) << 23);
  return (v8f)(~under & (v8i)(p * scale));
}

static inline v8f v8_sigmoid(v8f x) { return 1.0f / (1.0f + v8_exp(-x)); }

/* tanh x = 1 − 2/(exp(2x) + 1): exact limits ±1, absolute error a few 1e−8 near 0. */
static inline v8f v8_tanh(v8f x) { return 1.0f - 2.0f / (v8_exp(x + x) + 1.0f); }

/* Apply f to x[0 … n) in place, eight at a time; the ragged tail goes through a padded copy. */
#define SEQARENA_VEC_APPLY(name, f)                      \
  static inline void name(float *x, int n) {             \
    int i = 0;                                           \
    for (; i + 8 <= n; i += 8) v8_store(x + i, f(v8_load(x + i))); \
    if (i < n) {                                         \
      float tail[8] = {0};                               \
      memcpy(tail, x + i, (size_t)(n - i) * sizeof(float)); \
      v8_store(tail, f(v8_load(tail)));                  \
      memcpy(x + i, tail, (size_t)(n - i) * sizeof(float)); \
    }                                                    \
  }
SEQARENA_VEC_APPLY(vec_exp, v8_exp)
SEQARENA_VEC_APPLY(vec_sigmoid, v8_sigmoid)
SEQARENA_VEC_APPLY(vec_tanh, v8_tanh)

/* Which compiled copy a kernel runs: the AVX2+FMA one where this build has it and the CPU runs it
 * (core.c's seqarena_isa says "avx2", or "avx512", which includes both). */
const char *seqarena_isa(void);
#ifdef SEQARENA_HAVE_AVX2
#define SEQARENA_DISPATCH(fn, ...) (seqarena_isa()[0] == 'a' ? fn##_avx2(__VA_ARGS__) : fn##_generic(__VA_ARGS__))
#else
#define SEQARENA_DISPATCH(fn, ...) fn##_generic(__VA_ARGS__)
#endif

#endif
