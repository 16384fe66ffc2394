/* src/solve_gd.c: the distributed gradient method: the math of one gd step. Each rank
 * computes partial sums on its rows; one MPI_Allreduce combines them before each update
 * of U and each of V (gradient.c has the two forms of those sums; iterate.c the loop).
 *
 * One step from (U, V):
 *   U update: preconditioned nonlinear conjugate gradient (Polak-Ribiere+) on U in the
 *     metric P (x) V^T V (Mishra & Sepulchre 2016): Z = P^-1 grad_U (V^T V)^-1, where
 *     2 (X^T X + lambda I) (x) V^T V is the U-block Hessian, (V^T V)^-1 inverts its d x d
 *     factor exactly (the step is then invariant to the factorisation's gauge U -> U S,
 *     V -> V S^-T, so unbalanced factors cost nothing) and P ~ X^T X + lambda I its p x p
 *     factor without forming it (precond.c: none, Jacobi, or Nystrom + diagonal; auto picks).
 *     f is quadratic along D: f(U + a D) = f + a <g, D> + a^2 (tr(E^T E V^T V)
 *     + lambda tr(D^T D V^T V)) with E = X D, so the exact minimising step is closed form;
 *     E^T E comes from one pass along D                               [allreduce 2]
 *   V update: exact minimisation over V (its Hessian is 2 (A'^T A' + lambda U'^T U'),
 *     only d x d): V = Y^T A' (A'^T A' + lambda U'^T U')^-1, with A' = X U', A'^T A' and
 *     Y^T A' from the form's sums: no third pass.
 *   balance: U S, V S^-1 with equal Gram matrices (f and U V^T unchanged).
 * With V eliminated exactly, this is nonlinear CG on phi(U) = min_V f(U, V) (variable
 * projection; Golub & Pereyra 1973), whose gradient is grad_U f at the fresh V (envelope
 * theorem), so iterations grow like sqrt(cond(P^-1 (X^T X + lambda I))), not cond.
 * f never increases: both updates minimise exactly over their block or line.
 * An iteration is a function of the replicated state (U, V, D, previous gradient, and W
 * in the cross form) alone: a checkpoint of that state resumes bitwise, on any number of
 * ranks. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gd.h"
#include "kernels.h"
#include "linalg.h"
#include "rng.h"
#include "solvers.h"

/* ---- workspace --------------------------------------------------------------------- */

static void ws_destroy(rrr_gd_ws *w)
{
    double *all[] = { w->D, w->gprev, w->W, w->gU, w->gV, w->UtU, w->VtV, w->AtA, w->CtU,
                      w->C, w->At, w->sg, w->sb, w->work, w->Z, w->DtD, w->EtE, w->H, w->tmp };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
    rrr_pc_free(&w->pc);
    memset(w, 0, sizeof *w);
}

/* Collective. Every buffer of the run (README "Memory per rank"); U, V borrowed. */
static rrr_status ws_create(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                            int cross, double *U, double *V, rrr_gd_ws *w)
{
    const size_t p = pb->p, q = pb->q, d = (size_t)pb->d, pd = p * d, qd = q * d, dd = d * d;
    /* sg: the residual pass's sums, or W | C V | C^T U; sb: pass B's, or H | C^T D */
    const size_t lg = rrr_pass_g_len(pb) > 2 * pd + qd ? rrr_pass_g_len(pb) : 2 * pd + qd;
    const size_t lb = rrr_pass_b_len(pb) > pd + qd ? rrr_pass_b_len(pb) : pd + qd;
    size_t qloc = 0;
    memset(w, 0, sizeof *w);
    *w = (rrr_gd_ws){ .ctx = ctx, .pb = pb, .o = o, .cross = cross, .U = U, .V = V,
                      .fprev = INFINITY, .fprev2 = INFINITY };
    w->D = rrr_calloc(pd, sizeof(double));
    w->gprev = rrr_calloc(pd, sizeof(double));
    w->W = rrr_calloc(pd, sizeof(double));
    w->gU = rrr_malloc(pd, sizeof(double));
    w->gV = rrr_malloc(qd, sizeof(double));
    w->Z = rrr_malloc(pd, sizeof(double));
    w->CtU = rrr_malloc(qd, sizeof(double));
    w->UtU = rrr_malloc(dd, sizeof(double));
    w->VtV = rrr_malloc(dd, sizeof(double));
    w->AtA = rrr_malloc(dd, sizeof(double));
    w->DtD = rrr_malloc(dd, sizeof(double));
    w->EtE = rrr_malloc(dd, sizeof(double));
    w->H = rrr_malloc(2 * dd, sizeof(double));
    w->tmp = rrr_malloc(p > q ? pd : qd, sizeof(double));
    w->C = cross ? rrr_malloc(p * q, sizeof(double)) : NULL;
    w->At = rrr_malloc(pb->nloc * d, sizeof(double));
    w->work = rrr_malloc(rrr_pass_work(pb), sizeof(double));
    w->sg = rrr_malloc(lg + RRR_FLAG_SLOTS, sizeof(double));
    rrr_partition(q, ctx->size, ctx->rank, &w->j0, &qloc); /* my share of C's columns */
    w->j1 = w->j0 + qloc;
    w->sb = rrr_malloc(lb + RRR_FLAG_SLOTS, sizeof(double));
    rrr_status st = RRR_OK;
    if (!w->D || !w->gprev || !w->W || !w->gU || !w->gV || !w->Z || !w->CtU || !w->UtU ||
        !w->VtV || !w->AtA || !w->DtD || !w->EtE || !w->H || !w->tmp || (cross && !w->C) ||
        !w->At || !w->work || !w->sg || !w->sb)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "gd: out of memory for %zu rows", pb->nloc);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        ws_destroy(w);
    return st;
}

/* ---- start ------------------------------------------------------------------------- */

/* Collective. U = 0 and a random orthonormal V (the same on every rank, from the seed), or
 * the warm start of the options:
 * the first step then moves U along X^T Y V, one step of subspace iteration. W = Xc^T Xc 0
 * = 0 exactly: no pass needed to know it. */
static rrr_status start(rrr_gd_ws *w)
{
    const int p = (int)w->pb->p, q = (int)w->pb->q, d = w->pb->d;
    if (w->o->U0 != NULL && w->o->V0 != NULL) { /* a warm start (cv's lambda path) */
        memcpy(w->U, w->o->U0, (size_t)p * d * sizeof *w->U);
        memcpy(w->V, w->o->V0, (size_t)q * d * sizeof *w->V);
        w->w_valid = 0; /* W = Xc^T Xc U0 needs a pass */
        return RRR_OK;
    }
    memset(w->U, 0, (size_t)p * d * sizeof *w->U);
    for (int k = 0; k < d; k++)
        for (int i = 0; i < q; i++)
            w->V[IDX(i, k, q)] =
                rrr_rng_normal(w->o->seed, RRR_STREAM_GD_START, (uint64_t)i, (uint64_t)k);
    w->w_valid = 1;
    w->v0_norm = sqrt((double)d); /* orthonormal */
    return rrr_agree(w->ctx, rrr_orthonormalize((size_t)q, d, w->V, &w->ctx->err));
}

/* Collective. C = Xc^T Yc, once (one pass, 2 n p q / K flops): then no iteration reads Y. */
static void setup_cross(rrr_gd_ws *w, rrr_fit_info *info)
{
    double t0 = rrr_phase_begin();
    rrr_cross(w->pb, w->C, w->work);
    rrr_phase_end(w->ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(w->ctx, w->C, w->pb->p * w->pb->q);
    info->setup_seconds = rrr_phase_begin() - t0;
    rrr_info(w->ctx, "gd: keeps X^T Y (%zu x %zu); iterations read X only, once (Gram pass: %s)",
             w->pb->p, w->pb->q, rrr_kernel_name(rrr_kernel_get()));
}

/* ---- one iteration ----------------------------------------------------------------- */

/* The engine's evaluation at iterate k. The cross-product form knows f only to ~ a few
 * eps yy (cancellation in its identity), and its gradient to a like absolute error: its
 * decrease test is noise once tol f < ~100 eps yy. So the residual form takes over once
 * f_prev <= h yy (w->handover), and on the iteration that hands over f and f_prev come
 * from different formulas: no decrease test there. The choice depends on the replicated
 * f of the previous iterates only, so a resumed run makes the same one. */
static rrr_status gd_evaluate(void *s, long k, int refresh, rrr_status *lst, rrr_eval *ev)
{
    rrr_gd_ws *w = s;
    const rrr_problem *pb = w->pb;
    const int xf = w->cross && !(w->fprev <= w->handover);
    const int xf_prev = w->cross && !(w->fprev2 <= w->handover);
    const int fresh = refresh || (k > 0 && k % RRR_GD_W_REFRESH == 0);
    w->form = xf ? &rrr_gd_cross : &rrr_gd_residual;
    rrr_status st = w->form->gradient(w, fresh, lst, &ev->flags, &ev->fresh);
    ev->have_flags = 1;
    if (st != RRR_OK || ev->flags.fail)
        return st;
    ev->f = w->f;
    ev->g = rrr_norm2(pb->p * (size_t)pb->d, w->gU, pb->q * (size_t)pb->d, w->gV);
    /* The iterates are balanced (U^T U = V^T V), so grad_U = G V and grad_V = G^T U have
     * the same units. The start is not: at U = 0 the scale of V is a free gauge (B = 0
     * whatever it is) and grad_U f(0, cV) = c grad_U f(0, V). In the iterates' gauge the
     * start's gradient norm is g0 ||V_1|| / ||V_0||; measured against the orthonormal V_0,
     * the ratio test would scale with ||B||^1/2 and test the data's units, not progress
     * (Y scaled by 1e-120 "converged" at once, Y scaled by 1e100 never). */
    if (k == 1 && w->v0_norm > 0)
        ev->g0_scale = rrr_norm2(pb->q * (size_t)pb->d, w->V, 0, NULL) / w->v0_norm;
    ev->comparable = xf == xf_prev;
    /* (100 eps)^2 ||Yc||^2 for f from the residual; the cross form cannot see that far */
    ev->floor = xf ? -1.0 : 1e4 * DBL_EPSILON * DBL_EPSILON * pb->yy;
    if (xf_prev && !xf)
        rrr_info(w->ctx, "gd: f <= %.1e ||Yc||^2: the residual form takes over at iteration %ld",
                 w->handover / pb->yy, k);
    return RRR_OK;
}

/* Local. The preconditioned direction Z = P^-1 gU (V^T V)^+ and the Polak-Ribiere+ update
 * of D; returns the slope <gU, D> < 0 (a restart from -Z when D is not a descent direction).
 * P is fixed for the run, so the Polak-Ribiere formula with <Z, g> stays that of a fixed
 * metric. */
static double direction(rrr_gd_ws *w, rrr_status *lst)
{
    const rrr_problem *pb = w->pb;
    const size_t pd = pb->p * (size_t)pb->d;
    memcpy(w->Z, w->gU, pd * sizeof *w->Z);
    if (*lst == RRR_OK)
        *lst = rrr_solve_right_psd(pb->d, w->VtV, pb->p, w->Z, &w->ctx->err);
    rrr_pc_apply(&w->pc, w->Z);
    double zg = rrr_dot(pd, w->Z, w->gU);
    double beta = w->zg_prev > 0 ? (zg - rrr_dot(pd, w->Z, w->gprev)) / w->zg_prev : 0.0;
    if (!(beta > 0))
        beta = 0.0;
    cblas_dscal((int)pd, beta, w->D, 1);
    cblas_daxpy((int)pd, -1.0, w->Z, 1, w->D, 1);
    double slope = rrr_dot(pd, w->gU, w->D);
    if (!(slope < 0)) {
        memcpy(w->D, w->Z, pd * sizeof *w->D);
        cblas_dscal((int)pd, -1.0, w->D, 1);
        slope = -zg;
    }
    memcpy(w->gprev, w->gU, pd * sizeof *w->gprev);
    w->zg_prev = zg;
    return slope;
}

/* Local. The exact step along D: a = -slope / (2 c), c = tr(E^T E V^T V) + lambda tr(D^T D
 * V^T V) = <D, H D V^T V> (the curvature of f along D, halved); c / <D, P D V^T V> is a
 * Rayleigh quotient of P^-1 H, recorded for the condition number the iterations see. */
static double line_step(rrr_gd_ws *w, double slope)
{
    const int p = (int)w->pb->p, d = w->pb->d;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, w->D, p, w->D, p, 0.0,
                w->DtD, d);
    double c = rrr_dot((size_t)d * d, w->ete, w->VtV) +
               w->pb->lambda * rrr_dot((size_t)d * d, w->DtD, w->VtV);
    rrr_pc_observe(&w->pc, w->D, w->VtV, c);
    return c > 0 ? -slope / (2.0 * c) : 0.0;
}

/* Local. V = Y^T A' (A'^T A' + lambda U'^T U')^+ after the step, from w->AtA and w->CtU. */
static rrr_status update_v(rrr_gd_ws *w)
{
    const int q = (int)w->pb->q, d = w->pb->d, p = (int)w->pb->p;
    memcpy(w->H, w->AtA, (size_t)d * d * sizeof *w->H);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, w->pb->lambda, w->U, p, w->U,
                p, 1.0, w->H, d);
    memcpy(w->V, w->CtU, (size_t)q * d * sizeof *w->V);
    return rrr_solve_right_psd(d, w->H, (size_t)q, w->V, &w->ctx->err);
}

/* Local. The gauge U -> U S, V -> V S^-T leaves f unchanged but not the gradient norm
 * (grad_U = G V grows with V): keep U^T U = V^T V so that the stopping test on the gradient
 * means the same thing whatever scale the updates drifted to. The CG memory and the Gram
 * product follow the gauge (D -> D S, W -> W S, previous gradient -> g S^-T), so the
 * iteration itself is unaffected. */
static rrr_status rebalance(rrr_gd_ws *w)
{
    const int d = w->pb->d;
    double *S = w->H, *Sinv = w->H + (size_t)d * d;
    int balanced;
    rrr_status st = rrr_balance(w->pb->p, w->pb->q, d, w->U, w->V, S, Sinv, &balanced,
                                &w->ctx->err);
    if (st != RRR_OK || !balanced)
        return st;
    double *right[5] = { w->U, w->V, w->D, w->form == &rrr_gd_cross ? w->W : NULL, w->gprev };
    const double *by[5] = { S, Sinv, S, S, Sinv };
    const int rows[5] = { (int)w->pb->p, (int)w->pb->q, (int)w->pb->p, (int)w->pb->p,
                          (int)w->pb->p };
    for (int k = 0; k < 5; k++) {
        const int m = rows[k];
        if (right[k] == NULL)
            continue;
        memcpy(w->tmp, right[k], (size_t)m * d * sizeof *w->tmp);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, d, d, 1.0, w->tmp, m, by[k], d,
                    0.0, right[k], m);
    }
    return RRR_OK;
}

/* The engine's step from iterate k: direction, pass along it, exact step, V, balance. */
static rrr_status gd_step(void *s, long k, rrr_status *lst)
{
    rrr_gd_ws *w = s;
    rrr_flags fl;
    (void)k;
    double t0 = rrr_phase_begin();
    double slope = direction(w, lst);
    rrr_phase_end(w->ctx, RRR_T_SOLVE, t0);
    rrr_status st = w->form->along(w, lst, &fl);
    if (st != RRR_OK)
        return st;
    if (fl.fail)
        return rrr_agree(w->ctx, *lst);
    t0 = rrr_phase_begin();
    w->step = line_step(w, slope);
    cblas_daxpy((int)(w->pb->p * (size_t)w->pb->d), w->step, w->D, 1, w->U, 1);
    w->form->update(w, w->step);
    *lst = update_v(w);
    if (*lst == RRR_OK)
        *lst = rebalance(w);
    rrr_phase_end(w->ctx, RRR_T_SOLVE, t0);
    w->fprev2 = w->fprev;
    w->fprev = w->f;
    return RRR_OK;
}

/* ---- checkpoints and progress ------------------------------------------------------ */

static void gd_save_state(void *s, rrr_ckpt_state *cs)
{
    rrr_gd_ws *w = s;
    cs->U = w->U;
    cs->V = w->V;
    cs->D = w->D;
    cs->gprev = w->gprev;
    cs->W = w->W;
    cs->zg_prev = w->zg_prev;
    cs->w_valid = w->w_valid;
}

static void gd_restored(void *s, rrr_ckpt_state *cs)
{
    rrr_gd_ws *w = s;
    w->zg_prev = cs->zg_prev;
    w->w_valid = cs->w_valid;
    /* f at iterates k-1 and k-2 choose the form (both formats hold f_0 .. f_{k-1}) */
    const long k = cs->iter;
    w->fprev = k >= 1 ? cs->history[k - 1] : (double)INFINITY;
    w->fprev2 = k >= 2 ? cs->history[k - 2] : (double)INFINITY;
}

static void gd_progress(void *s, char *buf, size_t len)
{
    snprintf(buf, len, "  step %.3e", ((rrr_gd_ws *)s)->step);
}

/* Local. The preconditioner's part of the fit record (README "model.json"). */
static void precond_record(const rrr_pc *pc, rrr_fit_info *info)
{
    info->precond = pc->kind;
    snprintf(info->precond_why, sizeof info->precond_why, "%s", pc->why);
    info->precond_rank = pc->ell;
    info->condition_before = pc->cond_before;
    info->condition_after = NAN;
    info->precond_seconds = pc->seconds;
    info->setup_seconds += pc->seconds;
}

static const rrr_iter_ops gd_ops = { RRR_SOLVER_GD, gd_evaluate, gd_step, gd_save_state,
                                     gd_restored, gd_progress };

rrr_status rrr_solve_gd(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                        const rrr_plan *plan, rrr_model *m, rrr_fit_info *info)
{
    rrr_gd_ws w;
    rrr_iter_result r = { 0 };
    rrr_status st = ws_create(ctx, pb, o, plan->gd_xty, m->U, m->V, &w);
    if (st != RRR_OK)
        return st;
    /* h = 100 eps / tol within [1e4 eps, 1e-3]: a fit that explains more than 99.9 % of
     * ||Yc||^2 always finishes in the residual form */
    w.handover = fmin(1e-3, fmax(1e4 * DBL_EPSILON, 100 * DBL_EPSILON / o->tol)) * pb->yy;
    if (w.cross)
        setup_cross(&w, info);
    st = rrr_pc_build(ctx, pb, o, plan, &w.pc);
    precond_record(&w.pc, info);
    if (st == RRR_OK)
        st = start(&w);
    if (st == RRR_OK)
        st = rrr_iterate(ctx, pb, o, &gd_ops, &w, &r);
    rrr_iter_result_take(&r, info);
    info->condition_after = rrr_pc_cond_observed(&w.pc);
    ws_destroy(&w);
    return st;
}
