/* tests/test.h: a tiny pass/fail counter for the serial unit tests (after GSL's gsl_test). */
#ifndef RRR_TEST_H
#define RRR_TEST_H

#include <stdarg.h>
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

/* Print "N passed, M failed" on its own line; return the exit status (0 iff none failed
 * and something ran, so an empty or short-circuited test does not count as a pass). */
static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    fflush(stdout);
    return (test_failed == 0 && test_passed > 0) ? 0 : 1;
}

#endif
