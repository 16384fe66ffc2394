/* tests/unit/test_kernel.c: the Gram pass and C^T U, C V in every kernel this CPU runs
 * (blas, avx2, avx512: kernels.h rrr_kernel) against plain loops, at sizes that are not
 * multiples of the vector width or of the tiles (p, k, rows), with and without centring,
 * on a rank with no rows; the fused kernels' results do not depend on their tuning knobs
 * (panel rows, chunk length, prefetching: bitwise), and the choice of kernel by
 * RRR_KERNEL and CPU features. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "kernels.h"
#include "rrr_base.h"

/* max |a - b| / max |b| (0 when both are 0) */
static double reldiff(size_t n, const double *a, const double *b)
{
    double m = 0, s = 0;
    for (size_t k = 0; k < n; k++) {
        m = fmax(m, fabs(a[k] - b[k]));
        s = fmax(s, fabs(b[k]));
    }
    return s > 0 ? m / s : m;
}

/* Xc^T Xc M by definition, row by row (long double sums: a reference, not a rival) */
static void gram_loops(size_t n, size_t p, int k, const double *X, const double *xm,
                       const double *M, double *out)
{
    long double *acc = calloc(p * (size_t)k, sizeof *acc);
    double *x = malloc((p > 0 ? p : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < p; j++)
            x[j] = X[i * p + j] - (xm ? xm[j] : 0);
        for (int c = 0; c < k; c++) {
            long double e = 0;
            for (size_t j = 0; j < p; j++)
                e += (long double)x[j] * M[j + (size_t)c * p];
            for (size_t j = 0; j < p; j++)
                acc[j + (size_t)c * p] += (long double)x[j] * e;
        }
    }
    for (size_t t = 0; t < p * (size_t)k; t++)
        out[t] = (double)acc[t];
    free(acc);
    free(x);
}

static const rrr_kernel all[] = { RRR_KERNEL_BLAS, RRR_KERNEL_AVX2, RRR_KERNEL_AVX512 };

/* The Gram pass of width k on n rows of p columns in every kernel, against the loops;
 * tol: relative to the largest entry (sums of n p products of O(1) numbers). */
static void gram_case(size_t n, size_t p, int k, int centred)
{
    unsigned st = 11u + (unsigned)(n * 131 + p * 7 + (size_t)k);
    double *X = malloc((n * p > 0 ? n * p : 1) * sizeof *X), *xm = malloc(p * sizeof *xm);
    double *M = malloc(p * (size_t)k * sizeof *M), *want = malloc(p * (size_t)k * sizeof *want);
    double *got = malloc(p * (size_t)k * sizeof *got);
    for (size_t t = 0; t < n * p; t++)
        X[t] = test_rnd(&st) * (1 + (double)(t % 5)) + (centred ? 3 : 0);
    for (size_t t = 0; t < p * (size_t)k; t++)
        M[t] = test_rnd(&st);
    for (size_t j = 0; j < p; j++) {
        xm[j] = 0;
        for (size_t i = 0; i < n; i++)
            xm[j] += X[i * p + j] / (double)n;
    }
    gram_loops(n, p, k, X, centred ? xm : NULL, M, want);
    rrr_problem pb = { .n = n, .p = p, .q = 1, .nloc = n, .d = k, .Xt = X,
                       .xm = centred ? xm : NULL };
    double *work = malloc(rrr_pass_gram_work(&pb, k) * sizeof *work);
    for (size_t a = 0; a < sizeof all / sizeof all[0]; a++) {
        if (!rrr_kernel_supported(all[a]))
            continue;
        rrr_kernel_set(all[a]);
        memset(got, 0xff, p * (size_t)k * sizeof *got); /* NaN: every entry must be written */
        rrr_pass_gram_k(&pb, M, k, got, work);
        double e = reldiff(p * (size_t)k, got, want);
        CHECK(e < 1e-13, "%s gram n=%zu p=%zu k=%d%s: rel. error %.1e",
              rrr_kernel_name(all[a]), n, p, k, centred ? " centred" : "", e);
        if (n == 0) {
            int zero = 1;
            for (size_t t = 0; t < p * (size_t)k; t++)
                zero = zero && got[t] == 0;
            CHECK(zero, "%s gram on a rank with no rows: exactly 0", rrr_kernel_name(all[a]));
        }
    }
    free(work);
    free(X);
    free(xm);
    free(M);
    free(want);
    free(got);
}

/* The fused kernels give the same bits whatever their knobs: panel rows, chunk length,
 * prefetching (the arithmetic order depends on the vector width only). */
static void knobs_case(size_t n, size_t p, int k)
{
    unsigned st = 5u;
    double *X = malloc(n * p * sizeof *X), *M = malloc(p * (size_t)k * sizeof *M);
    double *ref = malloc(p * (size_t)k * sizeof *ref), *got = malloc(p * (size_t)k * sizeof *got);
    for (size_t t = 0; t < n * p; t++)
        X[t] = test_rnd(&st);
    for (size_t t = 0; t < p * (size_t)k; t++)
        M[t] = test_rnd(&st);
    rrr_problem pb = { .n = n, .p = p, .q = 1, .nloc = n, .d = k, .Xt = X };
    const rrr_gram_knobs knobs[] = { { 0, 0, 0 }, { 4, 0, 0 }, { 12, 40, 1 }, { 64, 8, -1 },
                                     { 200, 1000, 0 } };
    for (int kn = RRR_KERNEL_AVX2; kn <= RRR_KERNEL_AVX512; kn++) {
        if (!rrr_kernel_supported((rrr_kernel)kn))
            continue;
        rrr_kernel_set((rrr_kernel)kn);
        int same = 1;
        for (size_t t = 0; t < sizeof knobs / sizeof knobs[0]; t++) {
            rrr_gram_knobs_set(&knobs[t]);
            double *work = malloc(rrr_pass_gram_work(&pb, k) * sizeof *work);
            rrr_pass_gram_k(&pb, M, k, t == 0 ? ref : got, work);
            if (t > 0)
                same = same && memcmp(ref, got, p * (size_t)k * sizeof *got) == 0;
            free(work);
        }
        CHECK(same, "%s gram n=%zu p=%zu k=%d: bitwise the same for every knob",
              rrr_kernel_name((rrr_kernel)kn), n, p, k);
    }
    const rrr_gram_knobs none = { 0, 0, 0 };
    rrr_gram_knobs_set(&none);
    free(X);
    free(M);
    free(ref);
    free(got);
}

/* A tuner (kernels.h rrr_gram_tuner) times each candidate shape (twice) and then keeps the
 * fastest: every call gives the untuned pass's bits, in the workspace rrr_pass_work sizes
 * (the largest candidate panel included), with and without centring. */
static void tuner_case(size_t n, size_t p, int k, int centred)
{
    unsigned st = 9u;
    double *X = malloc(n * p * sizeof *X), *M = malloc(p * (size_t)k * sizeof *M);
    double *xm = malloc(p * sizeof *xm);
    double *ref = malloc(p * (size_t)k * sizeof *ref), *got = malloc(p * (size_t)k * sizeof *got);
    for (size_t t = 0; t < n * p; t++)
        X[t] = test_rnd(&st);
    for (size_t t = 0; t < p * (size_t)k; t++)
        M[t] = test_rnd(&st);
    for (size_t t = 0; t < p; t++)
        xm[t] = test_rnd(&st);
    rrr_problem pb = { .n = n, .p = p, .q = 1, .nloc = n, .d = k, .Xt = X,
                       .xm = centred ? xm : NULL };
    for (int kn = RRR_KERNEL_BLAS; kn <= RRR_KERNEL_AVX512; kn++) {
        if (!rrr_kernel_supported((rrr_kernel)kn))
            continue;
        rrr_kernel_set((rrr_kernel)kn);
        double *work = malloc(rrr_pass_work(&pb) * sizeof *work);
        rrr_pass_gram(&pb, M, ref, work);
        rrr_gram_tuner t = { 0 };
        int same = 1, shapes = 1, nb0 = 0;
        size_t kc0 = 0;
        for (int c = 0; c < RRR_GRAM_SHAPES * RRR_GRAM_ROUNDS + 3; c++) {
            int nb;
            size_t kc;
            rrr_gram_tuner_shape(&t, &nb, &kc);
            if (c == RRR_GRAM_SHAPES * RRR_GRAM_ROUNDS) {
                nb0 = nb;
                kc0 = kc;
            }
            shapes = shapes && (c <= RRR_GRAM_SHAPES * RRR_GRAM_ROUNDS || (nb == nb0 && kc == kc0));
            memset(got, 0xff, p * (size_t)k * sizeof *got);
            rrr_pass_gram_tuned(&pb, M, got, work, &t);
            same = same && memcmp(ref, got, p * (size_t)k * sizeof *got) == 0;
        }
        const int tuned = kn != RRR_KERNEL_BLAS;
        CHECK(same, "%s tuned gram n=%zu p=%zu k=%d%s: every call bitwise the untuned pass",
              rrr_kernel_name((rrr_kernel)kn), n, p, k, centred ? " centred" : "");
        int fastest = 1;
        for (int c = 0; c < RRR_GRAM_SHAPES; c++)
            fastest = fastest && t.seconds[t.best] <= t.seconds[c];
        CHECK(!tuned || (t.tried == RRR_GRAM_SHAPES * RRR_GRAM_ROUNDS && t.best >= 0 &&
                         t.best < RRR_GRAM_SHAPES && fastest && shapes),
              "%s tuner: %d shapes timed, then the fastest (%d) kept", rrr_kernel_name((rrr_kernel)kn),
              t.tried, t.best);
        CHECK(tuned || t.tried == 0, "blas: nothing to tune");
        free(work);
    }
    free(X);
    free(M);
    free(xm);
    free(ref);
    free(got);
}

/* C^T U (q x d) and C V (p x d) in every kernel, with either output skipped, and by
 * shares of C's columns (K = 2, 3, 5 ranks' parts, some empty when q < K): the rows of
 * C^T U assembled and the parts of C V summed give the whole, and each share leaves the
 * other rows of C^T U as they were */
static void cross_case(size_t p, size_t q, int d)
{
    unsigned st = 3u + (unsigned)(p + q + (size_t)d);
    double *C = malloc(p * q * sizeof *C), *U = malloc(p * (size_t)d * sizeof *U);
    double *V = malloc(q * (size_t)d * sizeof *V);
    double *ctu = malloc(q * (size_t)d * sizeof *ctu), *cv = malloc(p * (size_t)d * sizeof *cv);
    double *ctu0 = calloc(q * (size_t)d, sizeof *ctu0), *cv0 = calloc(p * (size_t)d, sizeof *cv0);
    double *work = malloc(rrr_cross_products_work(p, q, d) * sizeof *work);
    for (size_t t = 0; t < p * q; t++)
        C[t] = test_rnd(&st);
    for (size_t t = 0; t < p * (size_t)d; t++)
        U[t] = test_rnd(&st);
    for (size_t t = 0; t < q * (size_t)d; t++)
        V[t] = test_rnd(&st);
    for (int c = 0; c < d; c++)
        for (size_t j = 0; j < q; j++)
            for (size_t i = 0; i < p; i++) {
                ctu0[j + c * q] += C[i + j * p] * U[i + c * p];
                cv0[i + c * p] += C[i + j * p] * V[j + c * q];
            }
    for (size_t a = 0; a < sizeof all / sizeof all[0]; a++) {
        if (!rrr_kernel_supported(all[a]))
            continue;
        rrr_kernel_set(all[a]);
        rrr_cross_products(p, q, 0, q, d, C, U, V, ctu, cv, work);
        double e1 = reldiff(q * (size_t)d, ctu, ctu0), e2 = reldiff(p * (size_t)d, cv, cv0);
        CHECK(e1 < 1e-13 && e2 < 1e-13, "%s C^T U, C V p=%zu q=%zu d=%d: %.1e %.1e",
              rrr_kernel_name(all[a]), p, q, d, e1, e2);
        double *keep = malloc(q * (size_t)d * sizeof *keep);
        memcpy(keep, ctu, q * (size_t)d * sizeof *keep);
        memset(ctu, 0, q * (size_t)d * sizeof *ctu);
        rrr_cross_products(p, q, 0, q, d, C, U, NULL, ctu, NULL, work);
        CHECK(memcmp(keep, ctu, q * (size_t)d * sizeof *ctu) == 0,
              "%s C^T U alone = C^T U with C V", rrr_kernel_name(all[a]));
        const int ks[3] = { 2, 3, 5 };
        double *part = malloc(p * (size_t)d * sizeof *part);
        for (int t = 0; t < 3; t++) {
            int kept = 1;
            for (size_t k = 0; k < q * (size_t)d; k++)
                ctu[k] = NAN; /* rows no share writes stay NaN */
            memset(cv, 0, p * (size_t)d * sizeof *cv);
            for (int r = 0; r < ks[t]; r++) {
                size_t j0, len;
                rrr_partition(q, ks[t], r, &j0, &len);
                rrr_cross_products(p, q, j0, j0 + len, d, C, U, V, ctu, part, work);
                for (size_t k = 0; k < p * (size_t)d; k++)
                    cv[k] += part[k];
                for (int c = 0; c < d; c++) /* the rows after this share: not yet written */
                    for (size_t j = j0 + len; j < q; j++)
                        kept = kept && isnan(ctu[j + c * q]);
            }
            e1 = reldiff(q * (size_t)d, ctu, ctu0);
            e2 = reldiff(p * (size_t)d, cv, cv0);
            CHECK(kept && e1 < 1e-13 && e2 < 1e-13, "%s C^T U, C V by %d shares p=%zu q=%zu "
                  "d=%d: %.1e %.1e", rrr_kernel_name(all[a]), ks[t], p, q, d, e1, e2);
        }
        free(part);
        free(keep);
    }
    free(C);
    free(U);
    free(V);
    free(ctu);
    free(cv);
    free(ctu0);
    free(cv0);
    free(work);
}

int main(void)
{
    /* the kernel choice: RRR_KERNEL (or the measured default: avx512 where the CPU has
     * it, else blas) at the first use, then by rrr_kernel_set, clamped to the CPU */
    const char *env = getenv("RRR_KERNEL");
    rrr_kernel want = rrr_kernel_supported(RRR_KERNEL_AVX512) ? RRR_KERNEL_AVX512 : RRR_KERNEL_BLAS;
    CHECK(rrr_kernel_default() == want, "the default is %s", rrr_kernel_name(want));
    if (env != NULL && strcmp(env, "blas") == 0)
        want = RRR_KERNEL_BLAS;
    else if (env != NULL && strcmp(env, "avx2") == 0)
        want = RRR_KERNEL_AVX2;
    else if (env != NULL && strcmp(env, "avx512") == 0)
        want = RRR_KERNEL_AVX512;
    while (!rrr_kernel_supported(want))
        want = (rrr_kernel)(want - 1);
    CHECK(rrr_kernel_get() == want, "the first choice is %s (RRR_KERNEL=%s)", rrr_kernel_name(want),
          env ? env : "unset");
    CHECK(strcmp(rrr_kernel_name(RRR_KERNEL_AVX512), "avx512") == 0 &&
              strcmp(rrr_kernel_name(RRR_KERNEL_AVX2), "avx2") == 0 &&
              strcmp(rrr_kernel_name(RRR_KERNEL_BLAS), "blas") == 0,
          "kernel names");
    CHECK(rrr_kernel_supported(RRR_KERNEL_BLAS), "blas always runs");
    rrr_kernel got = rrr_kernel_set(RRR_KERNEL_AVX512);
    CHECK(rrr_kernel_supported(got) && rrr_kernel_get() == got &&
              (got == RRR_KERNEL_AVX512) == rrr_kernel_supported(RRR_KERNEL_AVX512),
          "asking for avx512 gives the widest this CPU runs (%s)", rrr_kernel_name(got));
    if (!rrr_kernel_supported(RRR_KERNEL_AVX512))
        CHECK(rrr_kernel_set(RRR_KERNEL_AVX512) != RRR_KERNEL_AVX512, "no avx512 where absent");

    const size_t ps[] = { 1, 3, 7, 8, 9, 15, 17, 31, 33, 40, 63, 65, 100, 261 };
    const int ks[] = { 1, 2, 3, 5, 6, 7, 10, 11, 13, 20, 33 };
    const size_t ns[] = { 0, 1, 3, 5, 63, 64, 65, 130 };
    for (size_t a = 0; a < sizeof ps / sizeof ps[0]; a++)
        for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++)
            gram_case(ns[(a + b) % (sizeof ns / sizeof ns[0])], ps[a], ks[b], (int)((a + b) % 2));
    for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++)
        gram_case(ns[c], 13, 4, (int)(c % 2)); /* every row count, a small odd p */
    gram_case(300, 501, 10, 1);                /* several panels and chunks, p = 4 mod 8 */
    gram_case(40, 1030, 20, 0);                /* wide rows: more chunks than panels */
    knobs_case(300, 501, 10);
    tuner_case(300, 501, 10, 1); /* more rows than the largest candidate panel, p = 5 mod 8 */
    tuner_case(30, 1030, 7, 0);  /* fewer rows than most panels, several chunks */
    tuner_case(0, 9, 3, 0);      /* a rank with no rows */
    knobs_case(77, 37, 7);
    const size_t cq[][3] = { { 1, 1, 1 }, { 7, 5, 3 }, { 33, 70, 10 }, { 100, 31, 20 },
                             { 257, 65, 6 } };
    for (size_t t = 0; t < sizeof cq / sizeof cq[0]; t++)
        cross_case(cq[t][0], cq[t][1], (int)cq[t][2]);
    return test_summary();
}
