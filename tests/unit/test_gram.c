/* tests/unit/test_gram.c: the Gram pass of any width (kernels.c rrr_pass_gram_k) against
 * plain loops, Xc^T Xc M with and without centring, for widths 1, d, and wider than a row
 * panel; rrr_pass_gram (width d) is the same call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "kernels.h"

static void test_width(int centred, size_t n, int k)
{
    enum { P = 11, D = 3 };
    unsigned st = 7u + (unsigned)k;
    double *X = malloc(n * P * sizeof *X); /* row-major n x P = column-major Xt */
    double *M = malloc((size_t)P * k * sizeof *M), *got = malloc((size_t)P * k * sizeof *got);
    double *want = calloc((size_t)P * k, sizeof *want), xm[P];
    for (size_t i = 0; i < n * P; i++)
        X[i] = test_rnd(&st) * (1 + (double)(i % P)) + (centred ? 5 : 0); /* uneven column scales */
    for (int i = 0; i < P * k; i++)
        M[i] = test_rnd(&st);
    for (int j = 0; j < P; j++) {
        xm[j] = 0;
        for (size_t i = 0; i < n; i++)
            xm[j] += X[i * P + j] / (double)n;
    }
    rrr_problem pb = { .n = n, .p = P, .q = 2, .nloc = n, .d = D, .lambda = 0, .Xt = X,
                       .xm = centred ? xm : NULL };
    double *work = malloc(rrr_pass_gram_work(&pb, k) * sizeof *work);
    rrr_pass_gram_k(&pb, M, k, got, work);
    /* Xc^T (Xc M) by definition, row by row */
    for (size_t i = 0; i < n; i++) {
        double x[P];
        for (int j = 0; j < P; j++)
            x[j] = X[i * P + j] - (centred ? xm[j] : 0);
        for (int c = 0; c < k; c++) {
            double e = 0;
            for (int j = 0; j < P; j++)
                e += x[j] * M[j + (size_t)c * P];
            for (int j = 0; j < P; j++)
                want[j + (size_t)c * P] += x[j] * e;
        }
    }
    CHECK(test_maxdiff((size_t)P * k, got, want) < 1e-13, "gram pass %s n=%zu k=%d: Xc^T Xc M",
          centred ? "centred" : "plain", n, k);
    if (k == D) { /* the width-d pass is the same call */
        double *g2 = malloc((size_t)P * D * sizeof *g2);
        double *w2 = malloc(rrr_pass_work(&pb) * sizeof *w2);
        rrr_pass_gram(&pb, M, g2, w2);
        CHECK(memcmp(g2, got, (size_t)P * D * sizeof *g2) == 0, "rrr_pass_gram = width d");
        free(g2);
        free(w2);
    }
    free(X);
    free(M);
    free(got);
    free(want);
    free(work);
}

int main(void)
{
    const int widths[] = { 1, 3, 70 };
    for (int c = 0; c < 2; c++)
        for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
            test_width(c, 1, widths[w]);
            test_width(c, 150, widths[w]); /* several row panels and a partial one */
        }
    return test_summary();
}
