/* src/solve_exact.c: closed-form reduced-rank ridge regression from X^T X and X^T Y
 * (Izenman 1975; Mukherjee & Zhu 2011, "Reduced rank ridge regression").
 *
 *   B_R = (G + lambda I)^{-1} C,   M = C^T B_R (q x q, symmetric PSD),
 *   W = top-d eigenvectors of M,  B* = B_R W W^T,  U = B_R W, V = W (V orthonormal; the
 *   caller canonicalises the pair anyway), f* = ||Y||^2 - sum_{i<=d} mu_i(M).
 * With G + lambda I = R^T R (Cholesky) and T = R^{-T} C we form M = T^T T (dsyrk: exactly
 * symmetric, PSD up to rounding) and U = R^{-1} (T W), which solves with d right-hand sides
 * instead of q. f* = yy - <B*, C>*2 + <B*, (G+lambda I) B*> collapses to yy - sum mu_i since
 * <B*, C> = <B*, (G+lambda I) B*> = tr(W^T M W). The single subtraction is the only
 * cancellation (the sum adds non-negative terms, smallest first): f* carries an absolute
 * error of a few eps * yy, i.e. it loses log10(yy / f*) digits. No formula on the
 * statistics alone can do better (they know the residual only to eps * yy), which is why
 * the reported objective comes from a direct residual pass (rrr_evaluate) and tests check
 * f* against it.
 *
 * Regimes (README "Memory"; chosen by the plan, plan.c, the same on every rank):
 *   replicated  when p < P and 8 (p^2 + 3pq + 2m^2) bytes (m = min(p, q)) <= 1/4 of the
 *               memory per rank, where P = --grid-min-p (default 4096) and the memory per
 *               rank is physical memory (or the cgroup v2 limit, if smaller) over the ranks
 *               on the node. Local dsyrk + dgemm over my rows (stats.c), one allreduce of
 *               [G | C | yy], then LAPACK on every rank.
 *   2-D grid    otherwise: a near-square nprow x npcol = K BLACS grid, square blocks
 *               nb = min(64, max(2, p / 2K)). X^T and Y^T move from the row layout to the
 *               grid in panels of nc rows of X (pdgemr2d; nc a multiple of nb*npcol with
 *               about 32 MB of panel per rank), accumulated by pdsyrk / pdgemm; then
 *               pdpotrf, pdtrsm, pdsyrk, pdsyev (all eigenpairs; see exact_grid), pdgemm,
 *               pdtrsm; U and V are gathered to every rank at the end.
 * Why 4096: there the replicated G is 128 MB per rank and its O(p^3) factorisation ~1 s on
 * every rank, duplicated K times; the grid splits both K ways.
 *
 * Per-rank memory in doubles, besides two panels of rows and U, V (plan.c, README
 * "Memory per rank"):
 *   replicated  exact: p^2 + 3pq + 2m^2 (G, C, the pilot's C2, one more p x q at a time:
 *               the pass's C^T, the transposed T or the final evaluation's product)
 *   grid        exact: (p^2 + pq + 2m^2 + pd)/K + the panels + ScaLAPACK workspace
 *               (pdsyev: about m^2/K + O(m nb)); nothing n-sized, no full p x p array.
 *               als: (p^2 + pq)/K + the panels once, then O((p + q) d) per iteration. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fortran.h"
#include "gram.h"
#include "linalg.h"
#include "model.h"
#include "solvers.h"
#include "topk.h"

/* Local. The p route with q > p from T^T = C^T R^{-1} (q x p): OpenBLAS solves with R from
 * the right of a q x p matrix at twice the rate it solves from the left of the p x q one
 * (16 against 9 GFLOP/s at p = 200, q = 20000), which pays for the transposition. */
static rrr_status topd_transposed(rrr_ctx *ctx, rrr_gram *gr, int d, double *U, double *V,
                                  double *w)
{
    const int p = (int)gr->p, q = (int)gr->q;
    double *Tt = rrr_malloc(gr->p * gr->q, sizeof(double));
    if (Tt == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "exact: out of memory (%d x %d)", q, p);
    if (gr->T != NULL) { /* the QR's whitened X^T Y */
        rrr_transpose(gr->p, gr->q, gr->T, Tt);
    } else {
        rrr_transpose(gr->p, gr->q, gr->C, Tt);
        cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, q, p,
                    1.0, gr->R, p, Tt, q);
    }
    rrr_status st = rrr_topk_pt(gr->p, gr->q, d, Tt, U, V, w, &ctx->err);
    free(Tt);
    return st;
}

/* Local (identical on every rank). Replicated regime of rrr_gram_exact: T = R^{-T} C, its
 * top-d factors T_d = A V^T by the route (topk.c), U = R^{-1} A; w gets mu_1 .. mu_d. */
rrr_status rrr_gram_topd(rrr_ctx *ctx, rrr_gram *gr, int d, int keep_C, double *U, double *V,
                         double *w)
{
    const rrr_route route = gr->route;
    const int p = (int)gr->p, q = (int)gr->q;
    if (route == RRR_ROUTE_P && gr->q > gr->p) {
        rrr_status st = topd_transposed(ctx, gr, d, U, V, w);
        if (st == RRR_OK) /* U = R^{-1} A = B_R W */
            cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, p, d,
                        1.0, gr->R, p, U, p);
        return st;
    }
    const int copy = keep_C || gr->T != NULL; /* the QR's T is kept for the evaluation */
    double *T = copy ? rrr_malloc(gr->p * gr->q, sizeof(double)) : gr->C;
    if (T == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "exact: out of memory (%d x %d)", p, q);
    if (copy)
        memcpy(T, gr->T != NULL ? gr->T : gr->C, gr->p * gr->q * sizeof(double));
    if (gr->T == NULL)
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, p, q, 1.0,
                    gr->R, p, T, p);
    rrr_status st = rrr_topk(route, gr->p, gr->q, d, T, U, V, w, &ctx->err);
    if (st == RRR_OK) /* U = R^{-1} A = B_R W */
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, p, d, 1.0,
                    gr->R, p, U, p);
    if (copy)
        free(T);
    return st;
}

/* Collective. Grid regime of rrr_gram_exact: the same steps with PBLAS/ScaLAPACK; the
 * eigenproblem of order m = p or q by the route, U and V gathered to every rank. */
static rrr_status exact_grid(rrr_ctx *ctx, rrr_gram *gr, int d, int keep_C, rrr_route route,
                             double *U, double *V, double *w)
{
    rrr_status st = RRR_OK;
    const rrr_grid *g = gr->g;
    const int p = (int)gr->p, q = (int)gr->q, one = 1;
    const int m = route == RRR_ROUTE_P ? p : q, jw = m - d + 1;
    const double alpha = 1.0, beta = 0.0;
    rrr_dmat Tc = { 0 }, S = { 0 }, Z = { 0 }, Ud = { 0 }, Vd = { 0 };
    rrr_dmat *T = keep_C ? &Tc : &gr->Cd;
    double *wall = rrr_malloc((size_t)m, sizeof(double));
    if (wall == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "exact: out of memory");
    if (st == RRR_OK && keep_C) {
        st = rrr_dmat_init(g, p, q, &Tc, &ctx->err);
        if (st == RRR_OK)
            memcpy(Tc.a, gr->Cd.a,
                   (size_t)Tc.desc[8] * (size_t)(Tc.nloc > 0 ? Tc.nloc : 1) * sizeof(double));
    }
    if (st == RRR_OK)
        st = rrr_dmat_init(g, m, m, &S, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, m, m, &Z, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, p, d, &Ud, &ctx->err);
    if (st == RRR_OK && route == RRR_ROUTE_P)
        st = rrr_dmat_init(g, q, d, &Vd, &ctx->err);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto done;
    pdtrsm_("L", "U", "T", "N", &p, &q, &alpha, gr->Rd.a, &one, &one, gr->Rd.desc, T->a, &one,
            &one, T->desc, 1, 1, 1, 1);
    /* S = T^T T (q route) or T T^T (p route), then its top d eigenvectors Z(:, jw:m) */
    pdsyrk_("U", route == RRR_ROUTE_P ? "N" : "T", &m, route == RRR_ROUTE_P ? &q : &p, &alpha,
            T->a, &one, &one, T->desc, &beta, S.a, &one, &one, S.desc, 1, 1);
    st = rrr_dmat_syev(ctx, m, &S, &Z, wall);
    if (st != RRR_OK)
        goto done;
    if (route == RRR_ROUTE_Q) { /* V = W, U = R^{-1} (T W) */
        pdgemm_("N", "N", &p, &d, &q, &alpha, T->a, &one, &one, T->desc, Z.a, &one, &jw, Z.desc,
                &beta, Ud.a, &one, &one, Ud.desc, 1, 1);
    } else { /* U = R^{-1} u, V = T^T u */
        /* a copy across block alignments (columns jw.. to 1..): pdgemr2d, not pdlacpy */
        pdgemr2d_(&p, &d, Z.a, &one, &jw, Z.desc, Ud.a, &one, &one, Ud.desc, &g->ctxt);
        pdgemm_("T", "N", &q, &d, &p, &alpha, T->a, &one, &one, T->desc, Z.a, &one, &jw, Z.desc,
                &beta, Vd.a, &one, &one, Vd.desc, 1, 1);
    }
    pdtrsm_("L", "U", "N", "N", &p, &d, &alpha, gr->Rd.a, &one, &one, gr->Rd.desc, Ud.a, &one,
            &one, Ud.desc, 1, 1, 1, 1);
    rrr_dmat_gather(ctx, g, &Ud, 0, d, U, gr->p);
    if (route == RRR_ROUTE_Q)
        rrr_dmat_gather(ctx, g, &Z, q - d, d, V, gr->q);
    else
        rrr_dmat_gather(ctx, g, &Vd, 0, d, V, gr->q);
    rrr_reverse_columns(gr->p, d, U);
    rrr_reverse_columns(gr->q, d, V);
    for (int k = 0; k < d; k++)
        w[k] = wall[m - 1 - k];
done:
    rrr_dmat_free(&Tc);
    rrr_dmat_free(&S);
    rrr_dmat_free(&Z);
    rrr_dmat_free(&Ud);
    rrr_dmat_free(&Vd);
    free(wall);
    return st;
}

/* Collective. f* from the exact quadratic of gr (the pilot's or the QR's) at the
 * closed form U V^T, in place of *fstar = yy - sum mu_i when it lies within that one's error
 * band *err (a closed form computed from poor statistics could sit above the optimum) and
 * its own bound is the smaller;
 * *err becomes the evaluation's own rounding: f(B) = f0 - 2 <C2, B - B0> + ||R (B - B0)||^2
 * cancels at most f0 (the pilot's f, within a small factor of f*), rr + ||T - R11 B||^2
 * nothing, and a sum of squared residuals r = y - x b, each known to ~eps |y|, is known to
 * ~eps sqrt(f yy) (what matters when f* is far below yy). Without a quadratic, or when it
 * fails (memory), both stay. */
static void evaluated_fstar(rrr_ctx *ctx, rrr_gram *gr, int d, const double *U,
                            const double *V, double *fstar, double *err)
{
    double fe = NAN;
    if (gr->grid || (!gr->have_pilot && gr->T == NULL))
        return;
    rrr_status st = rrr_agree(ctx, rrr_gram_evaluate(ctx, gr, d, U, V, &fe, NULL, NULL));
    if (st != RRR_OK) { /* agreed, so every rank clears the same recorded failure */
        ctx->err.st = RRR_OK;
        ctx->err.msg[0] = '\0';
        return;
    }
    const double f = (fe > 0 ? fe : 0.0) + (gr->T != NULL ? 0.0 : fabs(gr->f0));
    const double fe_err = RRR_GAP_ABS_EPS * DBL_EPSILON * (f + sqrt(f * gr->yy));
    if (!isfinite(fe) || fe > *fstar + *err || !(fe_err < *err))
        return; /* (a pilot far off the optimum, f0 >> yy, is no better) */
    *fstar = fe > 0 ? fe : 0.0;
    *err = fe_err;
}

rrr_status rrr_gram_exact(rrr_ctx *ctx, rrr_gram *gr, int d, int keep_C, double *U, double *V,
                          double *fstar, double *fstar_err)
{
    rrr_status st = RRR_OK;
    double *w = rrr_malloc((size_t)d, sizeof *w), err = NAN;
    *fstar = NAN;
    if (fstar_err != NULL)
        *fstar_err = NAN;
    if (w == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "exact: out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    double t0 = rrr_phase_begin();
    if (gr->grid)
        st = exact_grid(ctx, gr, d, keep_C, gr->route, U, V, w);
    else
        st = rrr_agree(ctx, rrr_gram_topd(ctx, gr, d, keep_C, U, V, w));
    double dt = rrr_phase_begin() - t0;
    rrr_phase_end(ctx, RRR_T_SOLVE, t0);
    if (st == RRR_OK) {
        double s = 0.0;
        for (int k = d; k-- > 0;) /* smallest first */
            s += w[k] > 0 ? w[k] : 0.0;
        double f = gr->yy - s;
        *fstar = f > 0 ? f : 0.0;
        err = RRR_GAP_ABS_EPS * DBL_EPSILON * gr->yy;
        const double fs = *fstar;
        evaluated_fstar(ctx, gr, d, U, V, fstar, &err);
        gr->numerical_rank = rrr_topk_rank(d, w, gr->route == RRR_ROUTE_P ? gr->p : gr->q);
        if (*fstar != fs)
            rrr_info(ctx, "exact: closed form (%s eigenproblem) in %.3f s; f* = %.10g at it "
                     "(||Y||^2 - sum mu = %.10g, mu_1 = %.6g, mu_d = %.6g)",
                     gr->route == RRR_ROUTE_P ? "p x p" : "q x q", dt, *fstar, fs, w[0],
                     w[d - 1]);
        else
            rrr_info(ctx, "exact: closed form (%s eigenproblem) in %.3f s; f* = %.10g from the "
                     "statistics (||Y||^2 = %.10g, mu_1 = %.6g, mu_d = %.6g)",
                     gr->route == RRR_ROUTE_P ? "p x p" : "q x q", dt, *fstar, gr->yy, w[0],
                     w[d - 1]);
        if (gr->numerical_rank < d && w[0] > 0)
            rrr_warn(ctx, "exact: mu_%d / mu_1 = %.1e is at rounding level: the whitened X^T Y "
                     "has numerical rank %d < d = %d, so the fit is exact to rounding and its "
                     "last %d components carry no signal", gr->numerical_rank + 1,
                     w[gr->numerical_rank] / w[0], gr->numerical_rank, d,
                     d - gr->numerical_rank);
    }
    if (fstar_err != NULL)
        *fstar_err = err;
    free(w);
    return st;
}

rrr_status rrr_solve_exact(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_fit_opts *o,
                           const rrr_plan *plan, const rrr_sums *sums, rrr_model *m,
                           rrr_fit_info *info, rrr_gram **keep)
{
    rrr_gram *gr = NULL;
    double fstar = NAN, fstar_err = NAN;
    (void)o;
    *keep = NULL;
    rrr_status st = sums != NULL && !plan->grid /* cv's final fit, from its totals */
                        ? rrr_gram_from_sums(ctx, sums, rq, &gr)
                        : rrr_gram_create(ctx, rq, plan->grid, &gr);
    if (st == RRR_OK)
        st = rrr_gram_exact(ctx, gr, rq->d, 0, m->U, m->V, &fstar, &fstar_err);
    if (st == RRR_OK)
        info->numerical_rank = gr->numerical_rank;
    if (st != RRR_OK) {
        rrr_gram_destroy(&gr);
        return st;
    }
    info->iterations = 0;
    info->converged = 1;
    snprintf(info->stop_reason, sizeof info->stop_reason, "closed form");
    info->gradient_norm_initial = NAN; /* no starting point: null in model.json */
    info->fstar = fstar;
    info->fstar_error = fstar_err;
    *keep = gr; /* its means, the pilot's quadratic for the final evaluation */
    return RRR_OK;
}
