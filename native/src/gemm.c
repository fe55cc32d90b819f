/*
 * Single-precision GEMM for the registered MatMul kernels (architectures/kernels/matmul.ts), with the
 * same meaning as gemmReference in architectures/kernels/gemm.ts and tested equal to it:
 *
 *   for i < batch:  C_i (m×n) = op(A_i) · op(B_i),  A_i = a + i·strideA, B_i = b + i·strideB, C_i = c + i·strideC
 *   op(X) = Xᵀ when its trans flag is set; a stride of 0 broadcasts one matrix over the batch.
 *
 * The BLIS layout (Van Zee & van de Geijn 2015): k is cut into blocks of KC; for each block, every A
 * (m×kc) is packed into MR-row panels and every B (kc×n) into NR-column slivers, in the order the
 * micro-kernel reads them — so all four transpose combinations cost only a different packing loop.
 * Then C is cut into blocks of MC rows × NC columns, one pool task each; a task walks its B slivers
 * (each stays in L1) against its A panels (they stay in L2) with the micro-kernel of the widest
 * instruction set the CPU runs (gemm.avx512.c, gemm.avx2.c, or the plain C one below).
 *
 * When C has too few blocks to keep every thread busy (the skinny backward shapes, e.g. 64×256 with
 * k = 4096), the blocks shrink down to single panels and slivers until there are several per thread.
 * When C is that small and k spans several blocks, every k block is packed in one round and each task
 * walks all of them for its block of C, in k order: two pool rounds in all instead of two per k block
 * (16 of them at k = 4096), with the same additions in the same order, so the same result bit for bit.
 *
 *   gemm(batch, m, n, k, transA, transB, a, strideA, b, strideB, c, strideC)   (typed arrays are Float32Array)
 */
#include "gemm.h"
#include "napi_util.h"
#include "pool.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *seqarena_isa(void);

/* ---- the plain C micro-kernel: 4×16, which compilers vectorise for whatever the baseline ISA is ---- */

#define G_MR 4
#define G_NR 16

static void micro_generic(int kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
  float acc[G_MR][G_NR] = {{0}};
  for (int p = 0; p < kc; p++) {
    for (int i = 0; i < G_MR; i++) {
      float x = a[i];
      for (int j = 0; j < G_NR; j++) acc[i][j] += x * b[j];
    }
    a += G_MR;
    b += G_NR;
  }
  for (int i = 0; i < G_MR; i++) {
    float *r = c + i * ldc;
    for (int j = 0; j < G_NR; j++) r[j] = accumulate ? r[j] + acc[i][j] : acc[i][j];
  }
}

static const gemm_kernel gemm_kernel_generic = {"generic", G_MR, G_NR, micro_generic};

static const gemm_kernel *kernel_for_isa(const char *isa) {
#ifdef SEQARENA_HAVE_AVX512
  if (strcmp(isa, "avx512") == 0) return &gemm_kernel_avx512;
#endif
#ifdef SEQARENA_HAVE_AVX2
  if (strcmp(isa, "avx2") == 0) return &gemm_kernel_avx2;
#endif
  return &gemm_kernel_generic;
}

/* ---- blocking ---- */

#define KC 256
#define MC_ROWS 120  /* rows of C per task block (rounded to panels) */
#define NC_COLS 512  /* columns of C per task block (rounded to slivers) */
#define PACK_GROUP 8 /* panels or slivers packed per pool task */
#define MAX_MR 16
#define MAX_NR 32
/* Below this many multiply-adds a call runs on the calling thread: waking the pool costs more. */
#define SERIAL_MACS (1L << 16)
/* C of at most this many elements, with k over several blocks, packs all k blocks in one round... */
#define WHOLE_K_MAX_C (1L << 16)
/* ...if all of them fit in this many floats of packing space (16 MiB). */
#define WHOLE_K_MAX_FLOATS (1L << 22)

typedef struct {
  const gemm_kernel *kern;
  int m, n, k, transA, transB;
  const float *a, *b;
  float *c;
  long strideA, strideB, strideC;
  int batches, batchesA, batchesB;
  int mpanels, npanels;
  /* the k blocks of this round: kb0 … kb0 + kbn − 1, block kb at pc = kb·KC, kc = min(KC, k − pc) */
  int kb0, kbn;
  /* packed: block kb's A at ap + kb·ablock + (ia·mpanels + panel)·kc·mr, its B at bp + kb·bblock + (ib·npanels + sliver)·kc·nr */
  float *ap, *bp;
  size_t ablock, bblock;
  /* packing tasks */
  int groupsA, groupsB;
  /* compute tasks: batches × mtasks × ntasks blocks of mcp panels × ncs slivers */
  int mcp, ncs, mtasks, ntasks;
} gemm_job;

static void pack_a_panel(const gemm_job *j, int ia, int panel, int pc, int kc, float *ap) {
  const int mr = j->kern->mr, m = j->m, k = j->k;
  const float *a = j->a + (long)ia * j->strideA;
  float *dst = ap + ((long)ia * j->mpanels + panel) * (long)kc * mr;
  const int r0 = panel * mr;
  const int rows = m - r0 < mr ? m - r0 : mr;
  if (j->transA) { /* A stored (k, m): row p holds the column p of op(A) */
    for (int p = 0; p < kc; p++) {
      const float *src = a + (long)(pc + p) * m + r0;
      float *d = dst + (long)p * mr;
      int i = 0;
      for (; i < rows; i++) d[i] = src[i];
      for (; i < mr; i++) d[i] = 0;
    }
  } else { /* A stored (m, k) */
    for (int i = 0; i < rows; i++) {
      const float *src = a + (long)(r0 + i) * k + pc;
      for (int p = 0; p < kc; p++) dst[(long)p * mr + i] = src[p];
    }
    for (int i = rows; i < mr; i++)
      for (int p = 0; p < kc; p++) dst[(long)p * mr + i] = 0;
  }
}

static void pack_b_sliver(const gemm_job *j, int ib, int sliver, int pc, int kc, float *bp) {
  const int nr = j->kern->nr, n = j->n, k = j->k;
  const float *b = j->b + (long)ib * j->strideB;
  float *dst = bp + ((long)ib * j->npanels + sliver) * (long)kc * nr;
  const int c0 = sliver * nr;
  const int cols = n - c0 < nr ? n - c0 : nr;
  if (j->transB) { /* B stored (n, k) */
    for (int jj = 0; jj < cols; jj++) {
      const float *src = b + (long)(c0 + jj) * k + pc;
      for (int p = 0; p < kc; p++) dst[(long)p * nr + jj] = src[p];
    }
    for (int jj = cols; jj < nr; jj++)
      for (int p = 0; p < kc; p++) dst[(long)p * nr + jj] = 0;
  } else { /* B stored (k, n) */
    for (int p = 0; p < kc; p++) {
      const float *src = b + (long)(pc + p) * n + c0;
      float *d = dst + (long)p * nr;
      memcpy(d, src, sizeof(float) * cols);
      for (int jj = cols; jj < nr; jj++) d[jj] = 0;
    }
  }
}

/* Where k block kb (of this round) starts and how deep it is. */
static inline int block_pc(const gemm_job *j, int kb) { return (j->kb0 + kb) * KC; }
static inline int block_kc(const gemm_job *j, int kb) { const int pc = block_pc(j, kb); return j->k - pc < KC ? j->k - pc : KC; }

static void pack_task(void *ctx, int task, int thread) {
  (void)thread;
  const gemm_job *j = ctx;
  const int agroups = (j->mpanels + PACK_GROUP - 1) / PACK_GROUP;
  const int bgroups = (j->npanels + PACK_GROUP - 1) / PACK_GROUP;
  const int kb = task / (j->groupsA + j->groupsB);
  const int pc = block_pc(j, kb), kc = block_kc(j, kb);
  task %= j->groupsA + j->groupsB;
  if (task < j->groupsA) {
    const int ia = task / agroups, g = task % agroups;
    for (int p = g * PACK_GROUP; p < j->mpanels && p < (g + 1) * PACK_GROUP; p++) pack_a_panel(j, ia, p, pc, kc, j->ap + kb * j->ablock);
  } else {
    task -= j->groupsA;
    const int ib = task / bgroups, g = task % bgroups;
    for (int s = g * PACK_GROUP; s < j->npanels && s < (g + 1) * PACK_GROUP; s++) pack_b_sliver(j, ib, s, pc, kc, j->bp + kb * j->bblock);
  }
}

static void compute_task(void *ctx, int task, int thread) {
  (void)thread;
  const gemm_job *j = ctx;
  const gemm_kernel *kern = j->kern;
  const int mr = kern->mr, nr = kern->nr, n = j->n, m = j->m;
  const int per_batch = j->mtasks * j->ntasks;
  const int bi = task / per_batch;
  const int mt = (task % per_batch) / j->ntasks, nt = task % j->ntasks;
  const int ia = j->batchesA == 1 ? 0 : bi, ib = j->batchesB == 1 ? 0 : bi;
  float *c = j->c + (long)bi * j->strideC;
  const int p_end = (mt + 1) * j->mcp < j->mpanels ? (mt + 1) * j->mcp : j->mpanels;
  const int s_end = (nt + 1) * j->ncs < j->npanels ? (nt + 1) * j->ncs : j->npanels;
  float tile[MAX_MR * MAX_NR] __attribute__((aligned(64)));
  for (int kb = 0; kb < j->kbn; kb++) { /* in k order: each element sums its k blocks as block by block would */
  const int kc = block_kc(j, kb);
  const int accumulate = block_pc(j, kb) > 0;
  const float *apanels = j->ap + kb * j->ablock + (long)ia * j->mpanels * kc * mr;
  const float *bslivers = j->bp + kb * j->bblock + (long)ib * j->npanels * kc * nr;
  for (int s = nt * j->ncs; s < s_end; s++) {
    const float *bs = bslivers + (long)s * kc * nr;
    const int c0 = s * nr;
    const int cols = n - c0 < nr ? n - c0 : nr;
    for (int p = mt * j->mcp; p < p_end; p++) {
      const float *as = apanels + (long)p * kc * mr;
      const int r0 = p * mr;
      const int rows = m - r0 < mr ? m - r0 : mr;
      float *ct = c + (long)r0 * n + c0;
      if (rows == mr && cols == nr) {
        kern->micro(kc, as, bs, ct, n, accumulate);
      } else {
        kern->micro(kc, as, bs, tile, nr, 0);
        for (int i = 0; i < rows; i++)
          for (int jj = 0; jj < cols; jj++) ct[(long)i * n + jj] = accumulate ? ct[(long)i * n + jj] + tile[i * nr + jj] : tile[i * nr + jj];
      }
    }
  }
  }
}

/* Packing space, grown as needed and kept between calls (one call at a time: the lock below). */
static float *scratch;
static size_t scratch_floats;
static pthread_mutex_t gemm_lock = PTHREAD_MUTEX_INITIALIZER;

static float *scratch_for(size_t floats) {
  if (floats <= scratch_floats) return scratch;
  free(scratch);
  scratch = NULL;
  scratch_floats = 0;
  void *p = NULL;
  if (posix_memalign(&p, 64, floats * sizeof(float)) != 0) return NULL;
  scratch = p;
  scratch_floats = floats;
  return scratch;
}

static void run_tasks(int serial, int tasks, pool_task_fn fn, void *ctx) {
  if (serial) {
    pool_run_serial(tasks, fn, ctx);
  } else {
    pool_run(tasks, fn, ctx);
  }
}

/* Returns 0, or -1 when the packing space could not be allocated. */
int seqarena_gemm(const char *isa, int batch, int m, int n, int k, int transA, int transB, const float *a, long strideA,
                  const float *b, long strideB, float *c, long strideC) {
  if (batch <= 0 || m <= 0 || n <= 0) return 0;
  if (k <= 0) {
    for (int i = 0; i < batch; i++) memset(c + (long)i * strideC, 0, sizeof(float) * (size_t)m * n);
    return 0;
  }
  gemm_job j = {0};
  j.kern = kernel_for_isa(isa);
  j.m = m, j.n = n, j.k = k, j.transA = transA, j.transB = transB;
  j.a = a, j.b = b, j.c = c, j.strideA = strideA, j.strideB = strideB, j.strideC = strideC;
  j.batches = batch;
  j.batchesA = strideA == 0 ? 1 : batch;
  j.batchesB = strideB == 0 ? 1 : batch;
  const int mr = j.kern->mr, nr = j.kern->nr;
  j.mpanels = (m + mr - 1) / mr;
  j.npanels = (n + nr - 1) / nr;
  const int threads = pool_threads();
  const int serial = threads == 1 || (double)batch * m * n * k < (double)SERIAL_MACS;

  j.mcp = (MC_ROWS + mr - 1) / mr;
  j.ncs = NC_COLS / nr;
  if (j.mcp > j.mpanels) j.mcp = j.mpanels;
  if (j.ncs > j.npanels) j.ncs = j.npanels;
  for (;;) {
    j.mtasks = (j.mpanels + j.mcp - 1) / j.mcp;
    j.ntasks = (j.npanels + j.ncs - 1) / j.ncs;
    if (serial || (long)batch * j.mtasks * j.ntasks >= 4L * threads) break;
    if (j.ncs > 1 && (j.ncs * nr >= j.mcp * mr || j.mcp == 1)) j.ncs = (j.ncs + 1) / 2;
    else if (j.mcp > 1) j.mcp = (j.mcp + 1) / 2;
    else break;
  }

  const int kcmax = k < KC ? k : KC;
  const int kblocks = (k + KC - 1) / KC;
  j.ablock = (size_t)j.batchesA * j.mpanels * mr * kcmax;
  j.bblock = (size_t)j.batchesB * j.npanels * nr * kcmax;
  /* A small C with a long k: all k blocks in one round (see the top of the file). */
  const int whole = !serial && kblocks > 1 && (long)batch * m * n <= WHOLE_K_MAX_C && (double)(j.ablock + j.bblock) * kblocks <= (double)WHOLE_K_MAX_FLOATS;
  const int per_round = whole ? kblocks : 1;
  pthread_mutex_lock(&gemm_lock);
  float *space = scratch_for((j.ablock + j.bblock) * per_round);
  if (!space) {
    pthread_mutex_unlock(&gemm_lock);
    return -1;
  }
  j.ap = space;
  j.bp = space + j.ablock * per_round;
  const int agroups = (j.mpanels + PACK_GROUP - 1) / PACK_GROUP;
  const int bgroups = (j.npanels + PACK_GROUP - 1) / PACK_GROUP;
  j.groupsA = j.batchesA * agroups;
  j.groupsB = j.batchesB * bgroups;
  for (int kb0 = 0; kb0 < kblocks; kb0 += per_round) {
    j.kb0 = kb0;
    j.kbn = kblocks - kb0 < per_round ? kblocks - kb0 : per_round;
    run_tasks(serial, j.kbn * (j.groupsA + j.groupsB), pack_task, &j);
    run_tasks(serial, batch * j.mtasks * j.ntasks, compute_task, &j);
  }
  pthread_mutex_unlock(&gemm_lock);
  return 0;
}

/* ---- the JavaScript binding ---- */

static int check_extent(napi_env env, const char *name, size_t length, int batch, long stride, long long size) {
  long long need = (long long)(batch - 1) * stride + size;
  if (stride < 0 || (long long)length < need) {
    char message[200];
    snprintf(message, sizeof message, "seqarena native gemm: '%s' has %zu elements, but batch %d with stride %ld needs %lld", name, length, batch, stride, need);
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  return 1;
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (su_args(env, info, argv, 12) < 12) {
    napi_throw_type_error(env, NULL, "seqarena native: gemm(batch, m, n, k, transA, transB, a, strideA, b, strideB, c, strideC) needs 12 arguments");
    return NULL;
  }
  const int batch = su_i32(env, argv[0], "batch"), m = su_i32(env, argv[1], "m"), n = su_i32(env, argv[2], "n"), k = su_i32(env, argv[3], "k");
  const int transA = su_i32(env, argv[4], "transA"), transB = su_i32(env, argv[5], "transB");
  size_t la = 0, lb = 0, lc = 0;
  const float *a = su_f32s(env, argv[6], "a", &la);
  const long strideA = (long)su_f64(env, argv[7], "strideA");
  const float *b = su_f32s(env, argv[8], "b", &lb);
  const long strideB = (long)su_f64(env, argv[9], "strideB");
  float *c = su_f32s(env, argv[10], "c", &lc);
  const long strideC = (long)su_f64(env, argv[11], "strideC");
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  if (batch < 0 || m < 0 || n < 0 || k < 0) {
    napi_throw_range_error(env, NULL, "seqarena native gemm: batch, m, n and k must be >= 0");
    return NULL;
  }
  if (batch == 0 || m == 0 || n == 0) return su_undefined(env);
  if (!check_extent(env, "a", la, batch, strideA, (long long)m * k) || !check_extent(env, "b", lb, batch, strideB, (long long)k * n) ||
      !check_extent(env, "c", lc, batch, strideC, (long long)m * n))
    return NULL;
  if (strideC < (long long)m * n && batch > 1) {
    napi_throw_range_error(env, NULL, "seqarena native gemm: strideC must be at least m·n (the C matrices may not overlap)");
    return NULL;
  }
  if (seqarena_gemm(seqarena_isa(), batch, m, n, k, transA != 0, transB != 0, a, strideA, b, strideB, c, strideC) != 0) {
    napi_throw_error(env, NULL, "seqarena native gemm: out of memory for the packing space");
    return NULL;
  }
  return su_undefined(env);
}

void register_gemm(napi_env env, napi_value exports) { su_export(env, exports, "gemm", gemm); }
