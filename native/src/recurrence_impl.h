/*
 * The recurrences' loops, included once per instruction set (recurrence.c generic, recurrence.avx2.c);
 * REC_FN(name) gives each copy its own names. The maths is in architectures/kernels/recurrence.ts.
 *
 * Batch rows are independent through time, so a piece of work is a block of up to REC_ROWS batch rows
 * running every step: per step the block's h·Wh is one (rows, h)×(h, gates·h) product with Wh's
 * columns streamed once for all rows, and no thread waits for another between steps. Backward runs
 * the same blocks backwards through time, then forms ∂Wh = Σ_(row, t) h_{t−1}ᵀ ∂z_t as one GEMM over
 * all b·l steps, cut into tiles of ∂Wh: every sum runs in one fixed order, whatever the thread count.
 */
#include "recurrence_kernels.h"
#include "pool.h"
#include "vecmath.h"
#include <stdlib.h>

#define REC_ROWS 4

/* Z[r] += H[r] · W for r < rows ≤ REC_ROWS: H (rows, k) row stride ldh, W (k, n) dense, Z row stride ldz. */
static void REC_FN(gemm_acc)(int rows, int n, int k, const float *H, size_t ldh, const float *restrict W, float *Z, size_t ldz) {
  const float *hr[REC_ROWS];
  for (int r = 0; r < REC_ROWS; r++) hr[r] = H + (size_t)(r < rows ? r : rows - 1) * ldh;
  int c = 0;
  for (; c + 16 <= n; c += 16) {
    v8f acc[REC_ROWS][2];
    for (int r = 0; r < REC_ROWS; r++) acc[r][0] = acc[r][1] = v8_set1(0);
    for (int p = 0; p < k; p++) {
      const v8f w0 = v8_load(W + (size_t)p * n + c), w1 = v8_load(W + (size_t)p * n + c + 8);
      for (int r = 0; r < REC_ROWS; r++) {
        const v8f x = v8_set1(hr[r][p]);
        acc[r][0] += x * w0;
        acc[r][1] += x * w1;
      }
    }
    for (int r = 0; r < rows; r++) {
      float *z = Z + (size_t)r * ldz + c;
      v8_store(z, v8_load(z) + acc[r][0]);
      v8_store(z + 8, v8_load(z + 8) + acc[r][1]);
    }
  }
  for (; c < n; c++) {
    for (int r = 0; r < rows; r++) {
      float sum = 0;
      for (int p = 0; p < k; p++) sum += hr[r][p] * W[(size_t)p * n + c];
      Z[(size_t)r * ldz + c] += sum;
    }
  }
}

/* out[r] = G[r] · Wᵀ for r < rows: G (rows, n) row stride ldg, W (k, n) dense, out (rows, k) dense. */
static void REC_FN(gemm_abt)(int rows, int n, int k, const float *G, size_t ldg, const float *restrict W, float *out) {
  const float *gr[REC_ROWS];
  for (int r = 0; r < REC_ROWS; r++) gr[r] = G + (size_t)(r < rows ? r : rows - 1) * ldg;
  for (int p = 0; p < k; p++) {
    const float *wp = W + (size_t)p * n;
    v8f acc[REC_ROWS];
    for (int r = 0; r < REC_ROWS; r++) acc[r] = v8_set1(0);
    int c = 0;
    for (; c + 8 <= n; c += 8) {
      const v8f w = v8_load(wp + c);
      for (int r = 0; r < REC_ROWS; r++) acc[r] += v8_load(gr[r] + c) * w;
    }
    for (int r = 0; r < rows; r++) {
      float sum = v8_sum(acc[r]);
      for (int j = c; j < n; j++) sum += gr[r][j] * wp[j];
      out[(size_t)r * k + p] = sum;
    }
  }
}

/* The state before step t of batch row bi: h_{t−1}, or h0 at t = 0. */
static inline const float *REC_FN(previous)(const rec_problem *p, int bi, int t) {
  return t == 0 ? p->h0 + (size_t)bi * p->h : p->hs + ((size_t)bi * p->l + t - 1) * p->h;
}

static int REC_FN(rows_per_block)(int b) {
  int rows = (b + pool_threads() - 1) / pool_threads();
  return rows < 1 ? 1 : rows > REC_ROWS ? REC_ROWS : rows;
}

typedef struct {
  const rec_problem *p;
  int rows;
} REC_FN(job);

// ---------------------------------------------------------------------------------------------------
// Forward: one block of batch rows through every step.

static void REC_FN(forward_block)(void *ctx, int task, int thread) {
  (void)thread;
  const REC_FN(job) *job = ctx;
  const rec_problem *p = job->p;
  const int l = p->l, h = p->h, gh = (int)p->kind * h;
  const int r0 = task * job->rows;
  const int nr = p->b - r0 < job->rows ? p->b - r0 : job->rows;
  float *scratch = malloc(sizeof(float) * (size_t)REC_ROWS * (gh + h));
  float *Z = scratch;                           /* GRU: h·Wh + bh per row */
  float *T = scratch + (size_t)REC_ROWS * gh;   /* per row: tanh(c) (LSTM), pre-activations (GRU) */
  for (int t = 0; t < l; t++) {
    const size_t step = (size_t)r0 * l + t; /* (row r0, step t) */
    const float *hprev = REC_FN(previous)(p, r0, t);
    const size_t ldh = t == 0 ? (size_t)h : (size_t)l * h;
    if (p->kind == REC_RNN) {
      float *z = p->hs + step * h;
      for (int r = 0; r < nr; r++) memcpy(z + (size_t)r * l * h, p->xProj + (step + (size_t)r * l) * h, sizeof(float) * h);
      REC_FN(gemm_acc)(nr, h, h, hprev, ldh, p->wh, z, (size_t)l * h);
      for (int r = 0; r < nr; r++) vec_tanh(z + (size_t)r * l * h, h);
    } else if (p->kind == REC_LSTM) {
      float *g = p->saved + step * gh;
      for (int r = 0; r < nr; r++) memcpy(g + (size_t)r * l * gh, p->xProj + (step + (size_t)r * l) * gh, sizeof(float) * gh);
      REC_FN(gemm_acc)(nr, gh, h, hprev, ldh, p->wh, g, (size_t)l * gh);
      for (int r = 0; r < nr; r++) {
        const size_t at = step + (size_t)r * l;
        float *restrict gr = p->saved + at * gh;
        vec_sigmoid(gr, 2 * h);
        vec_tanh(gr + 2 * h, h);
        vec_sigmoid(gr + 3 * h, h);
        const float *restrict cprev = t == 0 ? p->c0 + (size_t)(r0 + r) * h : p->cs + (at - 1) * h;
        float *restrict c = p->cs + at * h;
        float *restrict tc = T + (size_t)r * h;
        for (int j = 0; j < h; j++) tc[j] = c[j] = gr[h + j] * cprev[j] + gr[j] * gr[2 * h + j];
        vec_tanh(tc, h);
        float *restrict hout = p->hs + at * h;
        for (int j = 0; j < h; j++) hout[j] = gr[3 * h + j] * tc[j];
      }
    } else {
      for (int r = 0; r < nr; r++) memcpy(Z + (size_t)r * gh, p->bh, sizeof(float) * gh);
      REC_FN(gemm_acc)(nr, gh, h, hprev, ldh, p->wh, Z, (size_t)gh);
      for (int r = 0; r < nr; r++) {
        const size_t at = step + (size_t)r * l;
        const float *restrict x = p->xProj + at * gh;
        const float *restrict a = Z + (size_t)r * gh;
        float *restrict sv = p->saved + at * 4 * h; /* r, z, n, a_n */
        for (int j = 0; j < 2 * h; j++) sv[j] = x[j] + a[j];
        vec_sigmoid(sv, 2 * h);
        for (int j = 0; j < h; j++) {
          sv[3 * h + j] = a[2 * h + j];
          sv[2 * h + j] = x[2 * h + j] + sv[j] * a[2 * h + j];
        }
        vec_tanh(sv + 2 * h, h);
        const float *restrict hp = REC_FN(previous)(p, r0 + r, t);
        float *restrict hout = p->hs + at * h;
        for (int j = 0; j < h; j++) hout[j] = sv[2 * h + j] + sv[h + j] * (hp[j] - sv[2 * h + j]);
      }
    }
  }
  free(scratch);
}

void REC_FN(rec_forward)(const rec_problem *p) {
  REC_FN(job) job = {p, REC_FN(rows_per_block)(p->b)};
  pool_run((p->b + job.rows - 1) / job.rows, REC_FN(forward_block), &job);
}

// ---------------------------------------------------------------------------------------------------
// Backward: a block of batch rows back through time (∂z per step, the carried ∂h), then ∂Wh.

static void REC_FN(backward_block)(void *ctx, int task, int thread) {
  (void)thread;
  const REC_FN(job) *job = ctx;
  const rec_problem *p = job->p;
  const int l = p->l, h = p->h, gh = (int)p->kind * h;
  const int r0 = task * job->rows;
  const int nr = p->b - r0 < job->rows ? p->b - r0 : job->rows;
  float *scratch = malloc(sizeof(float) * (size_t)REC_ROWS * 4 * h);
  float *carry = scratch;                          /* (nr, h): ∂loss/∂h_t from later steps */
  float *dcarry = scratch + (size_t)REC_ROWS * h;  /* LSTM: ∂loss/∂c_t from later steps */
  float *tc = dcarry + (size_t)REC_ROWS * h;       /* LSTM: tanh(c_t) */
  float *direct = tc + (size_t)REC_ROWS * h;       /* GRU: ∂loss/∂h_{t−1} through z⊙h */
  memcpy(carry, p->dhT + (size_t)r0 * h, sizeof(float) * nr * h);
  if (p->kind == REC_LSTM) memcpy(dcarry, p->dcT + (size_t)r0 * h, sizeof(float) * nr * h);
  /* the rows' ∂z for this step live at stride l·gh in dxProj (RNN, LSTM) or da (GRU) */
  float *grad = p->kind == REC_GRU ? p->da : p->dxProj;
  for (int t = l - 1; t >= 0; t--) {
    const size_t step = (size_t)r0 * l + t;
    for (int r = 0; r < nr; r++) {
      const size_t at = step + (size_t)r * l;
      const float *restrict dhs = p->dhs + at * h;
      float *restrict cr = carry + (size_t)r * h;
      float *restrict dz = p->dxProj + at * gh;
      if (p->kind == REC_RNN) {
        const float *restrict ht = p->hs + at * h;
        for (int j = 0; j < h; j++) dz[j] = (dhs[j] + cr[j]) * (1 - ht[j] * ht[j]);
      } else if (p->kind == REC_LSTM) {
        const float *restrict g = p->saved + at * gh;
        const float *restrict cprev = t == 0 ? p->c0 + (size_t)(r0 + r) * h : p->cs + (at - 1) * h;
        float *restrict tcr = tc + (size_t)r * h;
        float *restrict dc = dcarry + (size_t)r * h;
        memcpy(tcr, p->cs + at * h, sizeof(float) * h);
        vec_tanh(tcr, h);
        for (int j = 0; j < h; j++) {
          const float i = g[j], f = g[h + j], gg = g[2 * h + j], o = g[3 * h + j];
          const float dh = dhs[j] + cr[j];
          const float dcj = dc[j] + dh * o * (1 - tcr[j] * tcr[j]);
          dz[j] = dcj * gg * i * (1 - i);
          dz[h + j] = dcj * cprev[j] * f * (1 - f);
          dz[2 * h + j] = dcj * i * (1 - gg * gg);
          dz[3 * h + j] = dh * tcr[j] * o * (1 - o);
          dc[j] = dcj * f;
        }
      } else {
        const float *restrict sv = p->saved + at * 4 * h;
        const float *restrict hp = REC_FN(previous)(p, r0 + r, t);
        float *restrict da = p->da + at * gh;
        float *restrict dir = direct + (size_t)r * h;
        for (int j = 0; j < h; j++) {
          const float rr = sv[j], z = sv[h + j], n = sv[2 * h + j], an = sv[3 * h + j];
          const float dh = dhs[j] + cr[j];
          const float dnPre = dh * (1 - z) * (1 - n * n);
          const float drPre = dnPre * an * rr * (1 - rr);
          const float dzPre = dh * (hp[j] - n) * z * (1 - z);
          dz[j] = da[j] = drPre;
          dz[h + j] = da[h + j] = dzPre;
          dz[2 * h + j] = dnPre;
          da[2 * h + j] = dnPre * rr;
          dir[j] = dh * z;
        }
      }
    }
    REC_FN(gemm_abt)(nr, gh, h, grad + step * gh, (size_t)l * gh, p->wh, carry);
    if (p->kind == REC_GRU) for (int j = 0; j < nr * h; j++) carry[j] += direct[j];
  }
  memcpy(p->dh0 + (size_t)r0 * h, carry, sizeof(float) * nr * h);
  if (p->kind == REC_LSTM) memcpy(p->dc0 + (size_t)r0 * h, dcarry, sizeof(float) * nr * h);
  free(scratch);
}

/* ∂Wh tile: rows p0 … p0+3 and columns c0 … c0+15 of Σ_(bi, t) h_{t−1}[bi]ᵀ ∂z_t[bi]; the last task sums ∂bh (GRU). */
#define REC_TILE_ROWS 4
#define REC_TILE_COLS 16

static void REC_FN(weight_tile)(void *ctx, int task, int thread) {
  (void)thread;
  const REC_FN(job) *job = ctx;
  const rec_problem *p = job->p;
  const int l = p->l, h = p->h, gh = (int)p->kind * h;
  const float *grad = p->kind == REC_GRU ? p->da : p->dxProj;
  const int colTiles = (gh + REC_TILE_COLS - 1) / REC_TILE_COLS;
  const int rowTiles = (h + REC_TILE_ROWS - 1) / REC_TILE_ROWS;
  if (task == rowTiles * colTiles) {
    for (int c = 0; c < gh; c++) {
      double sum = 0;
      for (size_t m = 0; m < (size_t)p->b * l; m++) sum += grad[m * gh + c];
      p->dbh[c] = (float)sum;
    }
    return;
  }
  const int p0 = (task / colTiles) * REC_TILE_ROWS, c0 = (task % colTiles) * REC_TILE_COLS;
  const int np = h - p0 < REC_TILE_ROWS ? h - p0 : REC_TILE_ROWS;
  const int nc = gh - c0 < REC_TILE_COLS ? gh - c0 : REC_TILE_COLS;
  if (np == REC_TILE_ROWS && nc == REC_TILE_COLS) {
    v8f acc[REC_TILE_ROWS][2];
    for (int r = 0; r < REC_TILE_ROWS; r++) acc[r][0] = acc[r][1] = v8_set1(0);
    for (int bi = 0; bi < p->b; bi++) {
      for (int t = 0; t < l; t++) {
        const float *hp = REC_FN(previous)(p, bi, t) + p0;
        const float *g = grad + ((size_t)bi * l + t) * gh + c0;
        const v8f g0 = v8_load(g), g1 = v8_load(g + 8);
        for (int r = 0; r < REC_TILE_ROWS; r++) {
          const v8f x = v8_set1(hp[r]);
          acc[r][0] += x * g0;
          acc[r][1] += x * g1;
        }
      }
    }
    for (int r = 0; r < REC_TILE_ROWS; r++) {
      v8_store(p->dwh + (size_t)(p0 + r) * gh + c0, acc[r][0]);
      v8_store(p->dwh + (size_t)(p0 + r) * gh + c0 + 8, acc[r][1]);
    }
    return;
  }
  float acc[REC_TILE_ROWS][REC_TILE_COLS];
  memset(acc, 0, sizeof acc);
  for (int bi = 0; bi < p->b; bi++) {
    for (int t = 0; t < l; t++) {
      const float *hp = REC_FN(previous)(p, bi, t) + p0;
      const float *g = grad + ((size_t)bi * l + t) * gh + c0;
      for (int r = 0; r < np; r++)
        for (int c = 0; c < nc; c++) acc[r][c] += hp[r] * g[c];
    }
  }
  for (int r = 0; r < np; r++)
    for (int c = 0; c < nc; c++) p->dwh[(size_t)(p0 + r) * gh + c0 + c] = acc[r][c];
}

void REC_FN(rec_backward)(const rec_problem *p) {
  REC_FN(job) job = {p, REC_FN(rows_per_block)(p->b)};
  pool_run((p->b + job.rows - 1) / job.rows, REC_FN(backward_block), &job);
  const int gh = (int)p->kind * p->h;
  const int tiles = ((p->h + REC_TILE_ROWS - 1) / REC_TILE_ROWS) * ((gh + REC_TILE_COLS - 1) / REC_TILE_COLS);
  pool_run(tiles + (p->kind == REC_GRU ? 1 : 0), REC_FN(weight_tile), &job);
}
