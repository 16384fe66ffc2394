/* src/fit.c: `rrr fit` as a library call: checks, centring, the plan, the solve, and the
 * honest final evaluation (objective and gradient from a direct pass, certificate). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "comm.h"
#include "gradient.h"
#include "gram.h"
#include "linalg.h"
#include "fit.h"
#include "model.h"
#include "solvers.h"

void rrr_fit_opts_default(rrr_fit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->d = 0;          /* must be set: rrr_fit refuses 0 */
    o->lambda = -1.0;  /* must be set: rrr_fit refuses < 0 */
    o->solver = RRR_SOLVER_AUTO;
    o->max_iter = 10000;
    o->tol = 1e-10; /* relative decrease 1e-10 and gradient ratio 1e-5: README "Stopping" */
    o->checkpoint_every = 100;
    o->grid_min_p = 0; /* 0: RRR_PLAN_GRID_MIN_P */
    o->certificate = RRR_CERT_AUTO;
    o->gd_xty = -1;
    o->eig_route = -1;
}

const char *rrr_solver_name(rrr_solver s)
{
    switch (s) {
    case RRR_SOLVER_GD: return "gd";
    case RRR_SOLVER_ALS: return "als";
    case RRR_SOLVER_EXACT: return "exact";
    case RRR_SOLVER_AUTO: break;
    }
    return "auto";
}

/* Local (replicated values only, so every rank decides alike). */
static rrr_status check_opts(rrr_err *e, const rrr_block *X, const rrr_block *Y,
                             const rrr_fit_opts *o)
{
    if (X->n != Y->n)
        return RRR_FAIL(e, RRR_EINVAL, "X has %zu rows but Y has %zu", X->n, Y->n);
    if (X->n == 0 || X->ncols == 0 || Y->ncols == 0)
        return RRR_FAIL(e, RRR_EINVAL, "X (%zu x %zu) and Y (%zu x %zu) must not be empty",
                        X->n, X->ncols, Y->n, Y->ncols);
    rrr_status st = rrr_check_rank(e, o->d, X->ncols, Y->ncols);
    if (st == RRR_OK)
        st = rrr_check_lambda(e, o->lambda, X->n, X->ncols);
    if (st == RRR_OK)
        st = rrr_check_int_sizes(e, X->ncols, Y->ncols, o->d);
    if (st != RRR_OK)
        return st;
    if (o->solver < RRR_SOLVER_AUTO || o->solver > RRR_SOLVER_EXACT)
        return RRR_FAIL(e, RRR_EINVAL, "unknown solver %d", (int)o->solver);
    if (!(o->tol >= 0) || !isfinite(o->tol))
        return RRR_FAIL(e, RRR_EINVAL, "tol %g: must be a finite number >= 0 (--tol)", o->tol);
    if (o->max_iter < 0)
        return RRR_FAIL(e, RRR_EINVAL, "max_iter %ld: must be >= 0 (--max-iter)", o->max_iter);
    if (o->resume && o->checkpoint == NULL)
        return RRR_FAIL(e, RRR_EINVAL, "--resume needs --checkpoint DIR");
    if (o->certificate < RRR_CERT_OFF || o->certificate > RRR_CERT_ON)
        return RRR_FAIL(e, RRR_EINVAL, "certificate %d: expected RRR_CERT_OFF, _AUTO or _ON",
                        o->certificate);
    if (o->checkpoint_every < 1)
        return RRR_FAIL(e, RRR_EINVAL, "--checkpoint-every must be at least 1");
    return RRR_OK;
}

rrr_status rrr_fit_check_args(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y,
                              const rrr_fit_opts *o)
{
    size_t r0 = 0, nloc = 0;
    rrr_status st = check_opts(&ctx->err, X, Y, o);
    if (st != RRR_OK)
        return st; /* replicated: the same on every rank */
    rrr_partition(X->n, ctx->size, ctx->rank, &r0, &nloc);
    if (X->r0 != r0 || X->nloc != nloc || Y->r0 != r0 || Y->nloc != nloc ||
        (nloc > 0 && (X->a == NULL || Y->a == NULL)))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "rank %d holds rows [%zu, %zu) of X and [%zu, %zu) "
                      "of Y, but owns [%zu, %zu) (rrr_partition)", ctx->rank, X->r0,
                      X->r0 + X->nloc, Y->r0, Y->r0 + Y->nloc, r0, r0 + nloc);
    return rrr_agree(ctx, st);
}

/* Local (replicated maxima). Sums of n products of entries up to xmax must stay within
 * double's range: n xmax^2 below DBL_MAX, and xmax^2 above DBL_MIN / eps (below that the
 * products are subnormal or zero and X^T X is noise). The same for Y. */
static rrr_status check_scale(rrr_err *e, size_t n, double xmax, double ymax)
{
    const double big = sqrt(DBL_MAX / (double)n), small = sqrt(DBL_MIN / DBL_EPSILON);
    if (xmax > big)
        return RRR_FAIL(e, RRR_ENUMERIC, "X^T X overflows: |X| reaches %.3g, and n = %zu squares "
                        "of that exceed double's range; rescale X (e.g. divide it by %.3g)",
                        xmax, n, xmax);
    if (ymax > big)
        return RRR_FAIL(e, RRR_ENUMERIC, "||Y||^2 overflows: |Y| reaches %.3g, and n = %zu "
                        "squares of that exceed double's range; rescale Y (e.g. divide it by "
                        "%.3g)", ymax, n, ymax);
    if (xmax > 0 && xmax < small)
        return RRR_FAIL(e, RRR_ENUMERIC, "X^T X underflows: |X| is at most %.3g, whose squares "
                        "are below double's normal range; rescale X (e.g. multiply it by %.3g)",
                        xmax, 1 / xmax);
    if (ymax > 0 && ymax < small)
        return RRR_FAIL(e, RRR_ENUMERIC, "||Y||^2 underflows: |Y| is at most %.3g, whose squares "
                        "are below double's normal range; rescale Y (e.g. multiply it by %.3g)",
                        ymax, 1 / ymax);
    return RRR_OK;
}

rrr_status rrr_column_stats(rrr_ctx *ctx, rrr_problem *pb, int intercept, double **xm,
                            double **ym)
{
    size_t p = pb->p, q = pb->q, len = p + q + 4; /* sums | yy | n/a | max|X| | max|Y| */
    double *s = rrr_calloc(len, sizeof *s);
    rrr_status st = RRR_OK;
    *xm = *ym = NULL;
    if (s == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    double t0 = rrr_phase_begin(), mx[2] = { 0, 0 };
    for (size_t il = 0; il < pb->nloc; il++) {
        const double *x = pb->Xt + il * p, *y = pb->Yt + il * q;
        for (size_t j = 0; j < p; j++) {
            if (intercept)
                s[j] += x[j];
            mx[0] = fmax(mx[0], fabs(x[j]));
        }
        for (size_t j = 0; j < q; j++) {
            if (intercept)
                s[p + j] += y[j];
            s[p + q] += y[j] * y[j];
            mx[1] = fmax(mx[1], fabs(y[j]));
        }
    }
    rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(ctx, s, p + q + 1);
    MPI_Allreduce(MPI_IN_PLACE, mx, 2, MPI_DOUBLE, MPI_MAX, ctx->comm);
    st = check_scale(&ctx->err, pb->n, mx[0], mx[1]);
    if (st != RRR_OK) {
        free(s);
        return st; /* replicated maxima: the same verdict on every rank */
    }
    double yy = s[p + q];
    if (intercept) {
        *xm = rrr_malloc(p, sizeof **xm);
        *ym = rrr_malloc(q, sizeof **ym);
        if (*xm == NULL || *ym == NULL)
            st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
        else {
            double nn = (double)pb->n;
            for (size_t j = 0; j < p; j++)
                (*xm)[j] = s[j] / nn;
            for (size_t j = 0; j < q; j++)
                (*ym)[j] = s[p + j] / nn;
            /* ||Yc||^2 from the centred values, not sum y^2 - n ym^2: with column means far
             * from zero that difference is noise, and gd's cross-product form computes f
             * from it */
            const double *keep = pb->ym;
            pb->ym = *ym;
            yy = rrr_local_yy(pb);
            pb->ym = keep;
        }
        if (st != RRR_OK)
            yy = 0;
        rrr_allreduce_sum(ctx, &yy, 1); /* every rank, whatever happened above */
    }
    pb->yy = yy > 0 ? yy : 0;
    free(s);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(*xm);
        free(*ym);
        *xm = *ym = NULL;
    }
    return st;
}

/* Collective. The solver the plan chose. */
static rrr_status solve(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                        const rrr_plan *plan, const rrr_sums *sums, rrr_model *m,
                        rrr_fit_info *info)
{
    double t0 = rrr_phase_begin();
    rrr_status st;
    switch (plan->solver) {
    case RRR_SOLVER_EXACT: st = rrr_solve_exact(ctx, pb, o, plan, sums, m, info); break;
    case RRR_SOLVER_ALS: st = rrr_solve_als(ctx, pb, o, plan, m, info); break;
    default: st = rrr_solve_gd(ctx, pb, o, plan, m, info); break;
    }
    info->solve_seconds = rrr_phase_begin() - t0;
    return st;
}

/* Collective. The reported objective and gradient are recomputed from the data at the
 * returned (canonical) U, V, whatever the solver tracked internally. */
static rrr_status final_evaluation(rrr_ctx *ctx, const rrr_problem *pb, rrr_model *m,
                                   rrr_fit_info *info)
{
    size_t pd = pb->p * (size_t)pb->d, qd = pb->q * (size_t)pb->d;
    double *g = rrr_malloc(pd + qd, sizeof *g);
    rrr_status st = g ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    if (st == RRR_OK)
        st = rrr_canonicalize(pb->p, pb->q, pb->d, m->U, m->V, &ctx->err);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_evaluate(ctx, pb, m->U, m->V, &info->objective, g, g + pd);
    if (st == RRR_OK) {
        double g2 = 0;
        for (size_t k = 0; k < pd + qd; k++)
            g2 += g[k] * g[k];
        info->gradient_norm = sqrt(g2);
        if (!isfinite(info->objective))
            st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "fit: the objective at the solution is not "
                          "finite");
    }
    free(g);
    return st;
}

/* Local (replicated). A solver's stopping rule is a heuristic; the certificate is a
 * measurement: a fit whose gap to f* fails the certificate is not reported as converged. */
static void honest_convergence(rrr_ctx *ctx, rrr_fit_info *info)
{
    double gap = rrr_fit_info_gap(info);
    if (!info->converged || rrr_fit_info_passed(info) != 0)
        return;
    rrr_warn(ctx, "%s stopped (%s) at a relative gap of %.2e to the optimum, above the "
             "certificate's %.3g: reported as not converged", rrr_solver_name(info->solver),
             info->stop_reason, gap, rrr_fit_info_gap_tolerance(info));
    info->converged = 0;
    snprintf(info->stop_reason, sizeof info->stop_reason, "certificate gap %.1e", gap);
}

rrr_status rrr_fit(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y, const rrr_fit_opts *o,
                   rrr_model **out, rrr_fit_info **info_out)
{
    return rrr_fit_with(ctx, X, Y, o, NULL, out, info_out);
}

rrr_status rrr_fit_with(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y,
                        const rrr_fit_opts *o, const rrr_sums *sums, rrr_model **out,
                        rrr_fit_info **info_out)
{
    if (ctx == NULL)
        return RRR_EINVAL;
    ctx->err = (rrr_err){ .st = RRR_OK }; /* a new call: rrr_ctx_errmsg reports its failure */
    if (out != NULL)
        *out = NULL;
    if (info_out != NULL)
        *info_out = NULL;
    if (X == NULL || Y == NULL || o == NULL || out == NULL)
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_fit: X, Y, opts and model "
                                       "must not be NULL"));
    rrr_status st = rrr_fit_check_args(ctx, X, Y, o);
    if (st != RRR_OK)
        return st;
    rrr_problem pb = { .n = X->n, .p = X->ncols, .q = Y->ncols, .nloc = X->nloc, .d = o->d,
                       .lambda = o->lambda, .Xt = X->a, .Yt = Y->a };
    double *xm = NULL, *ym = NULL;
    rrr_model *m = NULL;
    rrr_fit_info *info = NULL;
    rrr_plan plan;
    st = rrr_column_stats(ctx, &pb, o->intercept, &xm, &ym);
    if (st != RRR_OK)
        return st;
    pb.xm = xm;
    pb.ym = ym;
    rrr_machine mach = rrr_machine_of(ctx);
    rrr_plan_make(&mach, pb.n, pb.p, pb.q, pb.d, o, &plan);
    st = rrr_model_new(ctx, pb.n, pb.p, pb.q, pb.d, o->lambda, o->intercept, &m);
    if (st == RRR_OK)
        st = rrr_fit_info_new(ctx, &plan, pb.yy, &info);
    if (st != RRR_OK)
        goto done;
    info->opts = *o; /* for model.json; the caller's checkpoint string may not outlive it */
    info->opts.checkpoint = NULL;
    if (o->solver == RRR_SOLVER_AUTO)
        rrr_info(ctx, "auto: chose %s (%s)", rrr_solver_name(plan.solver), plan.solver_why);
    rrr_plan_log(ctx, &plan);
    if (plan.solver != RRR_SOLVER_GD && (o->precond != RRR_PRECOND_AUTO || o->precond_rank > 0))
        rrr_warn(ctx, "--precond and --precond-rank shape gd's iterations: %s ignores them",
                 rrr_solver_name(plan.solver));
    rrr_info(ctx, "fit: n=%zu p=%zu q=%zu d=%d lambda=%g solver=%s ranks=%d%s", pb.n, pb.p,
             pb.q, pb.d, pb.lambda, rrr_solver_name(plan.solver), ctx->size,
             o->intercept ? " intercept" : "");
    st = solve(ctx, &pb, o, &plan, sums, m, info);
    if (st == RRR_OK)
        st = final_evaluation(ctx, &pb, m, info);
    if (st == RRR_OK && isnan(info->fstar)) {
        rrr_plan_certificate_after(&plan, info->iterations);
        st = rrr_optimal_value(ctx, &pb, &plan, &info->fstar);
        *info->plan = plan;
    }
    if (st == RRR_OK)
        honest_convergence(ctx, info);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK && o->intercept) {
        m->x_mean = xm;
        m->y_mean = ym;
        xm = ym = NULL;
    }
done:
    free(xm);
    free(ym);
    if (st != RRR_OK || info_out == NULL)
        rrr_fit_info_destroy(&info);
    if (st != RRR_OK)
        rrr_model_destroy(&m);
    *out = m;
    if (info_out != NULL)
        *info_out = info;
    return st;
}
