/*
 * sl_pool — persistent worker threads for the data-parallel loops of the forward pass.
 *
 * A forward pass of a 1.7B model calls sl_pool_run() about 200 times per token, so waking
 * the workers must cost microseconds, not the tens of microseconds of a condition variable
 * round trip.  Workers therefore spin on a generation counter for a short while after each
 * job (the next matrix product usually follows within microseconds) and only then sleep on
 * a condition variable.  The caller takes part in the work.
 *
 * Threads claim tasks one at a time from a shared atomic word, so a fast thread takes more
 * of them and the caller never waits for a worker that has not started (on a busy machine
 * a worker may be descheduled for milliseconds); which thread runs a task never changes
 * what the task computes, so results do not depend on the number of threads.
 *
 * One job at a time: sl_pool_run() must not be called from inside a task, nor on one pool
 * from two threads at once.
 */
#include "sl_err.h"
#include "sl_pool.h"

#ifdef SL_NO_THREADS
/*
 * A build without threads (-DSL_NO_THREADS: no pthreads, as in the browser): the pool is
 * the caller alone, which runs every task in order.  Results are the same, since tasks
 * never depend on which thread runs them.
 */
#include <stdlib.h>

struct sl_pool {
	int unused;
};

sl_pool *sl_pool_new(int n_threads)
{
	sl_pool *p = calloc(1, sizeof *p);

	(void)n_threads;
	if (!p)
		sl_seterr_code(SL_E_NOMEM, "thread pool: out of memory");
	return p;
}

void sl_pool_free(sl_pool *p)
{
	free(p);
}

int sl_pool_threads(const sl_pool *p)
{
	(void)p;
	return 1;
}

void sl_pool_run(sl_pool *p, int n_tasks, sl_pool_fn fn, void *arg)
{
	(void)p;
	for (int t = 0; t < n_tasks; t++)
		fn(arg, t, n_tasks);
}

#else

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * How long a worker spins after a job before it sleeps.  Long enough to bridge the gaps
 * between the products of a forward pass (norms, attention: microseconds), short enough
 * not to burn a core that other processes want while sl-infer samples or waits for input.
 */
#define SPIN_NS 100000
/* Upper bound on threads: more than any machine sl runs on needs. */
#define MAX_THREADS 256

struct sl_pool {
	int n_threads;          /* including the caller */
	pthread_t *threads;     /* [n_threads - 1] workers */

	/* the current job: written by the caller before it publishes `work` */
	sl_pool_fn fn;
	void *arg;

	/*
	 * The claim state of the current job in one word: generation (16 bits) | n_tasks
	 * (24 bits) | next task (24 bits).  A thread claims task i by a compare-and-swap from
	 * i to i+1, so a claim is valid only for the job it was read from: a worker that was
	 * descheduled and wakes up late can never run a task of a job that has ended.
	 */
	_Atomic uint64_t work;
	_Atomic int done;       /* tasks of the current job finished */
	_Atomic int quit;
	_Atomic int sleepers;   /* workers blocked (or about to block) on cv */

	pthread_mutex_t mu;
	pthread_cond_t cv;
};

#define GEN(w) ((unsigned)((w) >> 48))
#define NTASKS(w) ((int)(((w) >> 24) & 0xffffff))
#define NEXT(w) ((int)((w) & 0xffffff))
#define MAX_TASKS 0xffffff

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Claim and run tasks of job generation gen until none are left. */
static void drain(sl_pool *p, unsigned gen)
{
	uint64_t w = atomic_load_explicit(&p->work, memory_order_acquire);
	for (;;) {
		if (GEN(w) != gen || NEXT(w) >= NTASKS(w))
			return;
		if (!atomic_compare_exchange_weak_explicit(&p->work, &w, w + 1,
							   memory_order_acquire, memory_order_acquire))
			continue; /* w now holds the current value */
		/* the job cannot end before this task is done, so fn and arg are current */
		p->fn(p->arg, NEXT(w), NTASKS(w));
		atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
		w = atomic_load_explicit(&p->work, memory_order_acquire);
	}
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *worker(void *v)
{
	sl_pool *p = v;
	unsigned seen = 0;

	for (;;) {
		unsigned g;
		unsigned spins = 0;
		long long t_sleep = 0;
		while ((g = GEN(atomic_load_explicit(&p->work, memory_order_acquire))) == seen &&
		       !atomic_load_explicit(&p->quit, memory_order_acquire)) {
			if (++spins % 64) {
				cpu_relax();
				continue;
			}
			if (!t_sleep)
				t_sleep = now_ns() + SPIN_NS;
			if (now_ns() < t_sleep)
				continue;
			/*
			 * Sleep.  sleepers is raised before the generation is checked again, and the
			 * caller publishes a job before it reads sleepers, so one of the two always
			 * sees the other.
			 */
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->sleepers, 1);
			while (GEN(atomic_load(&p->work)) == seen && !atomic_load(&p->quit))
				pthread_cond_wait(&p->cv, &p->mu);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->mu);
			spins = 0;
			t_sleep = 0;
		}
		if (atomic_load_explicit(&p->quit, memory_order_acquire))
			return NULL;
		seen = g;
		drain(p, g);
	}
}

sl_pool *sl_pool_new(int n_threads)
{
	if (n_threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		n_threads = n > 0 ? (int)n : 1;
	}
	if (n_threads > MAX_THREADS)
		n_threads = MAX_THREADS;

	sl_pool *p = calloc(1, sizeof(*p));
	if (!p) {
		sl_seterr_code(SL_E_NOMEM, "thread pool: out of memory");
		return NULL;
	}
	p->n_threads = n_threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (n_threads > 1) {
		p->threads = calloc((size_t)n_threads - 1, sizeof(pthread_t));
		if (!p->threads) {
			sl_seterr_code(SL_E_NOMEM, "thread pool: out of memory");
			free(p);
			return NULL;
		}
	}
	for (int i = 0; i < n_threads - 1; i++) {
		int e = pthread_create(&p->threads[i], NULL, worker, p);
		if (e) {
			sl_seterr_sys(e, "thread pool: cannot start thread");
			p->n_threads = i + 1;
			sl_pool_free(p);
			return NULL;
		}
	}
	return p;
}

void sl_pool_free(sl_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->quit, 1);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n_threads - 1; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
}

int sl_pool_threads(const sl_pool *p)
{
	return p ? p->n_threads : 1;
}

void sl_pool_run(sl_pool *p, int n_tasks, sl_pool_fn fn, void *arg)
{
	if (n_tasks <= 0)
		return;
	if (!p || p->n_threads == 1 || n_tasks == 1 || n_tasks > MAX_TASKS) {
		for (int t = 0; t < n_tasks; t++)
			fn(arg, t, n_tasks);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	unsigned gen = (GEN(atomic_load_explicit(&p->work, memory_order_relaxed)) + 1) & 0xffff;
	/* seq_cst: publishes the job, and is ordered before the read of sleepers */
	atomic_store(&p->work, (uint64_t)gen << 48 | (uint64_t)n_tasks << 24);
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	drain(p, gen);
	/* Wait for the tasks other threads claimed; late workers find nothing to claim. */
	for (long spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n_tasks; spins++) {
		if (spins < 20000)
			cpu_relax();
		else
			sched_yield();
	}
}

#endif /* SL_NO_THREADS */
