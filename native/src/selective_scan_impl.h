/*
 * The selective scan's forward and backward loops (the maths is in
 * architectures/kernels/selective-scan-fused.ts), included once per instruction set: selective_scan.c
 * (generic) and selective_scan.avx2.c define SCAN_FN(name) to give each copy its own names.
 *
 * Work is cut into (sequence, block of SCAN_BLOCK channels) pieces: channels are independent in the
 * scan, so the pieces run in parallel, and a block's states sit side by side, so exp(Δ A) of a whole
 * block is one vectorised call per step. Backward recomputes a piece's states (like the CUDA kernel)
 * into per-thread scratch; ∂B, ∂C (summed over channels) and ∂A, ∂D (summed over sequences) go to
 * per-piece partial sums that are added in a fixed order afterwards, so results never depend on which
 * thread ran which piece.
 */
#include "scan_kernels.h"
#include "pool.h"
#include "vecmath.h"

typedef struct {
  const scan_problem *p;
  float *scratch; /* per thread: decay and states, 2 · l · SCAN_BLOCK · n */
} SCAN_FN(job);

static void SCAN_FN(forward_piece)(void *ctx, int task, int thread) {
  (void)thread;
  const scan_problem *p = ((SCAN_FN(job) *)ctx)->p;
  const int l = p->l, di = p->di, n = p->n;
  const int blocks = (di + SCAN_BLOCK - 1) / SCAN_BLOCK;
  const int s = task / blocks, d0 = (task % blocks) * SCAN_BLOCK;
  const int nd = di - d0 < SCAN_BLOCK ? di - d0 : SCAN_BLOCK;
  float h[SCAN_BLOCK * n];
  float a[SCAN_BLOCK * n];
  memset(h, 0, sizeof h);
  for (int t = 0; t < l; t++) {
    const size_t row = ((size_t)s * l + t);
    const float *restrict Bt = p->B + row * n;
    const float *restrict Ct = p->C + row * n;
    for (int c = 0; c < nd; c++) {
      const float dt = p->delta[row * di + d0 + c];
      const float *restrict Ad = p->A + (size_t)(d0 + c) * n;
      for (int k = 0; k < n; k++) a[c * n + k] = dt * Ad[k];
    }
    vec_exp(a, nd * n);
    for (int c = 0; c < nd; c++) {
      const size_t i = row * di + d0 + c;
      const float x = p->u[i];
      const float dtx = p->delta[i] * x;
      float *restrict hc = h + c * n;
      const float *restrict ac = a + c * n;
      float acc = 0;
      for (int k = 0; k < n; k++) {
        hc[k] = ac[k] * hc[k] + dtx * Bt[k];
        acc += Ct[k] * hc[k];
      }
      p->y[i] = acc + p->D[d0 + c] * x;
    }
  }
}

static void SCAN_FN(backward_piece)(void *ctx, int task, int thread) {
  SCAN_FN(job) *job = ctx;
  const scan_problem *p = job->p;
  const int l = p->l, di = p->di, n = p->n;
  const int blocks = (di + SCAN_BLOCK - 1) / SCAN_BLOCK;
  const int s = task / blocks, block = task % blocks, d0 = block * SCAN_BLOCK;
  const int nd = di - d0 < SCAN_BLOCK ? di - d0 : SCAN_BLOCK;
  const int w = nd * n; /* floats per step of this piece */
  float *restrict decay = job->scratch + (size_t)thread * 2 * l * SCAN_BLOCK * n;
  float *restrict states = decay + (size_t)l * SCAN_BLOCK * n;
  /* recompute exp(Δ_t A) and h_t for every step of the piece */
  for (int t = 0; t < l; t++) {
    const size_t row = ((size_t)s * l + t);
    const float *restrict Bt = p->B + row * n;
    float *restrict at = decay + (size_t)t * w;
    float *restrict ht = states + (size_t)t * w;
    for (int c = 0; c < nd; c++) {
      const float dt = p->delta[row * di + d0 + c];
      for (int k = 0; k < n; k++) at[c * n + k] = dt * p->A[(size_t)(d0 + c) * n + k];
    }
    vec_exp(at, w);
    for (int c = 0; c < nd; c++) {
      const size_t i = row * di + d0 + c;
      const float dtx = p->delta[i] * p->u[i];
      for (int k = 0; k < n; k++) {
        const float prev = t > 0 ? ht[c * n + k - w] : 0.0f;
        ht[c * n + k] = at[c * n + k] * prev + dtx * Bt[k];
      }
    }
  }
  float g[SCAN_BLOCK * n];
  double dA[SCAN_BLOCK * n];
  double dD[SCAN_BLOCK];
  memset(g, 0, sizeof g);
  memset(dA, 0, sizeof dA);
  memset(dD, 0, sizeof dD);
  float *restrict dBpart = p->dB_parts + (size_t)block * p->b * l * n;
  float *restrict dCpart = p->dC_parts + (size_t)block * p->b * l * n;
  float eA[n];
  for (int t = l - 1; t >= 0; t--) {
    const size_t row = ((size_t)s * l + t);
    const float *restrict Bt = p->B + row * n;
    const float *restrict Ct = p->C + row * n;
    float *restrict dBt = dBpart + row * n;
    float *restrict dCt = dCpart + row * n;
    const float *restrict at = decay + (size_t)t * w;
    const float *restrict ht = states + (size_t)t * w;
    for (int k = 0; k < n; k++) dBt[k] = dCt[k] = 0;
    for (int c = 0; c < nd; c++) {
      const size_t i = row * di + d0 + c;
      const float dt = p->delta[i], x = p->u[i], gyt = p->dy[i];
      const float *restrict Ad = p->A + (size_t)(d0 + c) * n;
      float *restrict gc = g + c * n;
      const float *restrict ac = at + c * n;
      const float *restrict hc = ht + c * n;
      dD[c] += (double)gyt * x;
      float gx = 0, gdt = 0;
      for (int k = 0; k < n; k++) {
        const float gk = gc[k] + gyt * Ct[k];
        const float hPrev = t > 0 ? hc[k - w] : 0.0f;
        const float gExponent = gk * ac[k] * hPrev; /* ∂loss/∂(Δ_t A_k) */
        dCt[k] += gyt * hc[k];
        dBt[k] += gk * dt * x;
        eA[k] = gExponent * dt;
        gdt += gExponent * Ad[k] + gk * Bt[k] * x;
        gx += gk * dt * Bt[k];
        gc[k] = gk * ac[k];
      }
      for (int k = 0; k < n; k++) dA[c * n + k] += eA[k];
      p->du[i] = gx + gyt * p->D[d0 + c];
      p->ddelta[i] = gdt;
    }
  }
  float *restrict dApart = p->dA_parts + (size_t)s * di * n + (size_t)d0 * n;
  for (int j = 0; j < w; j++) dApart[j] = (float)dA[j];
  for (int c = 0; c < nd; c++) p->dD_parts[(size_t)s * di + d0 + c] = (float)dD[c];
}

/* Sum the partials in a fixed order, split over sequences (∂B, ∂C) and over channels (∂A, ∂D). */
static void SCAN_FN(reduce_piece)(void *ctx, int task, int thread) {
  (void)thread;
  const scan_problem *p = ((SCAN_FN(job) *)ctx)->p;
  const int l = p->l, di = p->di, n = p->n;
  const int blocks = (di + SCAN_BLOCK - 1) / SCAN_BLOCK;
  if (task < p->b) {
    const size_t from = (size_t)task * l * n, count = (size_t)l * n, stride = (size_t)p->b * l * n;
    for (size_t j = from; j < from + count; j++) {
      float sb = 0, sc = 0;
      for (int blk = 0; blk < blocks; blk++) {
        sb += p->dB_parts[blk * stride + j];
        sc += p->dC_parts[blk * stride + j];
      }
      p->dB[j] = sb;
      p->dC[j] = sc;
    }
    return;
  }
  const int d = task - p->b;
  for (int k = 0; k < n; k++) {
    double sum = 0;
    for (int s = 0; s < p->b; s++) sum += p->dA_parts[((size_t)s * di + d) * n + k];
    p->dA[(size_t)d * n + k] = (float)sum;
  }
  double sum = 0;
  for (int s = 0; s < p->b; s++) sum += p->dD_parts[(size_t)s * di + d];
  p->dD[d] = (float)sum;
}

void SCAN_FN(scan_forward)(const scan_problem *p) {
  SCAN_FN(job) job = {p, NULL};
  pool_run(p->b * ((p->di + SCAN_BLOCK - 1) / SCAN_BLOCK), SCAN_FN(forward_piece), &job);
}

void SCAN_FN(scan_backward)(const scan_problem *p, float *scratch) {
  SCAN_FN(job) job = {p, scratch};
  pool_run(p->b * ((p->di + SCAN_BLOCK - 1) / SCAN_BLOCK), SCAN_FN(backward_piece), &job);
  pool_run(p->b + p->di, SCAN_FN(reduce_piece), &job);
}
