/*
 * check.h — the unit-test harness: one binary per lib module, CHECK() prints file:line on
 * failure, and CHECK_DONE() prints "N passed, N failed" (read by tests/run) and returns the
 * exit status.  Golden values carry a comment saying where they came from.
 */
#ifndef SL_CHECK_H
#define SL_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_pass, check_fail;

#define CHECK(cond) do { \
	if (cond) check_pass++; \
	else { check_fail++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_MSG(cond, ...) do { \
	if (cond) check_pass++; \
	else { check_fail++; fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
	       fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
} while (0)

/* |a - b| <= tol, printing both values on failure. */
#define CHECK_NEAR(a, b, tol) do { \
	double check_a_ = (a), check_b_ = (b); \
	CHECK_MSG(fabs(check_a_ - check_b_) <= (tol), "%.9g vs %.9g (tol %g)", check_a_, check_b_, (double)(tol)); \
} while (0)

#define CHECK_DONE() (printf("%d passed, %d failed\n", check_pass, check_fail), check_fail ? 1 : 0)

#endif
