/* src/cv_args.c: the grids of `rrr cv`: ranks "D", "D1,D2,...", "A:B" and penalties "L",
 * "L1,L2,...", "LO:HI:N" (N values evenly spaced in log from LO to HI). Serial. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "cli.h"
#include "cv_args.h"

/* Local. A decimal integer filling [s, end). */
static int parse_int(const char *s, const char *end, long *v)
{
    char *e;
    if (!rrr_cli_decimal(s, (size_t)(end - s), 1))
        return 0;
    errno = 0;
    long x = strtol(s, &e, 10);
    if (errno != 0 || e != end)
        return 0;
    *v = x;
    return 1;
}

/* Local. A finite number filling [s, end) (subnormals included; one that underflows to 0
 * is refused). */
static int parse_num(const char *s, const char *end, double *v)
{
    char buf[64], *e;
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof buf || !rrr_cli_decimal(s, n, 0))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    double x = strtod(buf, &e);
    if (e != buf + n || !isfinite(x) || (errno == ERANGE && x == 0)) /* 1e-400 is not 0 */
        return 0;
    *v = x;
    return 1;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Local. Sort ascending and drop repeats; returns the new count. */
static int unique_int(int *v, int n)
{
    int m = 0;
    qsort(v, (size_t)n, sizeof *v, cmp_int);
    for (int i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    return m;
}

static int unique_dbl(double *v, int n)
{
    int m = 0;
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    for (int i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    return m;
}

/* Local. Number of comma-separated items in s. */
static int items(const char *s)
{
    int n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

rrr_status rrr_cv_parse_ranks(const char *s, size_t maxrank, int **out, int *n, rrr_err *e)
{
    const char *colon = strchr(s, ':');
    long a, b;
    *out = NULL;
    *n = 0;
    if (colon != NULL) { /* A:B */
        if (!parse_int(s, colon, &a) || !parse_int(colon + 1, colon + strlen(colon), &b))
            return RRR_FAIL(e, RRR_EINVAL, "--rank '%s': expected D, D1,D2,... or A:B", s);
        if (a > b)
            return RRR_FAIL(e, RRR_EINVAL, "--rank %s: the range A:B needs A <= B", s);
        if (a < 1 || (size_t)b > maxrank)
            return RRR_FAIL(e, RRR_EINVAL, "--rank %s: every rank must be in [1, min(p, q)] = "
                            "[1, %zu]", s, maxrank);
        int *v = rrr_malloc((size_t)(b - a + 1), sizeof *v);
        if (v == NULL)
            return RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
        for (long d = a; d <= b; d++)
            v[d - a] = (int)d;
        *out = v;
        *n = (int)(b - a + 1);
        return RRR_OK;
    }
    int m = items(s), k = 0;
    int *v = rrr_malloc((size_t)m, sizeof *v);
    if (v == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
    for (const char *p = s;; k++) {
        const char *c = strchr(p, ',');
        const char *end = c ? c : p + strlen(p);
        if (!parse_int(p, end, &a)) {
            free(v);
            return RRR_FAIL(e, RRR_EINVAL, "--rank '%s': expected D, D1,D2,... or A:B", s);
        }
        if (a < 1 || (size_t)a > maxrank) {
            free(v);
            return RRR_FAIL(e, RRR_EINVAL, "--rank %ld out of range: every rank must be in "
                            "[1, min(p, q)] = [1, %zu]", a, maxrank);
        }
        v[k] = (int)a;
        if (c == NULL)
            break;
        p = c + 1;
    }
    *n = unique_int(v, k + 1);
    *out = v;
    return RRR_OK;
}

rrr_status rrr_cv_parse_lambdas(const char *s, double **out, int *n, rrr_err *e)
{
    const char *c1 = strchr(s, ':');
    *out = NULL;
    *n = 0;
    if (c1 != NULL) { /* LO:HI:N */
        const char *c2 = strchr(c1 + 1, ':');
        double lo, hi;
        long m;
        if (c2 == NULL || !parse_num(s, c1, &lo) || !parse_num(c1 + 1, c2, &hi) ||
            !parse_int(c2 + 1, c2 + strlen(c2), &m))
            return RRR_FAIL(e, RRR_EINVAL, "--lambda '%s': expected L, L1,L2,... or LO:HI:N "
                            "(numbers within double's range)", s);
        if (!(lo > 0) || !(lo < hi))
            return RRR_FAIL(e, RRR_EINVAL, "--lambda %s: LO:HI:N needs 0 < LO < HI", s);
        if (hi > RRR_LAMBDA_MAX)
            return RRR_FAIL(e, RRR_EINVAL, "--lambda %s: HI above %g (the penalty's arithmetic "
                            "leaves double's range)", s, RRR_LAMBDA_MAX);
        if (m < 2 || m > 100000)
            return RRR_FAIL(e, RRR_EINVAL, "--lambda %s: LO:HI:N needs 2 <= N <= 100000", s);
        double *v = rrr_malloc((size_t)m, sizeof *v);
        if (v == NULL)
            return RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
        /* ends exact, log-spaced between: powers of 10, so a grid of decades or half
         * decades (1:1e5:11) holds 10, 100, 1000 exactly; rounded to 15 digits, so that
         * 0.5:50:3 holds 5, not 4.999999999999999 */
        const double a = log10(lo), b = log10(hi);
        for (long k = 0; k < m; k++) {
            char t[32];
            double x = pow(10.0, a + (b - a) * (double)k / (double)(m - 1));
            snprintf(t, sizeof t, "%.15g", x);
            v[k] = k == 0 ? lo : k == m - 1 ? hi : strtod(t, NULL);
        }
        *out = v;
        *n = unique_dbl(v, (int)m); /* points closer than double's spacing are one */
        return RRR_OK;
    }
    int m = items(s), k = 0;
    double *v = rrr_malloc((size_t)m, sizeof *v);
    if (v == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory");
    for (const char *p = s;; k++) {
        const char *c = strchr(p, ',');
        const char *end = c ? c : p + strlen(p);
        if (!parse_num(p, end, &v[k])) {
            free(v);
            return RRR_FAIL(e, RRR_EINVAL, "--lambda '%s': expected L, L1,L2,... or LO:HI:N "
                            "(numbers within double's range)", s);
        }
        if (v[k] < 0 || v[k] > RRR_LAMBDA_MAX) {
            double bad = v[k];
            free(v);
            return RRR_FAIL(e, RRR_EINVAL, "--lambda %g: every lambda must be in [0, %g]", bad,
                            RRR_LAMBDA_MAX);
        }
        v[k] += 0.0; /* -0 is 0 */
        if (c == NULL)
            break;
        p = c + 1;
    }
    *n = unique_dbl(v, k + 1);
    *out = v;
    return RRR_OK;
}
