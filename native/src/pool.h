/*
 * The worker pool every native kernel splits its work over. A kernel cuts its work into `tasks`
 * independent pieces and calls pool_run; the call returns when every piece is done. Pieces are handed
 * out dynamically (an atomic counter), so uneven pieces balance. `thread` (0 … pool_threads()-1) lets
 * a piece use per-thread scratch space.
 */
#ifndef SEQARENA_POOL_H
#define SEQARENA_POOL_H

typedef void (*pool_task_fn)(void *ctx, int task, int thread);

/* Run fn(ctx, t, thread) for t in [0, tasks). Runs inline when tasks <= 1 or the pool has one thread. */
void pool_run(int tasks, pool_task_fn fn, void *ctx);

/* The same tasks on the calling thread only, in order, in the pool's floating-point mode (pool.c). */
void pool_run_serial(int tasks, pool_task_fn fn, void *ctx);

/* How many threads pool_run uses (the calling thread included). */
int pool_threads(void);

/* Set the thread count (>= 1); the pool starts or stops workers to match. */
void pool_set_threads(int threads);

#endif
