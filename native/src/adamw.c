/*
 * One AdamW update over every parameter (architectures/kernels/adamw.ts has the formulas and the
 * reference), in place, split over the thread pool:
 *
 *   adamw(params[], grads[], m[], v[], decay Int32Array, hyper Float64Array) → global gradient norm
 *
 * hyper = [lr, β₁, β₂, ε, λ, clip, c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ]. The arrays are cut into chunks of at
 * most CHUNK floats; pass 1 sums the squared gradients per chunk (in double), and the sums are added in
 * chunk order, so the norm does not depend on the thread count; pass 2 updates each chunk.
 */
#include "napi_util.h"
#include "pool.h"
#include <math.h>
#include <stdlib.h>

#define CHUNK 16384

typedef struct {
  float *p, *g, *m, *v;
  size_t n;
  int decay;
} slot;

typedef struct {
  int slot;
  size_t start, end;
} chunk;

typedef struct {
  const slot *slots;
  const chunk *chunks;
  double *partial;
  float lr, beta1, beta2, eps, keep, c1, c2, scale;
} job;

static void sum_squares(void *ctx, int task, int thread) {
  (void)thread;
  job *j = ctx;
  const chunk *c = &j->chunks[task];
  const float *g = j->slots[c->slot].g;
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = c->start;
  for (; i + 4 <= c->end; i += 4) {
    s0 += (double)g[i] * g[i];
    s1 += (double)g[i + 1] * g[i + 1];
    s2 += (double)g[i + 2] * g[i + 2];
    s3 += (double)g[i + 3] * g[i + 3];
  }
  for (; i < c->end; i++) s0 += (double)g[i] * g[i];
  j->partial[task] = (s0 + s1) + (s2 + s3);
}

static void update(void *ctx, int task, int thread) {
  (void)thread;
  job *j = ctx;
  const chunk *c = &j->chunks[task];
  const slot *s = &j->slots[c->slot];
  const float keep = s->decay ? j->keep : 1.0f;
  const float b1 = j->beta1, b2 = j->beta2, a1 = 1.0f - j->beta1, a2 = 1.0f - j->beta2;
  const float step = j->lr / j->c1, inv_c2 = 1.0f / j->c2, eps = j->eps, scale = j->scale;
  float *restrict p = s->p, *restrict m = s->m, *restrict v = s->v;
  const float *restrict g = s->g;
  for (size_t i = c->start; i < c->end; i++) {
    const float gi = g[i] * scale;
    const float mi = b1 * m[i] + a1 * gi;
    const float vi = b2 * v[i] + a2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * keep - step * mi / (sqrtf(vi * inv_c2) + eps);
  }
}

/* The i-th element of a JS array as a Float32Array; NULL (with a pending error) when it is not one. */
static float *element_f32s(napi_env env, napi_value array, uint32_t i, const char *name, size_t *n) {
  napi_value item;
  if (napi_get_element(env, array, i, &item) != napi_ok) return NULL;
  return su_f32s(env, item, name, n);
}

static napi_value adamw(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (su_args(env, info, argv, 6) < 6) {
    napi_throw_type_error(env, NULL, "seqarena native: adamw(params, grads, m, v, decay, hyper) needs 6 arguments");
    return NULL;
  }
  uint32_t count = 0;
  NAPI_CALL(env, napi_get_array_length(env, argv[0], &count));
  size_t n_decay = 0, n_hyper = 0;
  const int *decay = su_i32s(env, argv[4], "decay", &n_decay);
  if (!decay) return NULL;
  const double *hyper = NULL;
  {
    bool is = false;
    napi_typedarray_type type;
    void *data = NULL;
    if (napi_is_typedarray(env, argv[5], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[5], &type, &n_hyper, &data, NULL, NULL) != napi_ok || type != napi_float64_array || n_hyper != 8) {
      napi_throw_type_error(env, NULL, "seqarena native: adamw: hyper must be a Float64Array of 8 [lr, beta1, beta2, eps, wd, clip, c1, c2]");
      return NULL;
    }
    hyper = data;
  }
  if (n_decay != count) {
    napi_throw_range_error(env, NULL, "seqarena native: adamw: decay must have one flag per parameter");
    return NULL;
  }
  slot *slots = calloc(count ? count : 1, sizeof(slot));
  size_t n_chunks = 0;
  for (uint32_t i = 0; i < count; i++) {
    size_t np = 0, ng = 0, nm = 0, nv = 0;
    slots[i].p = element_f32s(env, argv[0], i, "params[i]", &np);
    slots[i].g = slots[i].p ? element_f32s(env, argv[1], i, "grads[i]", &ng) : NULL;
    slots[i].m = slots[i].g ? element_f32s(env, argv[2], i, "m[i]", &nm) : NULL;
    slots[i].v = slots[i].m ? element_f32s(env, argv[3], i, "v[i]", &nv) : NULL;
    if (!slots[i].v) {
      free(slots);
      return NULL;
    }
    if (ng != np || nm != np || nv != np) {
      free(slots);
      napi_throw_range_error(env, NULL, "seqarena native: adamw: a parameter, its gradient and its moments differ in size");
      return NULL;
    }
    slots[i].n = np;
    slots[i].decay = decay[i];
    n_chunks += (np + CHUNK - 1) / CHUNK;
  }
  chunk *chunks = malloc((n_chunks ? n_chunks : 1) * sizeof(chunk));
  double *partial = malloc((n_chunks ? n_chunks : 1) * sizeof(double));
  size_t k = 0;
  for (uint32_t i = 0; i < count; i++) {
    for (size_t start = 0; start < slots[i].n; start += CHUNK) {
      chunks[k].slot = (int)i;
      chunks[k].start = start;
      chunks[k].end = start + CHUNK < slots[i].n ? start + CHUNK : slots[i].n;
      k++;
    }
  }
  job j = {.slots = slots, .chunks = chunks, .partial = partial};
  pool_run((int)n_chunks, sum_squares, &j);
  double sum = 0;
  for (size_t c = 0; c < n_chunks; c++) sum += partial[c];
  const double norm = sqrt(sum);
  const double clip = hyper[5];
  j.scale = isfinite(norm) && norm > clip ? (float)(clip / norm) : 1.0f;
  j.lr = (float)hyper[0];
  j.beta1 = (float)hyper[1];
  j.beta2 = (float)hyper[2];
  j.eps = (float)hyper[3];
  j.keep = (float)(1.0 - hyper[0] * hyper[4]);
  j.c1 = (float)hyper[6];
  j.c2 = (float)hyper[7];
  pool_run((int)n_chunks, update, &j);
  free(slots);
  free(chunks);
  free(partial);
  napi_value out;
  NAPI_CALL(env, napi_create_double(env, norm, &out));
  return out;
}

void register_adamw(napi_env env, napi_value exports) { su_export(env, exports, "adamw", adamw); }
