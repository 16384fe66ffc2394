/* src/cv_gd.c: `rrr cv` when the statistics do not fit (large p): gd fits on the training
 * rows of each fold, for each rank warm-started along the lambda path from the largest
 * lambda, and each fold's error from one residual pass over its own rows.
 *
 * No copy of the data: each rank reorders its rows once so that they come fold by fold
 * (an in-place permutation), and before fold k is validated rotates its block so that fold
 * k's rows come first: the training rows are then the contiguous rest, which the passes
 * take as they are. K rotations bring the block back to the fold order, and the inverse
 * permutation to the caller's order. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cv.h"
#include "kernels.h"
#include "fit.h"
#include "model.h"
#include "plan.h"
#include "solvers.h"

/* Local. Swap rows i and j of the row-major blocks X (p wide) and Y (q wide). */
static void swap_rows(double *X, double *Y, size_t p, size_t q, size_t i, size_t j, double *t)
{
    memcpy(t, X + i * p, p * sizeof *t);
    memcpy(X + i * p, X + j * p, p * sizeof *t);
    memcpy(X + j * p, t, p * sizeof *t);
    memcpy(t, Y + i * q, q * sizeof *t);
    memcpy(Y + i * q, Y + j * q, q * sizeof *t);
    memcpy(Y + j * q, t, q * sizeof *t);
}

static void reverse_rows(double *X, double *Y, size_t p, size_t q, size_t lo, size_t hi,
                         double *t)
{
    while (lo + 1 < hi) /* [lo, hi) */
        swap_rows(X, Y, p, q, lo++, --hi, t);
}

/* Local. Rotate rows [0, n) left by m (the reversal algorithm: no buffer but one row). */
static void rotate_rows(double *X, double *Y, size_t p, size_t q, size_t n, size_t m, double *t)
{
    if (m == 0 || m >= n)
        return;
    reverse_rows(X, Y, p, q, 0, m, t);
    reverse_rows(X, Y, p, q, m, n, t);
    reverse_rows(X, Y, p, q, 0, n, t);
}

/* Local. Row i becomes the old row perm[i], in place, by cycles (one row of X and Y
 * held aside: tx, ty). */
static void permute_rows(double *X, double *Y, size_t p, size_t q, const size_t *perm, size_t n,
                         unsigned char *seen, double *tx, double *ty)
{
    memset(seen, 0, n);
    for (size_t s = 0; s < n; s++) {
        if (seen[s] || perm[s] == s)
            continue;
        memcpy(tx, X + s * p, p * sizeof *tx);
        memcpy(ty, Y + s * q, q * sizeof *ty);
        size_t i = s;
        for (;;) {
            size_t j = perm[i];
            seen[i] = 1;
            if (j == s) {
                memcpy(X + i * p, tx, p * sizeof *tx);
                memcpy(Y + i * q, ty, q * sizeof *ty);
                break;
            }
            memcpy(X + i * p, X + j * p, p * sizeof *tx);
            memcpy(Y + i * q, Y + j * q, q * sizeof *ty);
            i = j;
        }
    }
}

typedef struct {
    size_t *perm;          /* my rows in fold order: perm[i] = original row at position i */
    size_t *inv;           /* its inverse                                                 */
    unsigned char *seen;
    double *row, *row2;    /* one row of X or Y, twice                                    */
    size_t *mk;            /* my rows per fold                                            */
    double *U, *V;         /* the current fit (p x D, q x D)                              */
    double *At, *sums, *work;
} gd_cv_ws;

static void ws_free(gd_cv_ws *w)
{
    free(w->perm);
    free(w->inv);
    free(w->seen);
    free(w->row);
    free(w->row2);
    free(w->mk);
    free(w->U);
    free(w->V);
    free(w->At);
    free(w->sums);
    free(w->work);
}

static const int *fold_of_row; /* qsort has no context argument */
static int by_fold(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int fi = fold_of_row[i], fj = fold_of_row[j];
    return fi != fj ? (fi > fj) - (fi < fj) : (i > j) - (i < j);
}

/* Collective. My rows sorted by fold, in place (the problem's X, Y are written: the
 * caller's order comes back at the end). */
static rrr_status sort_rows(rrr_cv_run *cv, gd_cv_ws *w)
{
    const rrr_problem *pb = cv->pb;
    const size_t n = pb->nloc, D = (size_t)cv->D;
    w->perm = rrr_malloc(n, sizeof *w->perm);
    w->inv = rrr_malloc(n, sizeof *w->inv);
    w->seen = rrr_malloc(n, 1);
    w->row = rrr_malloc(pb->p > pb->q ? pb->p : pb->q, sizeof(double));
    w->row2 = rrr_malloc(pb->q, sizeof(double));
    w->mk = rrr_calloc((size_t)cv->K, sizeof *w->mk);
    w->U = rrr_malloc(pb->p * D, sizeof(double));
    w->V = rrr_malloc(pb->q * D, sizeof(double));
    rrr_status st = w->perm && w->inv && w->seen && w->row && w->row2 && w->mk && w->U && w->V
                        ? RRR_OK
                        : RRR_FAIL(&cv->ctx->err, RRR_EINTERNAL, "cv: out of memory");
    st = rrr_agree(cv->ctx, st);
    if (st != RRR_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        w->perm[i] = i;
        w->mk[cv->fold[i]]++;
    }
    fold_of_row = cv->fold;
    qsort(w->perm, n, sizeof *w->perm, by_fold);
    for (size_t i = 0; i < n; i++)
        w->inv[w->perm[i]] = i;
    permute_rows((double *)pb->Xt, (double *)pb->Yt, pb->p, pb->q, w->perm, n, w->seen, w->row,
                 w->row2);
    return RRR_OK;
}

/* Collective. ||Y_k - 1 ym^T - (X_k - 1 xm^T) U V^T||^2 over fold k's rows (the first mk of
 * mine), with the training means xm, ym: one residual pass and one allreduce. */
static rrr_status validation_sse(rrr_cv_run *cv, gd_cv_ws *w, const rrr_problem *pv,
                                 double *sse)
{
    const size_t len = rrr_pass_g_len(pv);
    free(w->At);
    free(w->sums);
    free(w->work);
    w->At = rrr_malloc(pv->nloc * (size_t)pv->d, sizeof(double));
    w->sums = rrr_malloc(len, sizeof(double));
    w->work = rrr_malloc(rrr_pass_work(pv), sizeof(double));
    rrr_status st = w->At && w->sums && w->work
                        ? RRR_OK
                        : RRR_FAIL(&cv->ctx->err, RRR_EINTERNAL, "cv: out of memory");
    st = rrr_agree(cv->ctx, st);
    if (st != RRR_OK)
        return st;
    double t0 = rrr_phase_begin();
    rrr_pass_g(pv, w->U, w->V, w->At, w->sums, w->work);
    rrr_phase_end(cv->ctx, RRR_T_COMPUTE, t0);
    *sse = w->sums[len - 1];
    rrr_allreduce_sum(cv->ctx, sse, 1);
    return RRR_OK;
}

/* Collective. One gd fit of the training problem at (d, lambda), warm-started from w->U,
 * w->V when warm; its U, V (p x d, q x d) left in w->U, w->V; count[0] += its iterations,
 * count[1] += 1 if it did not converge. */
static rrr_status train(rrr_cv_run *cv, gd_cv_ws *w, const rrr_problem *pt, int d, double lambda,
                        int warm, long count[2])
{
    rrr_ctx *ctx = cv->ctx;
    rrr_fit_opts fo = cv->o->fit;
    fo.d = d;
    fo.lambda = lambda;
    fo.solver = RRR_SOLVER_GD;
    fo.certificate = RRR_CERT_OFF;
    fo.U0 = warm ? w->U : NULL;
    fo.V0 = warm ? w->V : NULL;
    rrr_problem p = *pt;
    p.d = d;
    p.lambda = lambda;
    rrr_machine mach = rrr_machine_of(ctx);
    rrr_plan plan;
    rrr_plan_make(&mach, p.n, p.p, p.q, d, &fo, &plan);
    rrr_model *m = NULL;
    rrr_fit_info *info = NULL;
    rrr_status st = rrr_model_new(ctx, p.n, p.p, p.q, d, lambda, fo.intercept, &m);
    if (st == RRR_OK)
        st = rrr_fit_info_new(ctx, &plan, p.yy, &info);
    if (st == RRR_OK) {
        int quiet = ctx->quiet;
        ctx->quiet = ctx->nested = 1; /* K x ranks x lambdas fits: progress per fold instead */
        st = rrr_solve_gd(ctx, &p, &fo, &plan, m, info);
        ctx->quiet = quiet;
        ctx->nested = 0;
    }
    if (st == RRR_OK) {
        memcpy(w->U, m->U, p.p * (size_t)d * sizeof(double));
        memcpy(w->V, m->V, p.q * (size_t)d * sizeof(double));
        count[0] += info->iterations;
        count[1] += !info->converged;
    }
    rrr_fit_info_destroy(&info);
    rrr_model_destroy(&m);
    return st;
}

/* Collective. Fold k (my first mk rows): for each rank, gd along the lambda path from the
 * largest lambda, warm-started, and the fold's error at each. */
static rrr_status fold(rrr_cv_run *cv, gd_cv_ws *w, int k, size_t mk, size_t nk,
                       long count[2])
{
    rrr_ctx *ctx = cv->ctx;
    const rrr_problem *pb = cv->pb;
    const int nl = cv->o->nlambdas, nr = cv->o->nranks;
    rrr_problem pt = *pb, pv = *pb;
    double *xm = NULL, *ym = NULL;
    pt.Xt = pb->Xt + mk * pb->p;
    pt.Yt = pb->Yt + mk * pb->q;
    pt.nloc = pb->nloc - mk;
    pt.n = pb->n - nk;
    pt.xm = pt.ym = NULL;
    if (cv->o->lambdas[0] == 0 && pt.n < pb->p)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "cv: lambda 0 with a training set of %zu rows < "
                        "p = %zu (fold %d held out): use lambdas > 0", pt.n, pb->p, k);
    rrr_status st = rrr_column_stats(ctx, &pt, cv->o->fit.intercept, 0, &xm, &ym);
    pt.xm = pv.xm = xm; /* the training means, for the fit and for its predictions */
    pt.ym = pv.ym = ym;
    pv.nloc = mk;
    pv.n = nk;
    double *sse = cv->sse + (size_t)k * (size_t)nr * (size_t)nl;
    for (int r = 0; r < nr && st == RRR_OK; r++)
        for (int l = nl - 1; l >= 0 && st == RRR_OK; l--) {
            st = train(cv, w, &pt, cv->o->ranks[r], cv->o->lambdas[l], l < nl - 1, count);
            pv.d = cv->o->ranks[r];
            if (st == RRR_OK)
                st = validation_sse(cv, w, &pv, &sse[(size_t)r * nl + l]);
        }
    free(xm);
    free(ym);
    return st;
}

rrr_status rrr_cv_gd_search(rrr_cv_run *cv, rrr_cv_result *res)
{
    rrr_ctx *ctx = cv->ctx;
    const rrr_problem *pb = cv->pb;
    gd_cv_ws w = { 0 };
    long count[2] = { 0, 0 }; /* iterations, fits that did not converge */
    double t0 = rrr_elapsed(ctx);
    rrr_status st = sort_rows(cv, &w);
    if (st != RRR_OK) {
        ws_free(&w);
        return st;
    }
    if (cv->o->fit.tol > 1e-12)
        rrr_warn(ctx, "cv: gd fits stop at --tol %g: their validation errors are ~%.0e relative "
                 "from the exact ones (--tol 1e-14: ~1e-7)", cv->o->fit.tol, sqrt(cv->o->fit.tol));
    double *X = (double *)pb->Xt, *Y = (double *)pb->Yt;
    int k = 0;
    for (; k < cv->K && st == RRR_OK; k++) {
        st = fold(cv, &w, k, w.mk[k], (size_t)res->fold_sizes[k], count);
        rotate_rows(X, Y, pb->p, pb->q, pb->nloc, w.mk[k], w.row); /* fold k + 1 first */
        rrr_flags fl = rrr_flags_agree(ctx, RRR_OK);
        if (st == RRR_OK && fl.stop)
            st = RRR_FAIL(&ctx->err, RRR_ESTOPPED, "cv: stopped by a signal; nothing was written");
        if (st == RRR_OK)
            rrr_info(ctx, "cv: fold %d of %d done by gd (%d ranks x %d lambdas, %ld iterations "
                     "so far), %.2f s", k + 1, cv->K, res->nranks, res->nlambdas, count[0],
                     rrr_elapsed(ctx) - t0);
    }
    for (; k < cv->K; k++) /* after a failure: the rotations complete the cycle */
        rotate_rows(X, Y, pb->p, pb->q, pb->nloc, w.mk[k], w.row);
    permute_rows(X, Y, pb->p, pb->q, w.inv, pb->nloc, w.seen, w.row, w.row2);
    res->passes = 0;
    snprintf(res->method, sizeof res->method, "gd");
    res->gd_iterations = count[0];
    res->gd_not_converged = count[1];
    if (st == RRR_OK && count[1] > 0)
        rrr_warn(ctx, "cv: %ld of the %ld gd fits stopped at --max-iter %ld before converging: "
                 "their validation errors, and so the table and the choice, are those of "
                 "unfinished fits (cv.json gd_fits_not_converged); raise --max-iter, or use "
                 "--cv-method statistics", count[1],
                 (long)cv->K * res->nranks * res->nlambdas, cv->o->fit.max_iter);
    ws_free(&w);
    return st;
}
