/*
 * sl_pool — a fixed pool of worker threads for data-parallel loops.
 *
 * The forward pass splits each matrix product (and attention, by head) into tasks; the
 * pool runs fn(arg, task, n_tasks) for task = 0..n_tasks-1 across its threads and returns
 * when all are done.  Work is split by task index only, so results never depend on the
 * number of threads.
 */
#ifndef SL_POOL_H
#define SL_POOL_H

typedef struct sl_pool sl_pool;
typedef void (*sl_pool_fn)(void *arg, int task, int n_tasks);

/*
 * n_threads <= 0: the number of online cores.  NULL with sl_error on failure.  Built with
 * -DSL_NO_THREADS (no pthreads) every pool is the caller alone: sl_pool_threads() is 1.
 */
sl_pool *sl_pool_new(int n_threads);
void sl_pool_free(sl_pool *p);
int sl_pool_threads(const sl_pool *p);  /* 1 for a NULL pool */

/* Run fn for every task.  A NULL pool runs them in the calling thread. */
void sl_pool_run(sl_pool *p, int n_tasks, sl_pool_fn fn, void *arg);

#endif
