/* src/cv_stats.c: the statistics of every fold from one pass over my rows. Rows of fold k
 * are gathered (centred at the global means with an intercept: the fold sums of centred
 * values stay small, so shifting to a training set's own means later cancels nothing) into
 * panels of up to RB rows, which go through dsyrk and dgemm: n (p^2 + 2pq) / K_ranks flops
 * in all, as one statistics pass of `rrr fit`. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cv.h"
#include "linalg.h"

size_t rrr_cv_flen(size_t p, size_t q) { return p * p + p * q + p + q + 2; }

rrr_cv_fold rrr_cv_fold_at(double *r, size_t p, size_t q)
{
    rrr_cv_fold f = { r, r + p * p, r + p * p + p * q, r + p * p + p * q + p,
                      r + p * p + p * q + p + q, r + p * p + p * q + p + q + 1 };
    return f;
}

/* Local. Add a panel of nr gathered rows (xb: p x nr, yb: q x nr, centred) to fold f. */
static void add_panel(const rrr_problem *pb, rrr_cv_fold *f, const double *xb, const double *yb,
                      int nr)
{
    const int p = (int)pb->p, q = (int)pb->q;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, p, nr, 1.0, xb, p, 1.0, f->G, p);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, q, nr, 1.0, xb, p, yb, q, 1.0, f->C, p);
    for (int r = 0; r < nr; r++) {
        const double *x = xb + (size_t)r * pb->p, *y = yb + (size_t)r * pb->q;
        double t = 0.0;
        for (size_t j = 0; j < pb->p; j++)
            f->sx[j] += x[j];
        for (size_t j = 0; j < pb->q; j++) {
            f->sy[j] += y[j];
            t += y[j] * y[j];
        }
        *f->yy += t;
    }
    *f->n += nr;
}

/* Local. Fold k's sums over my rows (k < 0: all my rows), through panels xb, yb of rb rows. */
static void local_fold(const rrr_cv_run *cv, int k, rrr_cv_fold *f, double *xb, double *yb,
                       size_t rb)
{
    const rrr_problem *pb = cv->pb;
    size_t nr = 0;
    for (size_t il = 0; il < pb->nloc; il++) {
        if (k >= 0 && cv->fold[il] != k)
            continue;
        const double *x = pb->Xt + il * pb->p, *y = pb->Yt + il * pb->q;
        double *xd = xb + nr * pb->p, *yd = yb + nr * pb->q;
        for (size_t j = 0; j < pb->p; j++)
            xd[j] = x[j] - (pb->xm ? pb->xm[j] : 0.0);
        for (size_t j = 0; j < pb->q; j++)
            yd[j] = y[j] - (pb->ym ? pb->ym[j] : 0.0);
        if (++nr == rb) {
            add_panel(pb, f, xb, yb, (int)nr);
            nr = 0;
        }
    }
    if (nr > 0)
        add_panel(pb, f, xb, yb, (int)nr);
}

/* Collective. Sum a fold's region over ranks: the upper triangle of G packed to the front
 * in place, the rest moved behind it, one allreduce, unpacked (as stats.c does). */
static void allreduce_fold(rrr_ctx *ctx, double *r, size_t p, size_t q)
{
    const size_t npk = p * (p + 1) / 2, rest = p * q + p + q + 2;
    for (size_t j = 0; j < p; j++) /* destination never passes a source not yet moved */
        memmove(r + j * (j + 1) / 2, r + j * p, (j + 1) * sizeof(double));
    memmove(r + npk, r + p * p, rest * sizeof(double));
    rrr_allreduce_sum(ctx, r, npk + rest);
    memmove(r + p * p, r + npk, rest * sizeof(double));
    for (size_t j = p; j-- > 0;)
        memmove(r + j * p, r + j * (j + 1) / 2, (j + 1) * sizeof(double));
}

rrr_status rrr_cv_stats(rrr_cv_run *cv, int k0, int k1)
{
    rrr_ctx *ctx = cv->ctx;
    const rrr_problem *pb = cv->pb;
    const size_t p = pb->p, q = pb->q, flen = rrr_cv_flen(p, q);
    /* panels of at most 16 MB (2^21 doubles), at least 16 rows: rank-16+ updates run near
     * the BLAS-3 rate */
    size_t rb = ((size_t)1 << 21) / (p + q);
    rb = rb < 16 ? 16 : rb > 512 ? 512 : rb;
    double *xb = rrr_malloc(rb * p, sizeof(double)), *yb = rrr_malloc(rb * q, sizeof(double));
    rrr_status st = xb && yb ? RRR_OK
                             : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: out of memory for panels");
    st = rrr_agree(ctx, st);
    double *tot = cv->stats + (size_t)cv->group * flen;
    /* k0 == k1: the totals alone (a pass of their own when the folds come in groups) */
    for (int k = k0; k < (k0 == k1 ? k0 + 1 : k1) && st == RRR_OK; k++) {
        double *r = k0 == k1 ? tot : cv->stats + (size_t)(k - k0) * flen;
        rrr_cv_fold f = rrr_cv_fold_at(r, p, q);
        memset(r, 0, flen * sizeof(double));
        double t0 = rrr_phase_begin();
        local_fold(cv, k0 == k1 ? -1 : k, &f, xb, yb, rb);
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
        allreduce_fold(ctx, r, p, q);
    }
    if (st == RRR_OK && k1 - k0 == cv->K) { /* totals = the sum of the folds */
        memset(tot, 0, flen * sizeof(double));
        for (int k = 0; k < cv->K; k++)
            cblas_daxpy((int)flen, 1.0, cv->stats + (size_t)k * flen, 1, tot, 1);
    }
    free(xb);
    free(yb);
    return st;
}
