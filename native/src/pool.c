/*
 * A persistent pthread pool: workers sleep on a condition variable between calls, so a kernel call
 * costs a wake-up, not a thread start. The calling thread works too.
 */
#include "pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_THREADS 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static pthread_t workers[MAX_THREADS];
static int n_threads = 1;      /* including the caller */
static int n_workers = 0;      /* started pthreads */
static int stop_above = 1 << 30; /* workers with index >= this exit */
static unsigned long generation = 0;
/* The generation current when each worker was created: a worker that starts after a job was posted
 * must still take part in it (pool_run waits for every worker), so it may not read `generation` itself. */
static unsigned long born_at[MAX_THREADS];

static pool_task_fn job_fn;
static void *job_ctx;
static int job_tasks;
static atomic_int next_task;
static int busy;               /* workers still inside the current job */

static void drain(int thread) {
  for (;;) {
    int t = atomic_fetch_add(&next_task, 1);
    if (t >= job_tasks) return;
    job_fn(job_ctx, t, thread);
  }
}

static void *worker_main(void *arg) {
  int index = (int)(long)arg; /* 1 … */
  pthread_mutex_lock(&lock);
  unsigned long seen = born_at[index];
  for (;;) {
    while (generation == seen && index < stop_above) pthread_cond_wait(&wake, &lock);
    if (index >= stop_above) break;
    seen = generation;
    if (index >= n_threads) continue;
    pthread_mutex_unlock(&lock);
    drain(index);
    pthread_mutex_lock(&lock);
    if (--busy == 0) pthread_cond_signal(&done);
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
    born_at[n_workers + 1] = generation;
    if (pthread_create(&workers[n_workers], NULL, worker_main, (void *)(long)(n_workers + 1)) != 0) break;
    n_workers++;
  }
  n_threads = n_workers + 1;
  pthread_mutex_unlock(&lock);
}

void pool_run(int tasks, pool_task_fn fn, void *ctx) {
  if (tasks <= 0) return;
  if (tasks == 1 || n_threads == 1) {
    for (int t = 0; t < tasks; t++) fn(ctx, t, 0);
    return;
  }
  pthread_mutex_lock(&lock);
  job_fn = fn;
  job_ctx = ctx;
  job_tasks = tasks;
  atomic_store(&next_task, 0);
  busy = n_threads - 1;
  generation++;
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  drain(0);
  pthread_mutex_lock(&lock);
  while (busy > 0) pthread_cond_wait(&done, &lock);
  pthread_mutex_unlock(&lock);
}
