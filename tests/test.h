/* tests/test.h: a tiny pass/fail counter for the serial unit tests (after GSL's gsl_test). */
#ifndef RRR_TEST_H
#define RRR_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Counts for this test program (one translation unit each, so static is enough). */
static int test_passed, test_failed;

/* Record one check; on failure print "file:line: FAIL name (cond)" to stderr. With
 * TEST_VERBOSE set in the environment, passes are printed too. Returns ok. */
static inline int test_check(int ok, const char *file, int line, const char *cond,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline int test_check(int ok, const char *file, int line, const char *cond,
                             const char *fmt, ...)
{
    static int verbose = -1;
    va_list ap;
    if (verbose < 0)
        verbose = getenv("TEST_VERBOSE") != NULL;
    if (ok)
        test_passed++;
    else
        test_failed++;
    if (!ok || verbose) {
        fprintf(stderr, "%s:%d: %s ", file, line, ok ? "pass" : "FAIL");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ok ? "\n" : " (%s)\n", cond);
    }
    return ok;
}

/* CHECK(cond, "name", ...): the name is a printf format, so loops can say which case. */
#define CHECK(cond, ...) test_check((cond) != 0, __FILE__, __LINE__, #cond, __VA_ARGS__)

/* Test data: an LCG in [-1, 1), reproducible from *state (never for anything but tests). */
static inline double test_rnd(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (double)(*state >> 8) / (double)(1u << 23) - 1.0;
}

/* max |a - b| / max |b|: the relative difference of two arrays of n doubles. */
static inline double test_maxdiff(size_t n, const double *a, const double *b)
{
    double m = 0, s = 0;
    for (size_t k = 0; k < n; k++) {
        m = fmax(m, fabs(a[k] - b[k]));
        s = fmax(s, fabs(b[k]));
    }
    return m / fmax(s, 1e-300);
}

/* Print "N passed, M failed" on its own line; return the exit status (0 iff none failed
 * and something ran, so an empty or short-circuited test does not count as a pass). */
static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    fflush(stdout);
    return (test_failed == 0 && test_passed > 0) ? 0 : 1;
}

#endif
