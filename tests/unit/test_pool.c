/*
 * test_pool — the thread pool runs every task exactly once, with the right (task, n_tasks)
 * arguments, for any number of threads and tasks, many jobs in a row (the spinning hand-off)
 * and after the workers have gone to sleep (the condition-variable hand-off).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sl_pool.h"

/* Threads a pool of n gets: n, or 1 in a build without threads (-DSL_NO_THREADS). */
#ifdef SL_NO_THREADS
#define THREADS(n) ((void)(n), 1)
#else
#define THREADS(n) (n)
#endif

typedef struct {
	_Atomic int *count; /* [n_tasks] times each task ran */
	_Atomic int bad;    /* calls with a wrong n_tasks */
	int n_tasks;
} job;

static void count_task(void *arg, int task, int n_tasks)
{
	job *j = arg;
	if (n_tasks != j->n_tasks || task < 0 || task >= n_tasks)
		atomic_fetch_add(&j->bad, 1);
	else
		atomic_fetch_add(&j->count[task], 1);
}

/* Run n_tasks once on p; 1 if every task ran exactly once. */
static int run_once(sl_pool *p, int n_tasks)
{
	job j = {calloc((size_t)n_tasks + 1, sizeof(_Atomic int)), 0, n_tasks};
	int ok = 1;
	sl_pool_run(p, n_tasks, count_task, &j);
	for (int i = 0; i < n_tasks; i++)
		ok &= atomic_load(&j.count[i]) == 1;
	ok &= atomic_load(&j.bad) == 0;
	free(j.count);
	return ok;
}

static void test_threads(int n_threads)
{
	sl_pool *p = sl_pool_new(n_threads);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(sl_pool_threads(p) == THREADS(n_threads));
	int ok = 1;
	for (int n = 0; n <= 70; n++)
		ok &= run_once(p, n);
	CHECK_MSG(ok, "%d threads: tasks 0..70", n_threads);
	ok = 1;
	for (int i = 0; i < 20000; i++) /* back to back: the spinning path */
		ok &= run_once(p, 1 + i % 9);
	CHECK_MSG(ok, "%d threads: 20000 jobs in a row", n_threads);
	usleep(300000); /* long enough for the workers to sleep */
	CHECK_MSG(run_once(p, 1000), "%d threads: after the workers slept", n_threads);
	sl_pool_free(p);
}

/* A task that is slow on purpose: the others must not wait for an idle thread. */
static void sum_task(void *arg, int task, int n_tasks)
{
	double *out = arg, s = 0;
	(void)n_tasks;
	for (int i = 0; i < 1000; i++)
		s += (double)(task + 1) * i;
	out[task] = s;
}

static void test_results_independent_of_threads(void)
{
	double a[64], b[64];
	sl_pool *p = sl_pool_new(3);
	CHECK(p != NULL);
	sl_pool_run(NULL, 64, sum_task, a);
	sl_pool_run(p, 64, sum_task, b);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	sl_pool_free(p);
}

/* Without threads the caller runs the tasks, in order. */
static void order_task(void *arg, int task, int n_tasks)
{
	int *seen = arg;
	(void)n_tasks;
	seen[seen[0] + 1] = task;
	seen[0]++;
}

static void test_no_threads(void)
{
#ifdef SL_NO_THREADS
	int seen[1 + 40] = {0}, ok = 1;
	sl_pool *p = sl_pool_new(4);
	CHECK(p != NULL);
	sl_pool_run(p, 40, order_task, seen);
	for (int i = 0; i < 40; i++)
		ok &= seen[i + 1] == i;
	CHECK(seen[0] == 40 && ok);
	sl_pool_free(p);
#else
	(void)order_task;
#endif
}

int main(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	sl_pool *p = sl_pool_new(0);
	CHECK(p != NULL && sl_pool_threads(p) == THREADS(cores > 0 ? cores : 1));
	sl_pool_free(p);
	sl_pool_free(NULL);
	CHECK(sl_pool_threads(NULL) == 1);
	CHECK(run_once(NULL, 5));
	for (int n = 1; n <= 4; n++)
		test_threads(n);
	test_results_independent_of_threads();
	test_no_threads();
	return CHECK_DONE();
}
