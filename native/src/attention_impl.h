/*
 * Flash attention's loops, included once per instruction set (attention.c generic, attention.avx2.c);
 * ATTN_FN(name) gives each copy its own names. The algorithm and masking rules are those of
 * architectures/kernels/attention-fused.ts (FlashAttention's online softmax; FlashAttention-2's backward).
 *
 * A key block is transposed once into (hs, ATTN_BK) so a query row's scores against the block are
 * hs vector multiply-adds across keys, eight keys per instruction; exp() runs eight lanes at a time
 * (vecmath.h). Forward pieces are (batch·head, query block); backward pieces are whole (batch·head)
 * pairs, each owning its dq, dk, dv rows, so nothing is shared between threads.
 */
#include "attention_kernels.h"
#include "pool.h"
#include "vecmath.h"
#include <stdlib.h>

/* Scores s_i,j = scale · q_i · k_j for j < ATTN_BK from the transposed block kt (hs, ATTN_BK). */
static inline void ATTN_FN(scores)(float *restrict s, const float *restrict q, const float *restrict kt, int hs, float scale) {
  v8f acc[ATTN_BK / 8];
  for (int v = 0; v < ATTN_BK / 8; v++) acc[v] = v8_set1(0);
  for (int d = 0; d < hs; d++) {
    const v8f x = v8_set1(q[d]);
    for (int v = 0; v < ATTN_BK / 8; v++) acc[v] += x * v8_load(kt + (size_t)d * ATTN_BK + 8 * v);
  }
  for (int v = 0; v < ATTN_BK / 8; v++) v8_store(s + 8 * v, acc[v] * scale);
}

/* kt (hs, ATTN_BK) = the count rows of k (count, hs) transposed, zero past count. */
static inline void ATTN_FN(transpose)(float *restrict kt, const float *restrict k, int count, int hs) {
  for (int d = 0; d < hs; d++) {
    float *row = kt + (size_t)d * ATTN_BK;
    for (int j = 0; j < count; j++) row[j] = k[(size_t)j * hs + d];
    for (int j = count; j < ATTN_BK; j++) row[j] = 0;
  }
}

/* One past the last key query i may see. */
static inline int ATTN_FN(key_limit)(const attn_problem *p, int i) {
  if (!p->causal) return p->lk;
  const int limit = i + (p->lk - p->lq) + 1;
  return limit < p->lk ? limit : p->lk;
}

/* The first key query i may see: 0, or the start of its sliding window. */
static inline int ATTN_FN(key_start)(const attn_problem *p, int i) {
  if (!p->causal || p->window == 0) return 0;
  const int start = i + (p->lk - p->lq) - p->window + 1;
  return start > 0 ? start : 0;
}

static void ATTN_FN(forward_piece)(void *ctx, int task, int thread) {
  (void)thread;
  const attn_problem *p = ctx;
  const int lq = p->lq, lk = p->lk, hs = p->hs;
  const int qBlocks = (lq + ATTN_BQ - 1) / ATTN_BQ;
  const int bh = task / qBlocks, q0 = (task % qBlocks) * ATTN_BQ;
  const int q1 = q0 + ATTN_BQ < lq ? q0 + ATTN_BQ : lq;
  const float *Q = p->q + (size_t)bh * lq * hs;
  const float *K = p->k + (size_t)bh * lk * hs;
  const float *V = p->v + (size_t)bh * lk * hs;
  const float *mask = p->mask + (size_t)(bh / p->h) * lk;
  float *scratch = malloc(sizeof(float) * ((size_t)hs * ATTN_BK + (size_t)ATTN_BQ * hs + ATTN_BK));
  float *kt = scratch;
  float *acc = kt + (size_t)hs * ATTN_BK; /* (ATTN_BQ, hs): Σ exp(s − m) v per row */
  float *s = acc + (size_t)ATTN_BQ * hs;
  float rowMax[ATTN_BQ], rowSum[ATTN_BQ];
  memset(acc, 0, sizeof(float) * ATTN_BQ * hs);
  for (int r = 0; r < ATTN_BQ; r++) rowMax[r] = -INFINITY, rowSum[r] = 0;
  /* the keys some row of the block sees: from the first row's first to the last row's last */
  const int kEnd = ATTN_FN(key_limit)(p, q1 - 1);
  for (int k0 = ATTN_FN(key_start)(p, q0); k0 < kEnd; k0 += ATTN_BK) {
    const int k1 = k0 + ATTN_BK < kEnd ? k0 + ATTN_BK : kEnd;
    ATTN_FN(transpose)(kt, K + (size_t)k0 * hs, k1 - k0, hs);
    for (int i = q0; i < q1; i++) {
      const int jEnd = ATTN_FN(key_limit)(p, i) < k1 ? ATTN_FN(key_limit)(p, i) : k1;
      const int start = ATTN_FN(key_start)(p, i);
      const int j0 = (start > k0 ? start : k0) - k0; /* this row's keys are s[j0 … count) */
      if (jEnd <= k0 + j0) continue;
      const int r = i - q0, count = jEnd - k0;
      ATTN_FN(scores)(s, Q + (size_t)i * hs, kt, hs, p->scale);
      float blockMax = -INFINITY;
      for (int j = j0; j < count; j++) {
        if (mask[k0 + j] == 0) s[j] = -INFINITY;
        if (s[j] > blockMax) blockMax = s[j];
      }
      if (blockMax == -INFINITY) continue;
      const float m = rowMax[r] > blockMax ? rowMax[r] : blockMax;
      const float rescale = expf(rowMax[r] - m);
      float *restrict ar = acc + (size_t)r * hs;
      if (rescale != 1.0f) for (int d = 0; d < hs; d++) ar[d] *= rescale;
      for (int j = j0; j < count; j++) s[j] -= m;
      vec_exp(s + j0, count - j0);
      float sum = 0;
      for (int j = j0; j < count; j++) sum += s[j];
      const float *vb = V + (size_t)k0 * hs;
      for (int j = j0; j < count; j++) {
        const float pj = s[j];
        const float *restrict vj = vb + (size_t)j * hs;
        for (int d = 0; d < hs; d++) ar[d] += pj * vj[d];
      }
      rowMax[r] = m;
      rowSum[r] = rowSum[r] * rescale + sum;
    }
  }
  for (int i = q0; i < q1; i++) {
    const int r = i - q0;
    const size_t row = (size_t)bh * lq + i;
    float *restrict o = p->out + row * hs;
    if (rowSum[r] == 0) { /* no visible key: the output row is zero */
      memset(o, 0, sizeof(float) * hs);
      p->lse[row] = -INFINITY;
      continue;
    }
    const float inv = 1.0f / rowSum[r];
    for (int d = 0; d < hs; d++) o[d] = acc[(size_t)r * hs + d] * inv;
    p->lse[row] = rowMax[r] + logf(rowSum[r]);
  }
  free(scratch);
}

/* With P = exp(s − lse) and D_i = dO_i · O_i − dlse_i:
 *   dV_j += P_ij dO_i;  dS_ij = P_ij (dO_i · v_j − D_i);  dQ_i += scale dS_ij k_j;  dK_j += scale dS_ij q_i */
static void ATTN_FN(backward_piece)(void *ctx, int bh, int thread) {
  (void)thread;
  const attn_problem *p = ctx;
  const int lq = p->lq, lk = p->lk, hs = p->hs;
  const size_t qo = (size_t)bh * lq * hs, ko = (size_t)bh * lk * hs;
  const float *Q = p->q + qo, *K = p->k + ko, *V = p->v + ko, *O = p->out + qo, *dO = p->dOut + qo;
  const float *lse = p->lse + (size_t)bh * lq, *dLse = p->dLse + (size_t)bh * lq;
  const float *mask = p->mask + (size_t)(bh / p->h) * lk;
  float *dQ = p->dq + qo, *dK = p->dk + ko, *dV = p->dv + ko;
  float *scratch = malloc(sizeof(float) * (2 * (size_t)hs * ATTN_BK + 3 * ATTN_BK + (size_t)lq));
  float *kt = scratch, *vt = kt + (size_t)hs * ATTN_BK;
  float *P = vt + (size_t)hs * ATTN_BK, *dP = P + ATTN_BK, *dS = dP + ATTN_BK, *delta = dS + ATTN_BK;
  for (int i = 0; i < lq; i++) {
    float dot = 0;
    for (int d = 0; d < hs; d++) dot += dO[(size_t)i * hs + d] * O[(size_t)i * hs + d];
    delta[i] = dot - dLse[i];
  }
  memset(dQ, 0, sizeof(float) * lq * hs);
  memset(dK, 0, sizeof(float) * lk * hs);
  memset(dV, 0, sizeof(float) * lk * hs);
  const int offset = p->lk - p->lq;
  for (int k0 = 0; k0 < lk; k0 += ATTN_BK) {
    const int k1 = k0 + ATTN_BK < lk ? k0 + ATTN_BK : lk;
    ATTN_FN(transpose)(kt, K + (size_t)k0 * hs, k1 - k0, hs);
    ATTN_FN(transpose)(vt, V + (size_t)k0 * hs, k1 - k0, hs);
    /* causal: the first query that sees key k0 is k0 − offset; in a window, the last that sees key
     * k1 − 1 is k1 − 2 − offset + window */
    const int iStart = p->causal && k0 - offset > 0 ? k0 - offset : 0;
    const int windowEnd = k1 - 1 - offset + p->window;
    const int iEnd = p->causal && p->window != 0 && windowEnd < lq ? windowEnd : lq;
    for (int i = iStart; i < iEnd; i++) {
      const int limit = ATTN_FN(key_limit)(p, i);
      const int count = (limit < k1 ? limit : k1) - k0;
      const int start = ATTN_FN(key_start)(p, i);
      const int j0 = (start > k0 ? start : k0) - k0; /* this row's keys are P[j0 … count) */
      if (lse[i] == -INFINITY || count <= j0) continue;
      const float *restrict qi = Q + (size_t)i * hs;
      const float *restrict doi = dO + (size_t)i * hs;
      ATTN_FN(scores)(P, qi, kt, hs, p->scale);
      ATTN_FN(scores)(dP, doi, vt, hs, 1.0f);
      for (int j = j0; j < count; j++) P[j] -= lse[i];
      vec_exp(P + j0, count - j0);
      for (int j = j0; j < count; j++) {
        if (mask[k0 + j] == 0) P[j] = 0;
        dS[j] = P[j] * (dP[j] - delta[i]) * p->scale;
      }
      float *restrict dqi = dQ + (size_t)i * hs;
      for (int j = j0; j < count; j++) {
        const float pj = P[j], sj = dS[j];
        const size_t kj = (size_t)(k0 + j) * hs;
        float *restrict dvj = dV + kj;
        float *restrict dkj = dK + kj;
        const float *restrict kvec = K + kj;
        for (int d = 0; d < hs; d++) {
          dvj[d] += pj * doi[d];
          dkj[d] += sj * qi[d];
          dqi[d] += sj * kvec[d];
        }
      }
    }
  }
  free(scratch);
}

void ATTN_FN(attn_forward)(const attn_problem *p) {
  pool_run(p->b * p->h * ((p->lq + ATTN_BQ - 1) / ATTN_BQ), ATTN_FN(forward_piece), (void *)p);
}

void ATTN_FN(attn_backward)(const attn_problem *p) { pool_run(p->b * p->h, ATTN_FN(backward_piece), (void *)p); }
