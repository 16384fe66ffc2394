/* tests/unit/test_core.c: serial tests of the partition, the generator's counter RNG, the
 * allocator's fault injection, the small dense algebra and the two row passes (against
 * plain triple loops on a small problem, with and without centring). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "alloc.h"
#include "kernels.h"
#include "linalg.h"
#include "rng.h"

/* rank r's rows of n over K */
static void part(size_t n, int K, int r, size_t *r0, size_t *nloc)
{
    CHECK(rrr_partition(n, K, r, r0, nloc) == RRR_OK, "partition n=%zu K=%d r=%d accepted", n,
          K, r);
}

static void test_partition(void)
{
    size_t r0, nloc;
    /* every row owned exactly once, in order, blocks of ceil(n/K), trailing ranks short */
    for (size_t n = 0; n < 40; n++)
        for (int K = 1; K <= 9; K++) {
            size_t next = 0, b = (n + (size_t)K - 1) / (size_t)K;
            int ok = 1;
            for (int r = 0; r < K; r++) {
                part(n, K, r, &r0, &nloc);
                ok &= r0 == (next < n ? next : n) && nloc <= b;
                next = r0 + nloc;
                if (nloc < b)
                    for (int s = r + 1; s < K; s++) {
                        size_t s0, sn;
                        part(n, K, s, &s0, &sn);
                        ok &= sn == 0 || nloc == 0 ? 1 : 0;
                    }
            }
            CHECK(ok && next == n, "partition n=%zu K=%d covers every row once", n, K);
        }
    part(10, 4, 3, &r0, &nloc); /* b = 3: ranks own 3, 3, 3, 1 */
    CHECK(r0 == 9 && nloc == 1, "partition 10 over 4: last rank owns row 9");
    part(2, 4, 3, &r0, &nloc);
    CHECK(nloc == 0 && r0 == 2, "partition 2 over 4: rank 3 owns nothing");
    CHECK(rrr_partition(5, 0, 0, &r0, &nloc) == RRR_EINVAL && nloc == 0, "partition K = 0 refused");
    CHECK(rrr_partition(5, 2, 2, &r0, &nloc) == RRR_EINVAL, "partition r >= K refused");
    size_t big = (size_t)1 << 62;
    part(big, 3, 2, &r0, &nloc);
    CHECK(r0 + nloc == big, "partition of 2^62 rows over 3 ends at n (no overflow)");
}

static void test_rng(void)
{
    double s = 0, s2 = 0;
    const int N = 200000;
    for (int i = 0; i < N; i++) {
        double x = rrr_rng_normal(7, 0, (uint64_t)i / 100, (uint64_t)i % 100);
        s += x;
        s2 += x * x;
    }
    double mean = s / N, var = s2 / N - mean * mean;
    CHECK(fabs(mean) < 0.01 && fabs(var - 1) < 0.02, "rng: mean %.4f var %.4f", mean, var);
    CHECK(rrr_rng_normal(1, 2, 3, 4) == rrr_rng_normal(1, 2, 3, 4), "rng: deterministic");
    CHECK(rrr_rng_normal(1, 2, 3, 4) != rrr_rng_normal(2, 2, 3, 4), "rng: seed matters");
    CHECK(rrr_rng_normal(1, 2, 3, 4) != rrr_rng_normal(1, 2, 4, 3), "rng: (i, j) not symmetric");
}

static void test_alloc(void)
{
    rrr_alloc_fail_after(2);
    void *a = rrr_malloc(10, 8), *b = rrr_malloc(10, 8), *c = rrr_malloc(10, 8);
    CHECK(a != NULL && b == NULL && c != NULL, "alloc: exactly the 2nd call fails");
    free(a);
    free(c);
    CHECK(rrr_malloc(SIZE_MAX / 2, 4) == NULL, "alloc: size overflow is NULL");
    void *z = rrr_malloc(0, 8);
    CHECK(z != NULL, "alloc: zero elements still gives a pointer (ranks with no rows)");
    free(z);
}

static void test_linalg(void)
{
    enum { P = 7, Q = 5, D = 3 };
    unsigned st = 1;
    double U[P * D], V[Q * D], B0[P * Q], B1[P * Q];
    for (int k = 0; k < P * D; k++) U[k] = test_rnd(&st);
    for (int k = 0; k < Q * D; k++) V[k] = test_rnd(&st);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, P, Q, D, 1, U, P, V, Q, 0, B0, P);
    rrr_err e = { RRR_OK, "" };
    CHECK(rrr_canonicalize(P, Q, D, U, V, &e) == RRR_OK, "canonicalize runs");
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, P, Q, D, 1, U, P, V, Q, 0, B1, P);
    CHECK(test_maxdiff(P * Q, B1, B0) < 1e-14, "canonicalize keeps U V^T");
    double VtV[D * D], UtU[D * D];
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, D, D, Q, 1, V, Q, V, Q, 0, VtV, D);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, D, D, P, 1, U, P, U, P, 0, UtU, D);
    double off = 0;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            off = fmax(off, fabs(VtV[i + j * D] - (i == j)));
            if (i != j)
                off = fmax(off, fabs(UtU[i + j * D]) / UtU[0]);
        }
    CHECK(off < 1e-14, "canonicalize: V orthonormal, U columns orthogonal");
    CHECK(UtU[0] >= UtU[4] && UtU[4] >= UtU[8], "canonicalize: decreasing column norms");

    /* B H^+ for a singular H: the component along the null vector is dropped */
    double H[4] = { 1, 1, 1, 1 }, Bm[2] = { 2, 0 }; /* H = [1 1; 1 1], B = [2 0] */
    CHECK(rrr_solve_right_psd(2, H, 1, Bm, &e) == RRR_OK, "solve_right_psd singular");
    CHECK(fabs(Bm[0] - 0.5) < 1e-14 && fabs(Bm[1] - 0.5) < 1e-14, "pseudo-inverse [2 0] H^+ = [.5 .5]");
    double H2[4] = { 4, 1, 1, 3 }, B2[2] = { 1, 2 }; /* x H = b: x = b H^-1 */
    rrr_solve_right_psd(2, H2, 1, B2, &e);
    CHECK(fabs(4 * B2[0] + B2[1] - 1) < 1e-14 && fabs(B2[0] + 3 * B2[1] - 2) < 1e-14, "Cholesky solve");
}

/* The passes against direct formulas: A = Xc U, R = A V^T - Yc, X^T R V, Y^T A, A^T A, ||R||^2;
 * E = Xc D, E^T E, A^T E, Y^T E. */
static void test_passes(int centred, size_t n)
{
    enum { P = 9, Q = 6, D = 2 };
    unsigned st = 3;
    double *X = malloc(n * P * sizeof *X), *Y = malloc(n * Q * sizeof *Y); /* row-major */
    double U[P * D], V[Q * D], Dm[P * D], xm[P], ym[Q];
    for (size_t k = 0; k < n * P; k++) X[k] = test_rnd(&st) + (centred ? 3 : 0);
    for (size_t k = 0; k < n * Q; k++) Y[k] = test_rnd(&st) - (centred ? 2 : 0);
    for (int k = 0; k < P * D; k++) { U[k] = test_rnd(&st); Dm[k] = test_rnd(&st); }
    for (int k = 0; k < Q * D; k++) V[k] = test_rnd(&st);
    for (int j = 0; j < P; j++) { xm[j] = 0; for (size_t i = 0; i < n; i++) xm[j] += X[i * P + j] / (double)n; }
    for (int j = 0; j < Q; j++) { ym[j] = 0; for (size_t i = 0; i < n; i++) ym[j] += Y[i * Q + j] / (double)n; }
    rrr_problem pb = { .n = n, .p = P, .q = Q, .nloc = n, .d = D, .lambda = 0.5, .Xt = X, .Yt = Y,
                       .xm = centred ? xm : NULL, .ym = centred ? ym : NULL };
    double *At = malloc(n * D * sizeof *At), *work = malloc(rrr_pass_work(&pb) * sizeof *work);
    double *g = malloc(rrr_pass_g_len(&pb) * sizeof *g), *b = malloc(rrr_pass_b_len(&pb) * sizeof *b);
    rrr_pass_g(&pb, U, V, At, g, work);
    rrr_pass_b(&pb, Dm, At, b, work);

    /* the same by definition, with plain loops */
    double XRV[P * D] = { 0 }, YA[Q * D] = { 0 }, AA[D * D] = { 0 }, rss = 0;
    double EE[D * D] = { 0 }, AE[D * D] = { 0 }, YE[Q * D] = { 0 };
    for (size_t i = 0; i < n; i++) {
        double x[P], y[Q], a[D] = { 0 }, e[D] = { 0 }, r[Q], rv[D] = { 0 };
        for (int j = 0; j < P; j++) x[j] = X[i * P + j] - (centred ? xm[j] : 0);
        for (int j = 0; j < Q; j++) y[j] = Y[i * Q + j] - (centred ? ym[j] : 0);
        for (int k = 0; k < D; k++)
            for (int j = 0; j < P; j++) { a[k] += x[j] * U[j + k * P]; e[k] += x[j] * Dm[j + k * P]; }
        for (int j = 0; j < Q; j++) {
            r[j] = -y[j];
            for (int k = 0; k < D; k++) r[j] += a[k] * V[j + k * Q];
            rss += r[j] * r[j];
            for (int k = 0; k < D; k++) { rv[k] += r[j] * V[j + k * Q]; YA[j + k * Q] += y[j] * a[k]; YE[j + k * Q] += y[j] * e[k]; }
        }
        for (int k = 0; k < D; k++) {
            for (int j = 0; j < P; j++) XRV[j + k * P] += x[j] * rv[k];
            for (int l = 0; l < D; l++) { AA[k + l * D] += a[k] * a[l]; EE[k + l * D] += e[k] * e[l]; AE[k + l * D] += a[k] * e[l]; }
        }
    }
    const char *c = centred ? "centred" : "plain";
    CHECK(test_maxdiff(P * D, g, XRV) < 1e-13, "pass G %s n=%zu: X^T R V", c, n);
    CHECK(test_maxdiff(Q * D, g + P * D, YA) < 1e-13, "pass G %s n=%zu: Y^T A", c, n);
    CHECK(test_maxdiff(D * D, g + P * D + Q * D, AA) < 1e-13, "pass G %s n=%zu: A^T A", c, n);
    CHECK(fabs(g[P * D + Q * D + D * D] - rss) <= 1e-13 * rss, "pass G %s n=%zu: ||R||^2", c, n);
    CHECK(test_maxdiff(D * D, b, EE) < 1e-13, "pass B %s n=%zu: E^T E", c, n);
    CHECK(test_maxdiff(D * D, b + D * D, AE) < 1e-13, "pass B %s n=%zu: A^T E", c, n);
    CHECK(test_maxdiff(Q * D, b + 2 * D * D, YE) < 1e-13, "pass B %s n=%zu: Y^T E", c, n);
    free(X); free(Y); free(At); free(work); free(g); free(b);
}

int main(void)
{
    test_partition();
    test_rng();
    test_alloc();
    test_linalg();
    for (int c = 0; c < 2; c++) {
        test_passes(c, 1);
        test_passes(c, 150); /* several row panels and a partial one */
    }
    return test_summary();
}
