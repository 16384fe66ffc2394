/* src/solve_als.c: alternating exact block minimisation of f over U and V from the
 * statistics G = X^T X, C = X^T Y, yy (one pass over the data; iterations cost nothing that
 * grows with n). A = G + lambda I = R^T R is factored once (stats.c).
 *
 *   U-step  U = A^{-1} C V (V^T V)^{-1}       V-step  V = C^T U (U^T A U)^{-1}
 *
 * We keep V orthonormal: after each V-step V = Q Rv (QR) and U <- U Rv^T, which leaves
 * U V^T unchanged, so the U-step is U = A^{-1} C V and U^T A U = (R U)^T (R U). The
 * product after a U-step, A^{-1} C V V^T, depends on span(V) only, and span(V) goes to
 * span(M V) with M = C^T A^{-1} C: ALS is subspace iteration on M, converging linearly with
 * ratio mu_{d+1}/mu_d to the closed-form optimum (solve_exact.c).
 *
 * Start: V0 = orthonormalised standard normal q x d matrix drawn from --seed (the same on
 * every rank and any number of ranks), U0 = 0; so f0 = yy and the initial gradient is
 * (-2 C V0, 0). A spectral start would be the exact solution already.
 *
 * Objective and gradient at (U, V), V orthonormal, from d-column products only:
 *   f  = yy - 2 tr(V^T C^T U) + ||R U||_F^2
 *   gU = 2 (A U - C V),   gV = 2 (V (R U)^T (R U) - C^T U),
 * computed by each step for the pair it produces (from its own products R U, C^T U, C V),
 * and from scratch at the start and after a resume; the step itself needs only C V,
 * which is C times the current V either way, so a resumed run continues bitwise. f from
 * the statistics is known to about eps * yy only (cancellation): on data far from zero
 * without --intercept (yy >> f) its decrease drowns in rounding long before the optimum,
 * so when 1000 eps yy exceeds tol f and the statistics hold an exact quadratic (the pilot's
 * or the QR's, replicated regime), f comes from it instead (rrr_gram_objective, 4 p q d
 * flops); the 2-D grid regime keeps the formula, and the rounding floor f <= 100 eps yy. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gram.h"
#include "iterate.h"
#include "linalg.h"
#include "rng.h"
#include "solvers.h"

typedef struct {
    rrr_ctx *ctx;
    rrr_gram *gr;
    int d;
    double *U, *V;                 /* borrowed: the model's                          */
    double *CV, *RU, *AU, *T;      /* p x d: C V, R U, A U = R^T R U, scratch         */
    double *CtU, *Q;               /* q x d: C^T U, scratch (QR, gV)                  */
    double *S, *Rv;                /* d x d: (R U)^T (R U), the triangle of V's QR    */
    int have_eval;                 /* the last step left f and g of its pair in:      */
    double f, g;
    double tol;                    /* --tol: the decrease test f must resolve         */
} als_ws;

static void ws_free(als_ws *w)
{
    double *all[] = { w->CV, w->RU, w->AU, w->T, w->CtU, w->Q, w->S, w->Rv };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
}

static double sumsq(size_t len, const double *a)
{
    double s = 0.0;
    for (size_t k = 0; k < len; k++)
        s += a[k] * a[k];
    return s;
}

/* Local. B (m x d) <- B Rv^T, through scratch T (m x d). */
static void right_mul_t(size_t m, int d, double *B, const double *Rv, double *T)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)m, d, d, 1.0, B, (int)m, Rv, d,
                0.0, T, (int)m);
    memcpy(B, T, m * (size_t)d * sizeof(double));
}

/* Local. f and ||g|| at (U, V) from the products C V, R U, C^T U, A U = R^T (R U) (f from
 * the exact quadratic where there is one); leaves S = (R U)^T (R U). Agreed. */
static rrr_status objective_gradient(als_ws *w, double *f, double *g)
{
    const rrr_gram *gr = w->gr;
    const int d = w->d;
    const size_t pd = gr->p * (size_t)d, qd = gr->q * (size_t)d;
    double tr = 0.0;
    for (size_t i = 0; i < qd; i++)
        tr += w->V[i] * w->CtU[i];
    *f = gr->yy - 2.0 * tr + sumsq(pd, w->RU);
    rrr_gram_dd(gr->p, d, w->RU, w->S);
    double gu = 0.0;
    for (size_t i = 0; i < pd; i++) {
        double t = 2.0 * (w->AU[i] - w->CV[i]);
        gu += t * t;
    }
    memcpy(w->Q, w->CtU, qd * sizeof(double)); /* gV = 2 (V S - C^T U) */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)gr->q, d, d, 2.0, w->V,
                (int)gr->q, w->S, d, -2.0, w->Q, (int)gr->q);
    *g = sqrt(gu + sumsq(qd, w->Q));
    /* the formula's f is good to ~eps yy: enough while that is far below the decrease test */
    if (!rrr_gram_has_quadratic(gr) || 1e3 * DBL_EPSILON * gr->yy <= w->tol * fabs(*f))
        return RRR_OK;
    return rrr_agree(w->ctx, rrr_gram_objective(w->ctx, gr, d, w->U, w->V, f));
}

/* The engine's evaluation at (U, V): what the step left, or (start, resume) from scratch. */
static rrr_status als_evaluate(void *s, long k, int refresh, rrr_status *lst, rrr_eval *ev)
{
    als_ws *w = s;
    rrr_gram *gr = w->gr;
    const int d = w->d;
    rrr_status st = RRR_OK;
    (void)k, (void)refresh, (void)lst;
    if (!w->have_eval) {
        st = rrr_gram_mulC(w->ctx, gr, 0, d, w->V, w->CV);
        if (st == RRR_OK)
            st = rrr_gram_mulR(w->ctx, gr, 0, d, w->U, w->RU);
        if (st == RRR_OK)
            st = rrr_gram_mulC(w->ctx, gr, 1, d, w->U, w->CtU);
        if (st == RRR_OK)
            st = rrr_gram_mulR(w->ctx, gr, 1, d, w->RU, w->AU);
        if (st == RRR_OK)
            st = objective_gradient(w, &w->f, &w->g);
        if (st != RRR_OK)
            return st;
    }
    w->have_eval = 0;
    ev->f = w->f;
    ev->g = w->g;
    ev->floor = 100.0 * DBL_EPSILON * gr->yy;
    ev->comparable = ev->fresh = 1;
    return RRR_OK;
}

/* The engine's step: U = A^{-1} C V, then V = C^T U (U^T A U)^+ made orthonormal (V = Q Rv,
 * U <- U Rv^T: U V^T unchanged); then C V for the next step and f, g of the new pair. */
static rrr_status als_step(void *s, long k, rrr_status *lst)
{
    als_ws *w = s;
    rrr_gram *gr = w->gr;
    const int d = w->d;
    const size_t p = gr->p, q = gr->q, qd = q * (size_t)d;
    (void)k, (void)lst;
    rrr_status st = rrr_gram_ridge(w->ctx, gr, d, w->V, w->CV, w->U); /* U = A^{-1} C V */
    if (st == RRR_OK)
        st = rrr_gram_mulR(w->ctx, gr, 0, d, w->U, w->RU);           /* R U              */
    if (st == RRR_OK)
        st = rrr_gram_mulC(w->ctx, gr, 1, d, w->U, w->CtU);          /* C^T U            */
    if (st != RRR_OK)
        return st;
    rrr_gram_dd(p, d, w->RU, w->S);                                  /* S = U^T A U      */
    memcpy(w->V, w->CtU, qd * sizeof(double));
    st = rrr_solve_right_psd(d, w->S, q, w->V, &w->ctx->err);        /* V = C^T U S^+    */
    if (st == RRR_OK) { /* V = Q Rv, Rv = Q^T V; then U, R U, C^T U <- (.) Rv^T, V <- Q */
        memcpy(w->Q, w->V, qd * sizeof(double));
        st = rrr_orthonormalize(q, d, w->Q, &w->ctx->err);
    }
    st = rrr_agree(w->ctx, st);
    if (st != RRR_OK)
        return st;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, (int)q, 1.0, w->Q, (int)q, w->V,
                (int)q, 0.0, w->Rv, d);
    memcpy(w->V, w->Q, qd * sizeof(double));
    right_mul_t(p, d, w->U, w->Rv, w->T);
    right_mul_t(p, d, w->RU, w->Rv, w->T);
    right_mul_t(q, d, w->CtU, w->Rv, w->Q);
    st = rrr_gram_mulC(w->ctx, gr, 0, d, w->V, w->CV);               /* C V (next step)  */
    if (st == RRR_OK)
        st = rrr_gram_mulR(w->ctx, gr, 1, d, w->RU, w->AU);          /* A U = R^T (R U)  */
    if (st == RRR_OK)
        st = objective_gradient(w, &w->f, &w->g);
    w->have_eval = st == RRR_OK;
    return st;
}

static void als_save_state(void *s, rrr_ckpt_state *cs)
{
    als_ws *w = s;
    cs->U = w->U;
    cs->V = w->V; /* no D, gprev, W: those are gd's */
}

/* After a resume the evaluation starts from scratch. A checkpoint of format 2 (before the
 * iteration engine) held f_1 .. f_k for als; the engine's history starts at f_0 = yy
 * (U = 0). */
static void als_restored(void *s, rrr_ckpt_state *cs)
{
    als_ws *w = s;
    w->have_eval = 0;
    if (cs->format != 2)
        return;
    memmove(cs->history + 1, cs->history, cs->nhistory * sizeof *cs->history);
    cs->history[0] = w->gr->yy;
    cs->nhistory++;
}

static const rrr_iter_ops als_ops = { RRR_SOLVER_ALS, als_evaluate, als_step, als_save_state,
                                      als_restored, NULL };

/* Collective. Workspace and the start: U = 0, V orthonormal from the seed. */
static rrr_status als_start(rrr_ctx *ctx, const rrr_fit_opts *o, als_ws *w)
{
    const size_t p = w->gr->p, q = w->gr->q, d = (size_t)w->d, pd = p * d, qd = q * d;
    w->CV = rrr_malloc(pd, sizeof(double));
    w->RU = rrr_malloc(pd, sizeof(double));
    w->AU = rrr_malloc(pd, sizeof(double));
    w->T = rrr_malloc(pd, sizeof(double));
    w->CtU = rrr_malloc(qd, sizeof(double));
    w->Q = rrr_malloc(qd, sizeof(double));
    w->S = rrr_malloc(d * d, sizeof(double));
    w->Rv = rrr_malloc(d * d, sizeof(double));
    rrr_status st = RRR_OK;
    if (!w->CV || !w->RU || !w->AU || !w->T || !w->CtU || !w->Q || !w->S || !w->Rv)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "als: out of memory");
    if (st == RRR_OK) {
        for (size_t j = 0; j < d; j++)
            for (size_t i = 0; i < q; i++)
                w->V[IDX(i, j, q)] = rrr_rng_normal(o->seed, RRR_STREAM_ALS_START, i, j);
        memset(w->U, 0, pd * sizeof(double));
        st = rrr_orthonormalize(q, (int)d, w->V, &ctx->err);
    }
    return rrr_agree(ctx, st);
}

/* Collective. Replicated results from one rank, so every rank holds identical bits. */
static void share(rrr_ctx *ctx, const als_ws *w)
{
    MPI_Bcast(w->U, (int)(w->gr->p * (size_t)w->d), MPI_DOUBLE, 0, ctx->comm);
    MPI_Bcast(w->V, (int)(w->gr->q * (size_t)w->d), MPI_DOUBLE, 0, ctx->comm);
}

rrr_status rrr_solve_als(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_problem *pb,
                         const rrr_fit_opts *o, const rrr_plan *plan, rrr_model *m,
                         rrr_fit_info *info, rrr_gram **keep, double *Us, double *Vs)
{
    als_ws w = { .ctx = ctx, .d = pb->d, .U = m->U, .V = m->V, .tol = o->tol };
    rrr_iter_result r = { 0 };
    double t_setup = rrr_phase_begin();
    *keep = NULL;
    rrr_status st = rrr_gram_create(ctx, rq, plan->grid, &w.gr);
    info->setup_seconds = rrr_phase_begin() - t_setup;
    if (st != RRR_OK)
        return st;
    /* the iterations see the problem's shape only; the checkpoints' checksum of the data
     * came with the pass (the rows are not in memory) */
    rrr_problem pbs = *pb;
    pbs.have_hash = w.gr->have_hash;
    pbs.data_hash = w.gr->data_hash;
    pbs.yy = w.gr->yy;
    st = als_start(ctx, o, &w);
    if (st == RRR_OK) {
        rrr_info(ctx, "als: start f %.10e (%s regime)", w.gr->yy,
                 w.gr->grid ? "2-D grid" : "replicated");
        st = rrr_iterate(ctx, &pbs, o, &als_ops, &w, &r);
    }
    rrr_iter_result_take(&r, info);
    if (st == RRR_OK)
        share(ctx, &w);
    /* Certificate: f* from the same statistics (U, V scratch: the work arrays T and Q). */
    if (st == RRR_OK && plan->certificate)
        st = rrr_gram_exact(ctx, w.gr, pb->d, 1, Us != NULL ? Us : w.T, Vs != NULL ? Vs : w.Q,
                            &info->fstar, &info->fstar_error);
    ws_free(&w);
    if (st == RRR_OK)
        *keep = w.gr; /* its means, the pilot's quadratic for the final evaluation */
    else
        rrr_gram_destroy(&w.gr);
    return st;
}
