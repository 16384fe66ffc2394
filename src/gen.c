/* src/gen.c: `rrr gen`, synthetic problems keyed by (seed, global row, column), so the files
 * are byte-identical for any number of ranks.
 *
 *   X      n x p   X_ij ~ N(0, 1)                      stream 0
 *   U_true p x D   ~ N(0, 1/p)                         stream 2
 *   V_true q x D   ~ N(0, 1)                           stream 3
 *   E      n x q   ~ N(0, 1)                           stream 1
 *   Y = X U_true V_true^T + noise * E
 * With these scales each entry of X U_true has unit variance, so the signal in each
 * entry of Y has variance about D against noise^2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "check.h"
#include "comm.h"
#include "npy.h"
#include "output.h"
#include "rng.h"

/* Local. My rows of X (row-major nloc x p) and Y (nloc x q). The products use a fixed
 * summation order instead of BLAS: Y must be bitwise the same for any rank count and any
 * BLAS threading, and generation (n(p+q) normal deviates) costs more than these flops. */
static void gen_rows(size_t r0, size_t nloc, size_t p, size_t q, int d, double noise,
                     uint64_t seed, const double *Ut, const double *Vt, double *X, double *Y,
                     double *t)
{
    for (size_t il = 0; il < nloc; il++) {
        uint64_t i = r0 + il;
        double *x = X + il * p, *y = Y + il * q;
        for (size_t j = 0; j < p; j++)
            x[j] = rrr_rng_normal(seed, RRR_STREAM_X, i, j);
        for (int k = 0; k < d; k++)
            t[k] = 0.0;
        for (size_t j = 0; j < p; j++) /* t = U_true^T x */
            for (int k = 0; k < d; k++)
                t[k] += Ut[j * (size_t)d + (size_t)k] * x[j];
        for (size_t j = 0; j < q; j++) { /* y = V_true t + noise e */
            double s = 0.0;
            for (int k = 0; k < d; k++)
                s += Vt[j * (size_t)d + (size_t)k] * t[k];
            y[j] = s + noise * rrr_rng_normal(seed, RRR_STREAM_E, i, j);
        }
    }
}

/* Local. The arguments of rrr_gen (replicated: the same verdict on every rank). */
static rrr_status check_gen(rrr_err *e, size_t n, size_t p, size_t q, int d, double noise,
                            const char *dir)
{
    if (n < 1 || p < 1 || q < 1)
        return RRR_FAIL(e, RRR_EINVAL, "gen: --n, --p and --q must be at least 1");
    rrr_status st = rrr_check_rank(e, d, p, q);
    if (st != RRR_OK)
        return st;
    if (!(noise >= 0) || !isfinite(noise))
        return RRR_FAIL(e, RRR_EINVAL, "gen: --noise %g must be a finite number >= 0", noise);
    if (dir == NULL)
        return RRR_FAIL(e, RRR_EINVAL, "gen: no output directory");
    return RRR_OK;
}

rrr_status rrr_gen(rrr_ctx *ctx, size_t n, size_t p, size_t q, int d, double noise,
                   uint64_t seed, const char *dir)
{
    rrr_status cst = check_gen(&ctx->err, n, p, q, d, noise, dir);
    if (cst != RRR_OK)
        return rrr_agree(ctx, cst);
    struct { size_t r0, nloc; } pt;
    rrr_partition(n, ctx->size, ctx->rank, &pt.r0, &pt.nloc);
    rrr_outset o;
    char path[4][PATH_MAX];
    const char *tmp[4] = { NULL, NULL, NULL, NULL };
    static const char *names[4] = { "X.npy", "Y.npy", "U_true.npy", "V_true.npy" };
    double *Ut = rrr_malloc(p * (size_t)d, sizeof(double)); /* row-major p x D */
    double *Vt = rrr_malloc(q * (size_t)d, sizeof(double)); /* row-major q x D */
    double *X = rrr_malloc(pt.nloc * p, sizeof(double));
    double *Y = rrr_malloc(pt.nloc * q, sizeof(double));
    double *t = rrr_malloc((size_t)d, sizeof(double));
    rrr_status st = RRR_OK;

    rrr_outset_init(ctx, &o);
    if (!Ut || !Vt || !X || !Y || !t)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "gen: out of memory for %zu rows", pt.nloc);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_mkdir(ctx, dir, "--out");
    if (st != RRR_OK)
        goto done;
    for (int k = 0; k < 4; k++) {
        int len = snprintf(path[k], PATH_MAX, "%s/%s", dir, names[k]);
        tmp[k] = len > 0 && len < PATH_MAX ? rrr_outset_add(&o, path[k]) : NULL;
        if (tmp[k] == NULL)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "--out %s: path too long", dir);
    }
    if (st != RRR_OK) /* same on every rank: depends only on dir */
        goto done;

    double sp = 1.0 / sqrt((double)p);
    for (size_t j = 0; j < p; j++)
        for (int k = 0; k < d; k++)
            Ut[j * (size_t)d + (size_t)k] = sp * rrr_rng_normal(seed, RRR_STREAM_U, j, (uint64_t)k);
    for (size_t j = 0; j < q; j++)
        for (int k = 0; k < d; k++)
            Vt[j * (size_t)d + (size_t)k] = rrr_rng_normal(seed, RRR_STREAM_V, j, (uint64_t)k);

    double t0 = rrr_phase_begin();
    gen_rows(pt.r0, pt.nloc, p, q, d, noise, seed, Ut, Vt, X, Y, t);
    rrr_phase_end(ctx, RRR_T_COMPUTE, t0);

    st = rrr_npy_write_rows(ctx, tmp[0], n, p, pt.r0, pt.nloc, X);
    if (st == RRR_OK)
        st = rrr_npy_write_rows(ctx, tmp[1], n, q, pt.r0, pt.nloc, Y);
    if (st == RRR_OK)
        st = rrr_npy_write_small(ctx, tmp[2], p, (size_t)d, Ut);
    if (st == RRR_OK)
        st = rrr_npy_write_small(ctx, tmp[3], q, (size_t)d, Vt);
done:
    st = rrr_outset_finish(ctx, &o, st);
    free(Ut);
    free(Vt);
    free(X);
    free(Y);
    free(t);
    return st;
}
