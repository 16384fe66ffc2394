/* tests/unit/test_parts.c: serial tests of the JSON reader, cv's folds and grids, the
 * closed form's two eigen routes (topk.c) against each other and a brute-force product,
 * and the values' scan (scan.c) against plain loops. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "alloc.h"
#include "cv_args.h"
#include "folds.h"
#include "json.h"
#include "linalg.h"
#include "rng.h"
#include "scan.h"
#include "topk.h"

static rrr_status look(const char *doc, const char *path, rrr_jval *v)
{
    rrr_err e = { RRR_OK, "" };
    return rrr_json_lookup(doc, strlen(doc), path, v, "t.json", &e);
}

/* rrr_json_members' callback: "key=member text" entries joined by '|' */
static void collect(const char *key, size_t klen, const char *start, const char *end, void *arg)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s%.*s=%.*s", n ? "|" : "", (int)klen, key,
             (int)(end - start), start);
}

static void test_json_members(void)
{
    char out[512] = "";
    rrr_err e = { RRR_OK, "" };
    const char *doc = "{ \"a\" : 1, \"b\": {\"c\": [1, {}], \"d\": \"}\\\"\"}, \"e\": {},"
                      "\"f\": [], \"g\": [[\"x\"]], \"h\": null }";
    CHECK(rrr_json_members(doc, strlen(doc), collect, out, "t", &e) == RRR_OK &&
              strcmp(out, "a=\"a\" : 1|b=\"b\": {\"c\": [1, {}], \"d\": \"}\\\"\"}|e=\"e\": {}|"
                          "f=\"f\": []|g=\"g\": [[\"x\"]]|h=\"h\": null") == 0,
          "json: the top-level members, nested containers and strings with braces whole");
    out[0] = '\0';
    CHECK(rrr_json_members("{}", 2, collect, out, "t", &e) == RRR_OK && out[0] == '\0',
          "json: an empty object has no members");
    CHECK(rrr_json_members("{\"a\": 1,}", 9, collect, out, "t", &e) == RRR_EINVAL &&
              out[0] == '\0', "json: invalid text: refused before any member is reported");
}

static void test_json(void)
{
    rrr_jval v;
    char s[64];
    const char *doc = "{\"format\": \"rrr-model-1\", \"intercept\":true,\"rank\":3,"
                      "\"files\": {\"U.npy\": \"fnv\\u0041\\n\"}, \"h\": [1, [2, {\"rank\": 9}]],"
                      "\"x\": -1.5e-3, \"n\": null}";
    CHECK(look(doc, "intercept", &v) == RRR_OK && v.kind == RRR_JBOOL && v.b == 1, "json: bool");
    CHECK(look(doc, "rank", &v) == RRR_OK && v.kind == RRR_JNUM && v.num == 3, "json: number, "
          "not the one inside an array");
    CHECK(look(doc, "x", &v) == RRR_OK && v.num == -1.5e-3, "json: exponent");
    CHECK(look(doc, "n", &v) == RRR_OK && v.kind == RRR_JNULL, "json: null");
    CHECK(look(doc, "files.U.npy", &v) == RRR_OK && v.kind == RRR_JSTR &&
              rrr_json_string(&v, s, sizeof s) && strcmp(s, "fnvA\n") == 0,
          "json: a path splits at its first dot only (member names may hold dots)");
    CHECK(look(doc, "files.V.npy", &v) == RRR_OK && v.kind == RRR_JNONE, "json: absent member "
          "of an object");
    CHECK(look(doc, "format", &v) == RRR_OK && rrr_json_string(&v, s, sizeof s) &&
          strcmp(s, "rrr-model-1") == 0, "json: string");
    CHECK(look(doc, "missing", &v) == RRR_OK && v.kind == RRR_JNONE, "json: absent member");
    const char *doc2 = "{\"a\": {\"b\": \"x\\u00e9\\\"y\"}}";
    CHECK(look(doc2, "a.b", &v) == RRR_OK && rrr_json_string(&v, s, sizeof s) &&
          strcmp(s, "x\xc3\xa9\"y") == 0, "json: nested member, escapes resolved to UTF-8");
    CHECK(look(doc2, "a", &v) == RRR_OK && v.kind == RRR_JOBJ, "json: an object member");
    /* compact, as jq -c and Python's separators write it */
    CHECK(look("{\"intercept\":true}", "intercept", &v) == RRR_OK && v.b == 1, "json: compact");
    static const char *bad[] = { "", "[]", "{", "{\"a\" 1}", "{\"a\": 01}", "{\"a\": 1,}",
                                 "{\"a\": tru}", "{\"a\": \"\\x\"}", "{\"a\": 1} x", "{a: 1}",
                                 "{\"a\": [1, 2}", "{\"a\": \"\x01\"}", "{\"a\": -}", "{\"a\": 1.}" };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        CHECK(look(bad[k], "a", &v) == RRR_EINVAL, "json: '%s' refused", bad[k]);
    char deep[300];
    memset(deep, '[', sizeof deep);
    memcpy(deep, "{\"a\": ", 6);
    deep[sizeof deep - 1] = '\0';
    CHECK(look(deep, "a", &v) == RRR_EINVAL, "json: nesting beyond 64 refused, no recursion");
}

static void test_folds(void)
{
    const uint64_t ns[] = { 1, 2, 7, 100, 1001, 65537 };
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
        for (int K = 2; K <= 7; K += 5) {
            uint64_t n = ns[t];
            long long *cnt = calloc((size_t)K, sizeof *cnt);
            for (uint64_t i = 0; i < n; i++)
                cnt[rrr_fold_of(i, n, K, 42)]++;
            int ok = 1;
            for (int k = 0; k < K; k++) /* fold k has ceil((n - k) / K) rows */
                ok &= cnt[k] == (long long)((n > (uint64_t)k ? n - (uint64_t)k : 0) + (uint64_t)K - 1) / K;
            CHECK(ok, "folds: n=%llu K=%d sizes differ by at most one", (unsigned long long)n, K);
            free(cnt);
        }
    int diff = 0, same = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        diff += rrr_fold_of(i, 1000, 5, 1) != rrr_fold_of(i, 1000, 5, 2);
        same += rrr_fold_of(i, 1000, 5, 1) == rrr_fold_of(i, 1000, 5, 1);
    }
    CHECK(same == 1000 && diff > 600, "folds: deterministic, and the seed matters (%d of 1000 moved)",
          diff);
    int run = 0;
    for (uint64_t i = 1; i < 1000; i++)
        run += rrr_fold_of(i, 1000, 5, 1) == rrr_fold_of(i - 1, 1000, 5, 1);
    CHECK(run < 350, "folds: not in blocks (%d of 999 neighbours share a fold)", run);
}

static void test_grids(void)
{
    rrr_err e = { RRR_OK, "" };
    int *r = NULL, n = 0;
    double *l = NULL;
    CHECK(rrr_cv_parse_ranks("3:6", 10, &r, &n, &e) == RRR_OK && n == 4 && r[0] == 3 && r[3] == 6,
          "grid: A:B");
    free(r);
    CHECK(rrr_cv_parse_ranks("5,2,5,1", 10, &r, &n, &e) == RRR_OK && n == 3 && r[0] == 1 &&
          r[2] == 5, "grid: a list, sorted, repeats dropped");
    free(r);
    static const char *badr[] = { "0", "11", "3:2", "a", "1,,2", "2:", "-1", "1:11", "" };
    for (size_t k = 0; k < sizeof badr / sizeof badr[0]; k++) {
        e.st = RRR_OK;
        CHECK(rrr_cv_parse_ranks(badr[k], 10, &r, &n, &e) == RRR_EINVAL, "grid: ranks '%s' refused",
              badr[k]);
    }
    CHECK(rrr_cv_parse_lambdas("0.01:100:5", &l, &n, &e) == RRR_OK && n == 5 && l[0] == 0.01 &&
          l[4] == 100 && fabs(l[2] - 1) < 1e-12 && fabs(l[1] - 0.1) < 1e-14, "grid: LO:HI:N in log");
    free(l);
    CHECK(rrr_cv_parse_lambdas("1,0,1e-310", &l, &n, &e) == RRR_OK && n == 3 && l[0] == 0 &&
          l[1] == 1e-310, "grid: a list with 0 and a subnormal");
    free(l);
    static const char *badl[] = { "-1", "1:0.5:3", "0:1:3", "1:2:1", "1:2", "x", "1,-2", "inf" };
    for (size_t k = 0; k < sizeof badl / sizeof badl[0]; k++) {
        e.st = RRR_OK;
        CHECK(rrr_cv_parse_lambdas(badl[k], &l, &n, &e) == RRR_EINVAL, "grid: lambdas '%s' refused",
              badl[k]);
    }
}

/* Both routes give the same truncation T_k = A Bv^T and the same mu, and T_k is the best
 * rank-k approximation (checked through ||T - T_k||^2 = ||T||^2 - sum mu). */
static void test_topk(void)
{
    const size_t shapes[][2] = { { 5, 40 }, { 30, 32 }, { 60, 6 } };
    for (size_t s = 0; s < 3; s++) {
        size_t p = shapes[s][0], q = shapes[s][1];
        int k = 3;
        double *T = malloc(p * q * sizeof *T), *A[2], *B[2], mu[2][3];
        for (size_t i = 0; i < p * q; i++)
            T[i] = rrr_rng_normal(5, 9, i, s);
        rrr_err e = { RRR_OK, "" };
        for (int r = 0; r < 2; r++) {
            A[r] = malloc(p * (size_t)k * sizeof(double));
            B[r] = malloc(q * (size_t)k * sizeof(double));
            CHECK(rrr_topk(r ? RRR_ROUTE_P : RRR_ROUTE_Q, p, q, k, T, A[r], B[r], mu[r], &e) == RRR_OK,
                  "topk %zu x %zu route %d runs", p, q, r);
        }
        double *Tk[2];
        for (int r = 0; r < 2; r++) {
            Tk[r] = malloc(p * q * sizeof(double));
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)p, (int)q, k, 1.0, A[r], (int)p,
                        B[r], (int)q, 0.0, Tk[r], (int)p);
        }
        double dmax = 0, tn = 0, rn = 0, mus = 0;
        for (size_t i = 0; i < p * q; i++) {
            dmax = fmax(dmax, fabs(Tk[0][i] - Tk[1][i]));
            tn += T[i] * T[i];
            rn += (T[i] - Tk[0][i]) * (T[i] - Tk[0][i]);
        }
        for (int j = 0; j < k; j++)
            mus += mu[0][j];
        CHECK(dmax < 1e-12 && fabs(mu[0][0] - mu[1][0]) < 1e-12 * mu[0][0] &&
              fabs(mu[0][2] - mu[1][2]) < 1e-12 * mu[0][0], "topk %zu x %zu: routes agree (%.1e)", p,
              q, dmax);
        CHECK(fabs(rn - (tn - mus)) < 1e-10 * tn && mu[0][0] >= mu[0][1] && mu[0][1] >= mu[0][2],
              "topk %zu x %zu: T_k is the best rank-k approximation", p, q);
        CHECK(rrr_topk_rank(k, mu[0], p < q ? p : q) == k, "topk: full numerical rank");
        for (int r = 0; r < 2; r++) {
            free(A[r]);
            free(B[r]);
            free(Tk[r]);
        }
        free(T);
    }
    double mu[3] = { 1.0, 1e-3, 1e-17 };
    CHECK(rrr_topk_rank(3, mu, 10) == 2, "topk: a value at rounding level does not count");
}

/* rrr_scan at widths around the vector width (c = 1..19) and heights 0..5: the first
 * non-finite entry (NaN, +Inf, -Inf, in the vector part and in the tail of a row), the
 * largest finite magnitude, and the column sums and squares against plain loops. */
static void test_scan(void)
{
    const double bad[3] = { NAN, INFINITY, -INFINITY };
    int fails = 0, cases = 0;
    for (size_t c = 1; c <= 19; c++)
        for (size_t m = 0; m <= 5; m++) {
            const size_t count = m * c;
            double *a = malloc((count + 1) * sizeof *a), sum[19], sq[19], rs[19], rq[19];
            double amax = 0, ref = 0;
            for (size_t k = 0; k < count; k++) {
                a[k] = rrr_rng_normal(7, 0, k, c) * ldexp(1.0, (int)(k % 7) - 3);
                ref = fmax(ref, fabs(a[k]));
            }
            for (size_t j = 0; j < c; j++) {
                sum[j] = sq[j] = 1.0; /* added to, not overwritten */
                rs[j] = rq[j] = 1.0;
            }
            for (size_t k = 0; k < count; k++) {
                rs[k % c] += a[k];
                rq[k % c] += a[k] * a[k];
            }
            size_t got = rrr_scan(a, m, c, sum, sq, &amax);
            int ok = got == count && amax == ref;
            for (size_t j = 0; j < c; j++)
                ok = ok && fabs(sum[j] - rs[j]) <= 1e-14 * (1 + fabs(rs[j])) &&
                     fabs(sq[j] - rq[j]) <= 1e-14 * rq[j];
            cases++;
            fails += !ok;
            for (size_t k = 0; k < count; k += 1 + count / 7) /* a bad value at k, k + 1 */
                for (int b = 0; b < 3; b++) {
                    const double keep = a[k];
                    double fin = 0, am = 0;
                    a[k] = bad[b];
                    if (k + 1 < count)
                        a[k + 1] = bad[(b + 1) % 3];
                    for (size_t i = 0; i < count; i++)
                        if (isfinite(a[i]))
                            fin = fmax(fin, fabs(a[i]));
                    got = rrr_scan(a, m, c, NULL, NULL, &am);
                    cases++;
                    fails += !(got == k && am == fin);
                    a[k] = keep;
                    if (k + 1 < count)
                        a[k + 1] = rrr_rng_normal(7, 0, k + 1, c) * ldexp(1.0, (int)((k + 1) % 7) - 3);
                }
            free(a);
        }
    CHECK(fails == 0, "scan: first non-finite, largest magnitude, sums and squares against "
          "plain loops (%d of %d cases wrong)", fails, cases);
}

int main(void)
{
    test_json();
    test_json_members();
    test_folds();
    test_grids();
    test_topk();
    test_scan();
    return test_summary();
}
