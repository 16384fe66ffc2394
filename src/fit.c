/* src/fit.c: `rrr fit` as a library call: checks, the plan, the solve over rows in memory
 * (gd) or streamed from their files (exact, als: stream.c, stats.c), and the honest final
 * evaluation (objective and gradient from the residuals, certificate). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "comm.h"
#include "checkpoint.h"
#include "fnv.h"
#include "gradient.h"
#include "gram.h"
#include "kernels.h"
#include "linalg.h"
#include "fit.h"
#include "model.h"
#include "scan.h"
#include "solvers.h"
#include "stream.h"

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
static rrr_status check_opts(rrr_err *e, size_t nx, size_t p, size_t ny, size_t q,
                             const rrr_fit_opts *o)
{
    if (nx != ny)
        return RRR_FAIL(e, RRR_EINVAL, "X has %zu rows but Y has %zu", nx, ny);
    if (nx == 0 || p == 0 || q == 0)
        return RRR_FAIL(e, RRR_EINVAL, "X (%zu x %zu) and Y (%zu x %zu) must not be empty",
                        nx, p, ny, q);
    rrr_status st = rrr_check_rank(e, o->d, p, q);
    if (st == RRR_OK)
        st = rrr_check_lambda(e, o->lambda, nx, p);
    if (st == RRR_OK)
        st = rrr_check_int_sizes(e, p, q, o->d);
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
    /* the C API's other enumerations: an eig_route of 5 once corrupted the heap */
    if (o->gd_xty < -1 || o->gd_xty > 1)
        return RRR_FAIL(e, RRR_EINVAL, "gd_xty %d: expected 1 (on), 0 (off) or -1 (auto)",
                        o->gd_xty);
    if (o->eig_route < -1 || o->eig_route > 1)
        return RRR_FAIL(e, RRR_EINVAL, "eig_route %d: expected 1 (p x p), 0 (q x q) or -1 "
                        "(auto)", o->eig_route);
    if (o->precond < RRR_PRECOND_AUTO || o->precond > RRR_PRECOND_NYSTROM)
        return RRR_FAIL(e, RRR_EINVAL, "unknown precond %d", (int)o->precond);
    if (o->precond_rank < 0)
        return RRR_FAIL(e, RRR_EINVAL, "precond_rank %d: must be >= 0", o->precond_rank);
    if ((o->U0 == NULL) != (o->V0 == NULL))
        return RRR_FAIL(e, RRR_EINVAL, "a warm start needs both U0 and V0 (or neither)");
    return RRR_OK;
}

uint64_t rrr_fit_opts_hash(const rrr_fit_opts *o, size_t nx, size_t p, size_t ny, size_t q)
{
    const uint64_t v[] = { nx, p, ny, q, (uint64_t)o->d, (uint64_t)o->solver,
                           (uint64_t)o->max_iter, o->seed, (uint64_t)o->intercept,
                           (uint64_t)o->checkpoint_every, (uint64_t)o->resume, o->grid_min_p,
                           (uint64_t)o->certificate, (uint64_t)o->gd_xty,
                           (uint64_t)o->eig_route, (uint64_t)o->precond,
                           (uint64_t)o->precond_rank, o->checkpoint != NULL, o->U0 != NULL,
                           o->V0 != NULL };
    uint64_t h = rrr_fnv1a(RRR_FNV_INIT, v, sizeof v);
    h = rrr_fnv1a(h, &o->lambda, sizeof o->lambda);
    h = rrr_fnv1a(h, &o->tol, sizeof o->tol);
    if (o->checkpoint != NULL)
        h = rrr_fnv1a(h, o->checkpoint, strlen(o->checkpoint));
    if (o->U0 != NULL && o->V0 != NULL && o->d > 0 && p > 0 && q > 0) {
        h = rrr_fnv1a(h, o->U0, p * (size_t)o->d * sizeof *o->U0);
        h = rrr_fnv1a(h, o->V0, q * (size_t)o->d * sizeof *o->V0);
    }
    return h;
}

rrr_status rrr_fit_check_args(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y,
                              const rrr_fit_opts *o)
{
    /* the options must be the same on every rank before any rank judges them alone (a
     * rank and a lambda that differed between ranks gave two different models, a solver
     * that differed a hang): max of h and of ~h give the largest and the smallest */
    rrr_status st = rrr_same_everywhere(ctx, rrr_fit_opts_hash(o, X->n, X->ncols, Y->n, Y->ncols),
                                        "options or shapes (rrr_fit_opts, the warm "
                                        "start, n, p and q)");
    if (st == RRR_OK)
        st = check_opts(&ctx->err, X->n, X->ncols, Y->n, Y->ncols, o);
    return rrr_agree(ctx, st);
}

rrr_status rrr_column_stats(rrr_ctx *ctx, rrr_problem *pb, int intercept, int warn,
                            double **xm, double **ym)
{
    size_t p = pb->p, q = pb->q, m = p + q, len = 2 * m + 1; /* sums | squares | yy */
    int squares = warn && !intercept && pb->n > 0;
    double *s = rrr_calloc(len, sizeof *s);
    rrr_status st = RRR_OK;
    *xm = *ym = NULL;
    if (s == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    double t0 = rrr_phase_begin(), mx[2] = { 0, 0 }, *sq = s + m;
    /* the squares of X's columns only count with squares; Y's give yy */
    (void)rrr_scan(pb->Xt, pb->nloc, p, s, sq, &mx[0]);
    (void)rrr_scan(pb->Yt, pb->nloc, q, s + p, sq + p, &mx[1]);
    for (size_t j = 0; j < q; j++)
        s[2 * m] += sq[p + j];
    rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(ctx, s, len);
    MPI_Allreduce(MPI_IN_PLACE, mx, 2, MPI_DOUBLE, MPI_MAX, ctx->comm);
    st = rrr_check_scale(&ctx->err, pb->n, mx[0], mx[1]);
    if (st != RRR_OK) {
        free(s);
        return st; /* replicated maxima: the same verdict on every rank */
    }
    if (squares)
        rrr_warn_uncentred(ctx, pb->n, p, q, pb->d, s);
    double yy = s[2 * m];
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

/* Collective. The direct evaluation as a streamed pass, where the statistics had no pilot
 * (the 2-D grid regime, cv's final fit from its totals, a pilot that had no closed form):
 * gd's pass G (kernels.c) on each panel of the rows, its sums added, one allreduce; then
 * f and the gradients from them (gradient.c), as rrr_evaluate does for rows in memory. */
static rrr_status evaluate_stream(rrr_ctx *ctx, const rrr_stats_req *rq, const double *xm,
                                  const double *ym, const double *U, const double *V, double *f,
                                  double *gU, double *gV)
{
    rrr_problem pb = { .n = rq->n, .p = rq->p, .q = rq->q, .d = rq->d, .lambda = rq->lambda,
                       .xm = xm, .ym = ym };
    const size_t d = (size_t)rq->d, len = rrr_pass_g_len(&pb);
    rrr_stream *s = NULL;
    rrr_panel pn;
    rrr_status st = rrr_stream_open(ctx, rq->X, rq->Y, 0, &s);
    if (st != RRR_OK)
        return st;
    pb.nloc = rrr_stream_rows(s);
    double *At = rrr_malloc(pb.nloc * d, sizeof *At);
    double *work = rrr_malloc(rrr_pass_work(&pb), sizeof *work);
    double *part = rrr_malloc(len, sizeof *part), *sums = rrr_calloc(len, sizeof *sums);
    double *UtU = rrr_malloc(d * d, sizeof *UtU), *VtV = rrr_malloc(d * d, sizeof *VtV);
    rrr_status lst = At && work && part && sums && UtU && VtV
                         ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "evaluate: out of memory");
    for (size_t k = 0; st == RRR_OK && k < rrr_stream_count(s); k++) {
        st = rrr_stream_next(s, lst, &pn);
        if (st != RRR_OK || pn.m == 0)
            continue;
        double t0 = rrr_phase_begin();
        rrr_problem pk = pb;
        pk.nloc = pn.m;
        pk.Xt = pn.X;
        pk.Yt = pn.Y;
        rrr_pass_g(&pk, U, V, At, part, work);
        for (size_t j = 0; j < len; j++)
            sums[j] += part[j];
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    }
    st = rrr_stream_close(&s, st != RRR_OK ? st : lst, NULL);
    if (st == RRR_OK) {
        rrr_allreduce_sum(ctx, sums, len);
        rrr_gradients(&pb, U, V, sums, UtU, VtV, f, gU, gV);
    }
    free(At);
    free(work);
    free(part);
    free(sums);
    free(UtU);
    free(VtV);
    return st;
}

/* Collective. The reported objective and gradient are recomputed at the returned
 * (canonical) U, V, whatever the solver tracked internally: from the rows in memory (gd),
 * from the pilot's quadratic accumulated with the statistics or the QR's (exact, als: no
 * further pass), or by a streamed direct pass. */
static rrr_status final_evaluation(rrr_ctx *ctx, const rrr_problem *pb, const rrr_stats_req *rq,
                                   const rrr_gram *gr, rrr_model *m, rrr_fit_info *info)
{
    size_t pd = pb->p * (size_t)pb->d, qd = pb->q * (size_t)pb->d;
    double *g = rrr_malloc(pd + qd, sizeof *g);
    rrr_status st = g ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    if (st == RRR_OK)
        st = rrr_canonicalize(pb->p, pb->q, pb->d, m->U, m->V, &ctx->err);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK && gr == NULL)
        st = rrr_evaluate(ctx, pb, m->U, m->V, &info->objective, g, g + pd);
    else if (st == RRR_OK && (gr->have_pilot || gr->T != NULL)) /* an exact quadratic */
        st = rrr_agree(ctx, rrr_gram_evaluate(ctx, gr, pb->d, m->U, m->V, &info->objective, g,
                                              g + pd));
    else if (st == RRR_OK)
        st = evaluate_stream(ctx, rq, pb->xm, pb->ym, m->U, m->V, &info->objective, g, g + pd);
    if (st == RRR_OK) { /* scaled by the largest entry: with Y near 1e100 the squares overflow */
        info->gradient_norm = rrr_norm2(pd + qd, g, 0, NULL);
        if (!isfinite(info->objective))
            st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "fit: the objective at the solution is not "
                          "finite");
    }
    free(g);
    return st;
}

/* Collective. Where f* came from the statistics' formula alone (yy - sum mu, no exact
 * quadratic: no pilot, or one without a closed form), its error bound 64 eps yy can dwarf a
 * small f* (nearly exact fits): the tolerance widens until any fit PASSES, and als, whose
 * own f is then no better, stops at its rounding floor far from the optimum. f evaluated
 * directly at the closed form B* = Us Vs^T keeps the digits: for exact B* is the model and
 * its reported objective is that evaluation already; als and gd take one more streamed
 * pass, only in this case. */
static rrr_status sharpen_fstar(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_problem *pb,
                                const rrr_model *m, const double *Us, const double *Vs,
                                int direct, rrr_fit_info *info)
{
    const double scale = fmax(info->fstar, DBL_EPSILON * info->yy);
    if (isnan(info->fstar) || !(rrr_fit_info_fstar_error(info) > RRR_GAP_THRESHOLD * scale))
        return RRR_OK;
    double fe = info->objective;
    rrr_status st = RRR_OK;
    if (info->solver != RRR_SOLVER_EXACT || !direct) {
        size_t pd = pb->p * (size_t)pb->d, qd = pb->q * (size_t)pb->d;
        double *g = rrr_malloc(pd + qd, sizeof *g);
        st = rrr_agree(ctx, g ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory"));
        if (st == RRR_OK)
            st = evaluate_stream(ctx, rq, pb->xm, pb->ym, info->solver == RRR_SOLVER_EXACT
                                 ? m->U : Us, info->solver == RRR_SOLVER_EXACT ? m->V : Vs,
                                 &fe, g, g + pd);
        free(g);
    }
    if (st == RRR_OK && isfinite(fe) && fe < info->fstar + rrr_fit_info_fstar_error(info)) {
        rrr_info(ctx, "certificate: f* = %.10g evaluated at the closed form (%.10g from the "
                 "statistics, which cancel down to %.1e)", fe, info->fstar,
                 rrr_fit_info_fstar_error(info));
        info->fstar = fe > 0 ? fe : 0.0;
        info->fstar_error = RRR_GAP_ABS_EPS * DBL_EPSILON *
                            (info->fstar + sqrt(info->fstar * info->yy));
    }
    return st;
}

/* Local (replicated). A solver's stopping rule is a heuristic; the certificate is a
 * measurement: a fit whose gap to f* fails the certificate is not reported as converged. */
static void honest_convergence(rrr_ctx *ctx, rrr_fit_info *info)
{
    double gap = rrr_fit_info_gap(info);
    if (info->converged && rrr_fit_info_passed(info) < 0 && info->solver == RRR_SOLVER_GD &&
        info->condition_before >= 1e8) /* no verdict, and a small gradient proves little */
        rrr_warn(ctx, "gd stopped on a small gradient, which bounds the gap to the optimum only "
                 "up to cond(X^T X + lambda I) (%s%.1e here): with no certificate its "
                 "convergence is unverified; rerun with --certificate, or --solver exact",
                 isinf(info->condition_before) ? "singular to working precision, " : ">= ",
                 isinf(info->condition_before) ? 1 / DBL_EPSILON : info->condition_before);
    if (!info->converged || rrr_fit_info_passed(info) != 0)
        return;
    rrr_warn(ctx, "%s stopped (%s) at a relative gap of %.2e to the optimum, above the "
             "certificate's %.3g: reported as not converged", rrr_solver_name(info->solver),
             info->stop_reason, gap, rrr_fit_info_gap_tolerance(info));
    info->converged = 0;
    snprintf(info->stop_reason, sizeof info->stop_reason, "certificate gap %.1e", gap);
}

/* Local (replicated). auto chose gd by its cost model, and gd ended unconverged (its
 * iteration cap, or a certificate that failed) where the statistics fit in memory: exact
 * can still answer. */
static int gd_gave_up(const rrr_fit_opts *o, const rrr_plan *plan, const rrr_fit_info *info)
{
    return o->solver == RRR_SOLVER_AUTO && plan->solver == RRR_SOLVER_GD && !info->converged &&
           plan->stats_bytes <= RRR_PLAN_STATS_FRACTION * plan->mach.mem_per_rank &&
           o->checkpoint == NULL;
}

/* Collective. gd iterates over its rows: they are read into memory (or are there), when the
 * plan found room for them; else exit 1 before anything n-sized is allocated. */
static rrr_status gd_rows(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, const rrr_plan *plan,
                          rrr_problem *pb)
{
    const rrr_block *BX = NULL, *BY = NULL;
    if (!plan->gd_fits)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "gd keeps its rows in memory: it needs %.3g GB "
                        "per rank (X and Y %.3g GB), %.3g GB are available (out of memory): "
                        "--solver exact or als stream the rows instead, or use more ranks",
                        plan->gd_bytes / 1e9, plan->data_bytes / 1e9,
                        plan->mach.mem_per_rank / 1e9);
    rrr_status st = rrr_input_load(ctx, X, &BX);
    if (st == RRR_OK)
        st = rrr_input_load(ctx, Y, &BY);
    if (st == RRR_OK) {
        pb->Xt = BX->a;
        pb->Yt = BY->a;
    }
    return st;
}

/* Collective. The solver the plan chose, and the honest figures of its result. */
static rrr_status solve(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, rrr_problem *pb,
                        const rrr_fit_opts *o, rrr_plan *plan, const rrr_sums *sums, int warn,
                        rrr_model *m, rrr_fit_info *info, double **xm, double **ym)
{
    rrr_stats_req rq = { .X = X, .Y = Y, .n = pb->n, .p = pb->p, .q = pb->q, .d = pb->d,
                         .lambda = pb->lambda, .intercept = o->intercept, .route = plan->route,
                         .pilot = !plan->grid && sums == NULL,
                         .hash = plan->solver == RRR_SOLVER_ALS && o->checkpoint != NULL,
                         .warn = warn && !o->intercept };
    rrr_gram *gr = NULL;
    double *Us = rrr_malloc(pb->p * (size_t)pb->d, sizeof *Us);
    double *Vs = rrr_malloc(pb->q * (size_t)pb->d, sizeof *Vs);
    rrr_status st = rrr_agree(ctx, Us && Vs ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL,
                                                                  "out of memory"));
    double t0 = rrr_phase_begin();
    if (st != RRR_OK) {
        /* nothing to solve with */
    } else if (plan->solver == RRR_SOLVER_GD) {
        st = gd_rows(ctx, X, Y, plan, pb);
        if (st == RRR_OK)
            st = rrr_column_stats(ctx, pb, o->intercept, warn, xm, ym);
        rq.warn = 0; /* said there, if at all: not again in the certificate's pass */
        pb->xm = *xm;
        pb->ym = *ym;
        info->yy = pb->yy;
        const double t_load = rrr_phase_begin() - t0;
        if (st == RRR_OK)
            st = rrr_solve_gd(ctx, pb, o, plan, m, info);
        info->setup_seconds += t_load; /* reading the rows is one-off too */
    } else if (plan->solver == RRR_SOLVER_ALS) {
        st = rrr_solve_als(ctx, &rq, pb, o, plan, m, info, &gr, Us, Vs);
    } else {
        st = rrr_solve_exact(ctx, &rq, o, plan, sums, m, info, &gr);
    }
    info->solve_seconds = rrr_phase_begin() - t0;
    if (st == RRR_OK && gr != NULL) { /* the means and ||Yc||^2 came with the statistics */
        info->yy = gr->yy;
        *xm = gr->xm;
        *ym = gr->ym;
        gr->xm = gr->ym = NULL;
        pb->xm = *xm;
        pb->ym = *ym;
        pb->yy = gr->yy;
    }
    int direct = gr == NULL || (!gr->have_pilot && gr->T == NULL); /* final_evaluation's way */
    if (st == RRR_OK)
        st = final_evaluation(ctx, pb, &rq, gr, m, info);
    rrr_gram_destroy(&gr);
    if (o->certificate == RRR_CERT_OFF) /* exact's and als's f* came free: not asked for */
        info->fstar = info->fstar_error = NAN;
    if (st == RRR_OK && isnan(info->fstar)) { /* gd: the certificate's pass, over its rows */
        rrr_plan_certificate_after(plan, info->iterations);
        st = rrr_optimal_value(ctx, &rq, plan, &info->fstar, &info->fstar_error, Us, Vs);
        *info->plan = *plan;
    }
    if (st == RRR_OK)
        st = sharpen_fstar(ctx, &rq, pb, m, Us, Vs, direct, info);
    free(Us);
    free(Vs);
    return st;
}

/* Collective. One solve by plan into a new *m and *info (the means in *xm, *ym), with the
 * honest figures; on failure the caller frees what was made. */
static rrr_status attempt(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, rrr_problem *pb,
                          const rrr_fit_opts *o, rrr_plan *plan, const rrr_sums *sums, int warn,
                          rrr_model **m, rrr_fit_info **info, double **xm, double **ym)
{
    rrr_status st = rrr_model_new(ctx, pb->n, pb->p, pb->q, pb->d, o->lambda, o->intercept, m);
    if (st == RRR_OK)
        st = rrr_fit_info_new(ctx, plan, 0.0, info);
    if (st != RRR_OK)
        return st;
    (*info)->opts = *o; /* for model.json; the caller's checkpoint string may not outlive it */
    (*info)->opts.checkpoint = NULL;
    st = solve(ctx, X, Y, pb, o, plan, sums, warn, *m, *info, xm, ym);
    if (st == RRR_OK)
        honest_convergence(ctx, *info);
    return rrr_agree(ctx, st);
}

/* Collective. auto promised an answer and its gd ended unconverged: the closed form, which
 * needs no iterations, from plan0 (the plan as made). Its result replaces gd's (*m, *info,
 * the means) when it succeeds; else gd's stands, with a warning (a stop by a signal stops). */
static rrr_status exact_instead(rrr_ctx *ctx, rrr_input *X, rrr_input *Y,
                                const rrr_problem *pb, const rrr_fit_opts *o,
                                const rrr_plan *plan0, const rrr_sums *sums, rrr_model **m,
                                rrr_fit_info **info, double **xm, double **ym)
{
    rrr_warn(ctx, "auto: gd did not converge (%s after %ld iterations): exact instead",
             (*info)->stop_reason, (*info)->iterations);
    rrr_plan ex = *plan0;
    ex.solver = RRR_SOLVER_EXACT;
    snprintf(ex.solver_why, sizeof ex.solver_why, "gd, by the cost model, did not converge "
             "(%s after %ld iterations): exact", (*info)->stop_reason, (*info)->iterations);
    rrr_problem pe = { .n = pb->n, .p = pb->p, .q = pb->q, .d = pb->d, .lambda = pb->lambda,
                       .nloc = pb->nloc, .r0 = pb->r0 };
    rrr_model *me = NULL;
    rrr_fit_info *ie = NULL;
    double *xe = NULL, *ye = NULL;
    rrr_status st = attempt(ctx, X, Y, &pe, o, &ex, sums, 0, &me, &ie, &xe, &ye); /* warned */
    if (st == RRR_OK) {
        ie->solve_seconds += (*info)->solve_seconds; /* gd's time was spent too */
        rrr_model_destroy(m);
        rrr_fit_info_destroy(info);
        free(*xm);
        free(*ym);
        *m = me, *info = ie, *xm = xe, *ym = ye;
        return RRR_OK;
    }
    rrr_model_destroy(&me);
    rrr_fit_info_destroy(&ie);
    free(xe);
    free(ye);
    if (st == RRR_ESTOPPED)
        return st;
    rrr_warn(ctx, "auto: exact failed too (%s): gd's unconverged result stands",
             rrr_ctx_errmsg(ctx));
    ctx->err = (rrr_err){ .st = RRR_OK };
    return RRR_OK;
}

rrr_status rrr_fit(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y, const rrr_fit_opts *o,
                   rrr_model **out, rrr_fit_info **info_out)
{
    return rrr_fit_with(ctx, X, Y, o, NULL, 1, out, info_out);
}

rrr_status rrr_fit_with(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y,
                        const rrr_fit_opts *o, const rrr_sums *sums, int warn, rrr_model **out,
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
    if (st == RRR_OK && o->checkpoint != NULL) /* before any work, as the CLI checks it */
        st = rrr_checkpoint_dir_check(ctx, o->checkpoint, "checkpoint");
    rrr_input *IX = NULL, *IY = NULL;
    if (st == RRR_OK)
        st = rrr_agree(ctx, rrr_input_mem(ctx, X, &IX));
    if (st == RRR_OK)
        st = rrr_agree(ctx, rrr_input_mem(ctx, Y, &IY));
    if (st == RRR_OK)
        st = rrr_fit_inputs(ctx, IX, IY, o, sums, warn, out, info_out);
    rrr_input_close(&IX);
    rrr_input_close(&IY);
    return st;
}

rrr_status rrr_fit_inputs(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, const rrr_fit_opts *o,
                          const rrr_sums *sums, int warn, rrr_model **out,
                          rrr_fit_info **info_out)
{
    *out = NULL;
    if (info_out != NULL)
        *info_out = NULL;
    rrr_status st = check_opts(&ctx->err, rrr_input_rows(X), rrr_input_cols(X),
                               rrr_input_rows(Y), rrr_input_cols(Y), o);
    if (st != RRR_OK)
        return st; /* replicated: the same on every rank */
    rrr_problem pb = { .n = rrr_input_rows(X), .p = rrr_input_cols(X), .q = rrr_input_cols(Y),
                       .d = o->d, .lambda = o->lambda };
    st = rrr_input_share(ctx, X, Y, &pb.r0, &pb.nloc);
    if (st != RRR_OK)
        return st;
    double *xm = NULL, *ym = NULL;
    rrr_model *m = NULL;
    rrr_fit_info *info = NULL;
    rrr_plan plan;
    rrr_machine mach = rrr_machine_of(ctx);
    mach.resident = rrr_input_in_memory(X) && rrr_input_in_memory(Y);
    rrr_plan_make(&mach, pb.n, pb.p, pb.q, pb.d, o, &plan);
    const rrr_plan plan0 = plan; /* as made: the solvers update theirs */
    if (o->solver == RRR_SOLVER_AUTO)
        rrr_info(ctx, "auto: chose %s (%s)", rrr_solver_name(plan.solver), plan.solver_why);
    rrr_plan_log(ctx, &plan);
    if (plan.solver != RRR_SOLVER_GD && (o->precond != RRR_PRECOND_AUTO || o->precond_rank > 0))
        rrr_warn(ctx, "--precond and --precond-rank shape gd's iterations: %s ignores them",
                 rrr_solver_name(plan.solver));
    rrr_info(ctx, "fit: n=%zu p=%zu q=%zu d=%d lambda=%g solver=%s ranks=%d%s", pb.n, pb.p,
             pb.q, pb.d, pb.lambda, rrr_solver_name(plan.solver), ctx->size,
             o->intercept ? " intercept" : "");
    st = attempt(ctx, X, Y, &pb, o, &plan, sums, warn, &m, &info, &xm, &ym);
    if (st == RRR_OK && gd_gave_up(o, &plan, info))
        st = exact_instead(ctx, X, Y, &pb, o, &plan0, sums, &m, &info, &xm, &ym);
    if (st == RRR_OK && o->intercept) {
        m->x_mean = xm;
        m->y_mean = ym;
        xm = ym = NULL;
    }
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
