/*
 * A persistent pthread pool: workers sleep on a condition variable between calls, so a kernel call
 * costs a wake-up, not a thread start. The calling thread works too.
 *
 * A call never waits for a worker that has not started: pieces are claimed from one 64-bit counter
 * that holds the job's generation (high half) and the next piece (low half), and the call returns when
 * every piece is done, whoever did it. On a busy machine the OS may hold a worker back for a whole
 * time slice; the caller then does its pieces, and the late worker finds the job finished (its
 * generation is gone) and goes back to sleep without touching the next job.
 */
#include "pool.h"
#include <stdlib.h>
#include <string.h>

/*
 * Floating-point mode of every task: flush-to-zero and denormals-are-zero (MXCSR bits 15 and 6) on x86,
 * so a subnormal (|x| < 1.2e-38) result or operand is 0. An LSTM's gradients vanish through 1,024 steps
 * into subnormals, which x86 computes on a slow path: without this, a training step at L = 1024 took
 * 677 ms instead of 90. Workers keep the mode; the calling thread has it only while it runs tasks, so
 * JavaScript's own arithmetic stays IEEE. SEQARENA_DENORMALS=keep turns it off.
 */
#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#define FP_FLUSH 0x8040u
static int flush_denormals(void) {
  static int flush = -1; /* racing first calls all store the same value */
  if (flush < 0) {
    const char *e = getenv("SEQARENA_DENORMALS");
    flush = !(e && strcmp(e, "keep") == 0);
  }
  return flush;
}
static unsigned int fp_enter(void) {
  const unsigned int saved = _mm_getcsr();
  if (flush_denormals()) _mm_setcsr(saved | FP_FLUSH);
  return saved;
}
static void fp_leave(unsigned int saved) { _mm_setcsr(saved); }
#else
static unsigned int fp_enter(void) { return 0; }
static void fp_leave(unsigned int saved) { (void)saved; }
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_THREADS 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;
static pthread_t workers[MAX_THREADS];
static int n_threads = 1;        /* including the caller */
static int n_workers = 0;        /* started pthreads */
static int stop_above = 1 << 30; /* workers with index >= this exit */

/* The current job, written under the lock before its generation is published. */
static uint32_t generation = 0;
static pool_task_fn job_fn;
static void *job_ctx;
static int job_tasks;
static _Atomic uint64_t claim;  /* generation << 32 | next piece */
static atomic_int done_tasks;

/* Claim and run pieces of job `gen` until none is left (or the job is no longer current). */
static void drain(uint32_t gen, pool_task_fn fn, void *ctx, int tasks, int thread) {
  for (;;) {
    uint64_t v = atomic_load(&claim);
    int t;
    do {
      if ((uint32_t)(v >> 32) != gen) return;
      t = (int)(uint32_t)v;
      if (t >= tasks) return;
    } while (!atomic_compare_exchange_weak(&claim, &v, v + 1));
    fn(ctx, t, thread);
    if (atomic_fetch_add(&done_tasks, 1) + 1 == tasks) {
      pthread_mutex_lock(&lock);
      pthread_cond_signal(&finished);
      pthread_mutex_unlock(&lock);
    }
  }
}

static void *worker_main(void *arg) {
  int index = (int)(long)arg; /* 1 … */
  (void)fp_enter(); /* for the thread's life: it runs nothing but tasks */
  pthread_mutex_lock(&lock);
  uint32_t seen = generation;
  for (;;) {
    while (generation == seen && index < stop_above) pthread_cond_wait(&wake, &lock);
    if (index >= stop_above) break;
    seen = generation;
    pool_task_fn fn = job_fn;
    void *ctx = job_ctx;
    int tasks = job_tasks;
    pthread_mutex_unlock(&lock);
    drain(seen, fn, ctx, tasks, index);
    pthread_mutex_lock(&lock);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

int pool_threads(void) { return n_threads; }

void pool_set_threads(int threads) {
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  pthread_mutex_lock(&lock);
  if (threads - 1 < n_workers) {
    /* stop the extra workers */
    int keep = threads - 1;
    stop_above = keep + 1;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    for (int i = keep; i < n_workers; i++) pthread_join(workers[i], NULL);
    pthread_mutex_lock(&lock);
    n_workers = keep;
    stop_above = 1 << 30;
  }
  while (n_workers < threads - 1) {
    if (pthread_create(&workers[n_workers], NULL, worker_main, (void *)(long)(n_workers + 1)) != 0) break;
    n_workers++;
  }
  n_threads = n_workers + 1;
  pthread_mutex_unlock(&lock);
}

static void run_on_pool(int tasks, pool_task_fn fn, void *ctx) {
  if (tasks == 1 || n_threads == 1) {
    for (int t = 0; t < tasks; t++) fn(ctx, t, 0);
    return;
  }
  pthread_mutex_lock(&lock);
  uint32_t gen = ++generation;
  job_fn = fn;
  job_ctx = ctx;
  job_tasks = tasks;
  atomic_store(&done_tasks, 0);
  atomic_store(&claim, (uint64_t)gen << 32);
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  drain(gen, fn, ctx, tasks, 0);
  pthread_mutex_lock(&lock);
  while (atomic_load(&done_tasks) < tasks) pthread_cond_wait(&finished, &lock);
  pthread_mutex_unlock(&lock);
}

void pool_run(int tasks, pool_task_fn fn, void *ctx) {
  if (tasks <= 0) return;
  const unsigned int saved = fp_enter();
  run_on_pool(tasks, fn, ctx);
  fp_leave(saved);
}

void pool_run_serial(int tasks, pool_task_fn fn, void *ctx) {
  const unsigned int saved = fp_enter();
  for (int t = 0; t < tasks; t++) fn(ctx, t, 0);
  fp_leave(saved);
}
