/* src/gradcheck.c: analytic gradients against central differences at a random point.
 * Along any direction f is a polynomial of degree 4 in the step t, so the central
 * difference D(h) = (f(t=h) - f(-h)) / 2h = f'(0) + c3 h^2 exactly, and the Richardson
 * combination (4 D(h) - D(2h)) / 3 removes the h^2 term: what remains is rounding only,
 * which a generous h keeps small. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "gradient.h"
#include "rng.h"
#include "stream.h"

/* Local. max(a, b) that keeps a NaN (fmax drops it: a NaN error must not read as 0). */
static double nan_max(double a, double b)
{
    return (isnan(a) || isnan(b)) ? (double)NAN : (a > b ? a : b);
}

/* Collective. f at (U + t dU, V + t dV). */
static rrr_status f_at(rrr_ctx *ctx, const rrr_problem *pb, const double *U, const double *V,
                       const double *dU, const double *dV, double t, double *Ut, double *Vt,
                       double *f)
{
    size_t pd = pb->p * (size_t)pb->d, qd = pb->q * (size_t)pb->d;
    memcpy(Ut, U, pd * sizeof *Ut);
    memcpy(Vt, V, qd * sizeof *Vt);
    cblas_daxpy((int)pd, t, dU, 1, Ut, 1);
    cblas_daxpy((int)qd, t, dV, 1, Vt, 1);
    return rrr_evaluate(ctx, pb, Ut, Vt, f, NULL, NULL);
}

rrr_status rrr_gradcheck(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y, int d,
                         double lambda, uint64_t seed, double *max_rel_error)
{
    if (ctx == NULL || max_rel_error == NULL)
        return RRR_EINVAL;
    *max_rel_error = NAN;
    if (X == NULL || Y == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_gradcheck: no X or no Y");
    rrr_status st = X->n == Y->n ? RRR_OK
                                 : RRR_FAIL(&ctx->err, RRR_EINVAL, "X has %zu rows but Y has %zu",
                                            X->n, Y->n);
    if (st == RRR_OK)
        st = rrr_check_rank(&ctx->err, d, X->ncols, Y->ncols);
    if (st == RRR_OK && (!(lambda >= 0) || !isfinite(lambda)))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "lambda %g: must be a finite number >= 0 (--lambda)",
                      lambda);
    if (st == RRR_OK)
        st = rrr_check_int_sizes(&ctx->err, X->ncols, Y->ncols, d);
    if (st != RRR_OK)
        return rrr_agree(ctx, st); /* replicated facts: the same verdict on every rank */
    rrr_problem pb = { .n = X->n, .p = X->ncols, .q = Y->ncols, .d = d, .lambda = lambda,
                       .Xt = X->a, .Yt = Y->a };
    rrr_input *IX = NULL, *IY = NULL; /* the rows' split checked as rrr_fit checks it */
    st = rrr_agree(ctx, rrr_input_mem(ctx, X, &IX));
    if (st == RRR_OK)
        st = rrr_agree(ctx, rrr_input_mem(ctx, Y, &IY));
    if (st == RRR_OK)
        st = rrr_input_share(ctx, IX, IY, &pb.r0, &pb.nloc);
    rrr_input_close(&IX);
    rrr_input_close(&IY);
    if (st != RRR_OK)
        return st;
    size_t pd = pb.p * (size_t)d, qd = pb.q * (size_t)d, m = pd + qd;
    double *x = rrr_malloc(m, sizeof *x);         /* the point (U | V)           */
    double *g = rrr_malloc(m, sizeof *g);         /* analytic (gU | gV)           */
    double *dir = rrr_calloc(m, sizeof *dir);     /* perturbation direction       */
    double *xt = rrr_malloc(m, sizeof *xt);
    st = (x && g && dir && xt) ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    *max_rel_error = 0;
    if (st != RRR_OK)
        goto done;
    /* A random point of unit-variance entries, the same on every rank. */
    for (size_t k = 0; k < m; k++)
        x[k] = rrr_rng_normal(seed, RRR_STREAM_GRADCHECK, k, 0);
    double f0;
    st = rrr_evaluate(ctx, &pb, x, x + pd, &f0, g, g + pd);
    if (st != RRR_OK)
        goto done;
    double gmax = 0;
    for (size_t k = 0; k < m; k++)
        gmax = nan_max(gmax, fabs(g[k]));
    if (!isfinite(f0) || !isfinite(gmax)) {
        st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "gradcheck: the objective or its gradient is not "
                      "finite at the test point (f = %g): the data are too large for doubles", f0);
        goto done; /* replicated: f0 and g come from allreduced sums */
    }
    /* All coordinates when there are few; otherwise 64 of them spread evenly, plus 8
     * random directions (which involve every coordinate at once). */
    size_t ncoord = m <= 256 ? m : 64, ndir = 8;
    double h = 1e-3; /* entries are O(1): truncation is removed, rounding ~ eps f / h */
    for (size_t c = 0; c < ncoord + ndir && st == RRR_OK; c++) {
        double an;
        if (c < ncoord) {
            size_t k = m <= 256 ? c : (c * m) / ncoord;
            memset(dir, 0, m * sizeof *dir);
            dir[k] = 1.0;
            an = g[k];
        } else {
            for (size_t k = 0; k < m; k++)
                dir[k] = rrr_rng_normal(seed, RRR_STREAM_GRADCHECK + 1 + c, k, 0) / sqrt((double)m);
            an = cblas_ddot((int)m, g, 1, dir, 1);
        }
        double fp1, fm1, fp2, fm2;
        st = f_at(ctx, &pb, x, x + pd, dir, dir + pd, h, xt, xt + pd, &fp1);
        if (st == RRR_OK) st = f_at(ctx, &pb, x, x + pd, dir, dir + pd, -h, xt, xt + pd, &fm1);
        if (st == RRR_OK) st = f_at(ctx, &pb, x, x + pd, dir, dir + pd, 2 * h, xt, xt + pd, &fp2);
        if (st == RRR_OK) st = f_at(ctx, &pb, x, x + pd, dir, dir + pd, -2 * h, xt, xt + pd, &fm2);
        if (st != RRR_OK)
            break;
        double d1 = (fp1 - fm1) / (2 * h), d2 = (fp2 - fm2) / (4 * h);
        double fd = (4 * d1 - d2) / 3;
        /* relative to the derivative itself, or to 1e-3 of the largest gradient entry for
         * components that are nearly zero (their relative error means nothing) */
        double rel = fabs(fd - an) / fmax(fabs(an), 1e-3 * gmax);
        *max_rel_error = nan_max(*max_rel_error, rel);
    }
    if (st == RRR_OK && !isfinite(*max_rel_error))
        st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "gradcheck: the finite differences are not finite "
                      "(max relative error %g): the data are too large for doubles",
                      *max_rel_error);
done:
    free(x);
    free(g);
    free(dir);
    free(xt);
    return rrr_agree(ctx, st);
}
