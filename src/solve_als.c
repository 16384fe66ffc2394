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
 *   gU = 2 (A U - C V),   gV = 2 (V (R U)^T (R U) - C^T U).
 * f from the statistics is known to about eps * yy only (cancellation), so the rounding
 * floor here is f <= 100 eps yy rather than gd's (100 eps)^2 yy from a direct residual.
 * Stop rules otherwise as gd: converged when (f_prev - f)/f <= tol and
 * ||g|| / ||g0|| <= sqrt(tol); max_iter reached is converged = 0 with a warning. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "gram.h"

#define ALS_STREAM 0x616c73ULL /* "als": random stream of the start, apart from gd's */

typedef struct {
    double *CV, *RU, *AU, *CtU, *S, *Rv, *Q, *T; /* p x d, p x d, p x d, q x d, d x d x2, q x d, p x d */
    double *hist;
    size_t hcap;
} als_work;

static void work_free(als_work *w)
{
    free(w->CV);
    free(w->RU);
    free(w->AU);
    free(w->CtU);
    free(w->S);
    free(w->Rv);
    free(w->Q);
    free(w->T);
}

/* Local. S = B^T B (d x d, both triangles) for B m x d. */
static void gram_dd(size_t m, int d, const double *B, double *S)
{
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, d, (int)m, 1.0, B, (int)m, 0.0, S, d);
    for (int j = 0; j < d; j++)
        for (int i = j + 1; i < d; i++)
            S[IDX(i, j, d)] = S[IDX(j, i, d)];
}

/* Local. B (m x d) <- B Rv^T, through scratch T (m x d). */
static void right_mul_t(size_t m, int d, double *B, const double *Rv, double *T)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)m, d, d, 1.0, B, (int)m, Rv, d,
                0.0, T, (int)m);
    memcpy(B, T, m * (size_t)d * sizeof(double));
}

static double sumsq(size_t len, const double *a)
{
    double s = 0.0;
    for (size_t k = 0; k < len; k++)
        s += a[k] * a[k];
    return s;
}

/* Local. Append f to the history (capacity doubles as needed). */
static rrr_status push_history(rrr_err *e, als_work *w, size_t n, double f)
{
    if (n == w->hcap) {
        size_t cap = w->hcap ? 2 * w->hcap : 64;
        double *h = rrr_malloc(cap, sizeof *h);
        if (h == NULL)
            return RRR_FAIL(e, RRR_EINTERNAL, "als: out of memory for the history");
        if (n > 0)
            memcpy(h, w->hist, n * sizeof *h);
        free(w->hist);
        w->hist = h;
        w->hcap = cap;
    }
    w->hist[n] = f;
    return RRR_OK;
}

/* Collective. One ALS iteration from (U, V orthonormal, CV = C V) to the new pair, with
 * CV updated for the next one; *f and *g2 = ||g||^2 at the new pair. */
static rrr_status als_step(rrr_ctx *ctx, rrr_gram *gr, int d, double *U, double *V,
                           als_work *w, double *f, double *g2)
{
    const size_t p = gr->p, q = gr->q, pd = p * (size_t)d, qd = q * (size_t)d;
    rrr_status st = rrr_gram_solve(ctx, gr, d, w->CV, U);            /* U = A^{-1} C V   */
    if (st == RRR_OK)
        st = rrr_gram_mulR(ctx, gr, 0, d, U, w->RU);                 /* R U              */
    if (st == RRR_OK)
        st = rrr_gram_mulC(ctx, gr, 1, d, U, w->CtU);                /* C^T U            */
    if (st != RRR_OK)
        return st;
    gram_dd(p, d, w->RU, w->S);                                      /* S = U^T A U      */
    memcpy(V, w->CtU, qd * sizeof(double));
    st = rrr_solve_right_psd(d, w->S, q, V, &ctx->err);              /* V = C^T U S^+    */
    /* V = Q Rv, Rv = Q^T V; then U, R U, C^T U <- (.) Rv^T and V <- Q */
    if (st == RRR_OK) {
        memcpy(w->Q, V, qd * sizeof(double));
        st = rrr_orthonormalize(q, d, w->Q, &ctx->err);
    }
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, (int)q, 1.0, w->Q, (int)q, V,
                (int)q, 0.0, w->Rv, d);
    memcpy(V, w->Q, qd * sizeof(double));
    right_mul_t(p, d, U, w->Rv, w->T);
    right_mul_t(p, d, w->RU, w->Rv, w->T);
    right_mul_t(q, d, w->CtU, w->Rv, w->Q);
    st = rrr_gram_mulC(ctx, gr, 0, d, V, w->CV);                     /* C V (next step)  */
    if (st == RRR_OK)
        st = rrr_gram_mulR(ctx, gr, 1, d, w->RU, w->AU);             /* A U = R^T (R U)  */
    if (st != RRR_OK)
        return st;
    double tr = 0.0;
    for (size_t k = 0; k < qd; k++)
        tr += V[k] * w->CtU[k];
    *f = gr->yy - 2.0 * tr + sumsq(pd, w->RU);
    gram_dd(p, d, w->RU, w->S);
    double gu = 0.0;
    for (size_t k = 0; k < pd; k++) {
        double t = 2.0 * (w->AU[k] - w->CV[k]);
        gu += t * t;
    }
    /* gV = 2 (V S - C^T U) */
    memcpy(w->Q, w->CtU, qd * sizeof(double));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)q, d, d, 2.0, V, (int)q, w->S, d,
                -2.0, w->Q, (int)q);
    *g2 = gu + sumsq(qd, w->Q);
    return RRR_OK;
}

rrr_status rrr_solve_als(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                         rrr_model *m)
{
    const int d = pb->d;
    const size_t p = pb->p, q = pb->q, pd = p * (size_t)d, qd = q * (size_t)d;
    double *U = m->U, *V = m->V;
    als_work w = { 0 };
    rrr_gram *gr = NULL;
    double t_setup = MPI_Wtime();
    rrr_status st = rrr_gram_create(ctx, pb, o, &gr);
    m->setup_seconds = MPI_Wtime() - t_setup;
    if (st != RRR_OK)
        return st;
    w.CV = rrr_malloc(pd, sizeof(double));
    w.RU = rrr_malloc(pd, sizeof(double));
    w.AU = rrr_malloc(pd, sizeof(double));
    w.T = rrr_malloc(pd, sizeof(double));
    w.CtU = rrr_malloc(qd, sizeof(double));
    w.Q = rrr_malloc(qd, sizeof(double));
    w.S = rrr_malloc((size_t)d * d, sizeof(double));
    w.Rv = rrr_malloc((size_t)d * d, sizeof(double));
    if (!w.CV || !w.RU || !w.AU || !w.T || !w.CtU || !w.Q || !w.S || !w.Rv)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "als: out of memory");
    if (st == RRR_OK) {
        for (size_t j = 0; j < (size_t)d; j++)
            for (size_t i = 0; i < q; i++)
                V[IDX(i, j, q)] = rrr_rng_normal(o->seed, ALS_STREAM, i, j);
        memset(U, 0, pd * sizeof(double));
        st = rrr_orthonormalize(q, d, V, &ctx->err);
    }
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_gram_mulC(ctx, gr, 0, d, V, w.CV);
    if (st != RRR_OK)
        goto done;

    const double yy = gr->yy, floor_f = 100.0 * DBL_EPSILON * yy, t0 = rrr_elapsed(ctx);
    double g0 = 2.0 * sqrt(sumsq(pd, w.CV)), f_prev = yy, f = yy, gnorm = g0;
    long it = 0;
    /* The whole state at an iteration boundary is U, V, the iteration, f_prev, g0 and the
     * history; C V is recomputed from V exactly as the iteration computes it. */
    rrr_ckpt_state cs = { .U = U, .V = V }; /* no D, gprev, W: those are gd's */
    int resumed = 0;
    if (o->checkpoint != NULL && o->resume)
        st = rrr_checkpoint_load(ctx, pb, o, RRR_SOLVER_ALS, &cs, &resumed);
    if (st == RRR_OK && resumed) {
        it = cs.iter;
        f_prev = f = cs.fprev;
        g0 = cs.g0;
        w.hist = cs.history;
        w.hcap = cs.nhistory + 1;
        st = rrr_gram_mulC(ctx, gr, 0, d, V, w.CV);
    }
    if (st != RRR_OK)
        goto done;
    const long resumed_at = resumed ? it : -1;
    int done = 0, converged = 0;
    char reason[64] = "";
    m->gradient_norm_initial = g0;
    rrr_info(ctx, "als: start f %.10e |g| %.3e (%s regime)", yy, g0,
             gr->grid ? "2-D grid" : "replicated");
    for (;;) {
        /* Iteration boundary: every rank agrees on termination, failure and a pending
         * signal (the checkpoint hook goes here: U, V, it are the whole state). */
        int fl[3] = { done, st != RRR_OK, rrr_stop_requested != 0 };
        MPI_Allreduce(MPI_IN_PLACE, fl, 3, MPI_INT, MPI_MAX, ctx->comm);
        if (fl[1]) {
            st = rrr_agree(ctx, st);
            break;
        }
        if (fl[0])
            break;
        cs.iter = it;
        cs.fprev = f_prev;
        cs.g0 = g0;
        cs.history = w.hist;
        cs.nhistory = (size_t)it;
        if (fl[2]) {
            st = rrr_checkpoint_on_signal(ctx, pb, o, RRR_SOLVER_ALS, &cs);
            break;
        }
        if (o->checkpoint != NULL && it > 0 && it % o->checkpoint_every == 0 && it != resumed_at) {
            st = rrr_checkpoint_save(ctx, pb, o, RRR_SOLVER_ALS, &cs);
            if (st != RRR_OK)
                break;
        }
        if (it >= o->max_iter) {
            snprintf(reason, sizeof reason, "max_iter");
            break;
        }
        double g2 = 0.0;
        st = als_step(ctx, gr, d, U, V, &w, &f, &g2);
        if (st != RRR_OK)
            continue; /* agreed inside als_step; the boundary above reports it */
        it++;
        gnorm = sqrt(g2);
        st = push_history(&ctx->err, &w, (size_t)it - 1, f);
        if (st == RRR_OK && !isfinite(f))
            st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "als: non-finite objective at iteration %ld",
                          it);
        if (st != RRR_OK)
            continue;
        double ratio = g0 > 0 ? gnorm / g0 : 0.0;
        if (f <= floor_f) {
            done = converged = 1;
            snprintf(reason, sizeof reason, "objective at rounding floor");
        } else if ((f_prev - f) / f <= o->tol && ratio <= sqrt(o->tol)) {
            done = converged = 1;
            snprintf(reason, sizeof reason, "converged");
        }
        if (it == 1 || it % 10 == 0 || done)
            rrr_info(ctx, "als: iter %ld f %.10e |g| %.3e |g|/|g0| %.3e time %.3f s", it, f,
                     gnorm, ratio, rrr_elapsed(ctx) - t0);
        f_prev = f;
    }
    if (st != RRR_OK)
        goto done;
    /* Replicated results from one rank, so every rank holds identical bits. */
    MPI_Bcast(U, (int)pd, MPI_DOUBLE, 0, ctx->comm);
    MPI_Bcast(V, (int)qd, MPI_DOUBLE, 0, ctx->comm);
    MPI_Bcast(reason, (int)sizeof reason, MPI_CHAR, 0, ctx->comm);
    MPI_Bcast(&converged, 1, MPI_INT, 0, ctx->comm);
    m->iterations = it;
    m->converged = converged;
    snprintf(m->stop_reason, sizeof m->stop_reason, "%s", reason);
    m->history = w.hist;
    m->nhistory = (size_t)it;
    w.hist = NULL;
    /* Certificate: f* from the same statistics (U, V scratch: the work arrays T and Q). */
    if (o->certificate) {
        double fstar = NAN;
        st = rrr_gram_exact(ctx, gr, d, 1, w.T, w.Q, &fstar);
        m->fstar = fstar;
    }
done:
    work_free(&w);
    free(w.hist);
    rrr_gram_destroy(&gr);
    return st;
}
