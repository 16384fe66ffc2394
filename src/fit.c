/* src/fit.c: `rrr fit` as a library call: centring, solver choice (auto), the solve, and
 * the honest final evaluation (objective and gradient from a direct pass, certificate). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gram.h"
#include "internal.h"

void rrr_fit_opts_default(rrr_fit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->solver = RRR_SOLVER_AUTO;
    o->max_iter = 10000;
    o->tol = 1e-10; /* relative decrease 1e-10 and gradient ratio 1e-5: README "Stopping" */
    o->checkpoint_every = 100;
    o->grid_min_p = 0; /* 0: the exact/als modules decide (README "Memory") */
    o->certificate = 1;
    o->gd_xty = -1;
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

/* Collective. Column means (with an intercept) and ||Yc||_F^2, one allreduce. */
static rrr_status column_stats(rrr_ctx *ctx, rrr_problem *pb, int intercept, double **xm,
                               double **ym)
{
    size_t p = pb->p, q = pb->q, len = p + q + 2;
    double *s = rrr_calloc(len, sizeof *s);
    rrr_status st = RRR_OK;
    *xm = *ym = NULL;
    if (s == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    double t0 = MPI_Wtime();
    for (size_t il = 0; il < pb->nloc; il++) {
        const double *x = pb->Xt + il * p, *y = pb->Yt + il * q;
        if (intercept)
            for (size_t j = 0; j < p; j++)
                s[j] += x[j];
        for (size_t j = 0; j < q; j++) {
            if (intercept)
                s[p + j] += y[j];
            s[p + q] += y[j] * y[j];
        }
    }
    ctx->t[RRR_T_COMPUTE] += MPI_Wtime() - t0;
    rrr_allreduce_sum(ctx, s, len);
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
            for (size_t j = 0; j < q; j++) {
                (*ym)[j] = s[p + j] / nn;
                yy -= nn * (*ym)[j] * (*ym)[j]; /* only scales thresholds: cancellation harmless */
            }
        }
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

/* Collective (same answer on every rank). The cost model of README "Choosing a solver",
 * in flops per rank: exact = statistics pass n (p^2 + 2pq) / K + dense algebra
 * p^3/3 + 2p^2 q + 2q^2 p + 9q^3 (divided by K when the 2-D grid regime would hold G);
 * gd = an assumed 100 iterations of n 4pd / K + 6pqd (replicated) after a one-off 2npq / K
 * when it keeps X^T Y (rrr_gd_keeps_xty), else of n (6pd + 8qd) / K. exact wins ties, and
 * is ruled out when its statistics need more than half the memory per rank even on the grid. */
static rrr_solver choose(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                         char *why, size_t len)
{
    double n = (double)pb->n, p = (double)pb->p, q = (double)pb->q, d = pb->d, K = ctx->size;
    int grid = rrr_gram_use_grid(ctx, pb->p, pb->q, o);
    double avail = rrr_mem_per_rank(ctx);
    int xty = rrr_gd_keeps_xty(ctx, pb, o);
    double dense = p * p * p / 3 + 2 * p * p * q + 2 * q * q * p + 9 * q * q * q;
    double c_exact = n * (p * p + 2 * p * q) / K + (grid ? dense / K : dense);
    double c_gd = xty ? 2 * n * p * q / K + 100.0 * (n * 4 * p * d / K + 6 * p * q * d)
                      : 100.0 * n * (6 * p * d + 8 * q * d) / K;
    double mem = 8.0 * (p * p + 2 * p * q + 2 * q * q) / (grid ? K : 1.0);
    if (mem > 0.5 * avail) {
        snprintf(why, len, "the statistics need %.3g GB per rank, more than half of the %.3g GB "
                 "available: gd", mem / 1e9, avail / 1e9);
        return RRR_SOLVER_GD;
    }
    snprintf(why, len, "cost model: exact %.3g flops/rank (%s) vs gd %.3g (100 iterations "
             "assumed)", c_exact, grid ? "2-D grid" : "replicated", c_gd);
    return c_exact <= c_gd ? RRR_SOLVER_EXACT : RRR_SOLVER_GD;
}

static rrr_model *model_new(const rrr_problem *pb, const rrr_fit_opts *o, int ranks)
{
    rrr_model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->n = pb->n;
    m->p = pb->p;
    m->q = pb->q;
    m->d = pb->d;
    m->lambda = o->lambda;
    m->intercept = o->intercept;
    m->ranks = ranks;
    m->fstar = NAN;
    m->yy = pb->yy;
    m->solver_requested = o->solver;
    m->U = rrr_calloc(pb->p * (size_t)pb->d, sizeof(double));
    m->V = rrr_calloc(pb->q * (size_t)pb->d, sizeof(double));
    if (m->U == NULL || m->V == NULL)
        rrr_model_destroy(&m);
    return m;
}

rrr_status rrr_fit(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y,
                   const rrr_fit_opts *o, rrr_model **out)
{
    rrr_problem pb = { .n = X->n, .p = X->ncols, .q = Y->ncols, .nloc = X->nloc, .d = o->d,
                       .lambda = o->lambda, .Xt = X->a, .Yt = Y->a };
    double *xm = NULL, *ym = NULL, *gU = NULL, *gV = NULL;
    rrr_model *m = NULL;
    *out = NULL;
    rrr_status st = column_stats(ctx, &pb, o->intercept, &xm, &ym);
    if (st != RRR_OK)
        return st;
    pb.xm = xm;
    pb.ym = ym;
    m = model_new(&pb, o, ctx->size);
    gU = rrr_malloc(pb.p * (size_t)pb.d, sizeof *gU);
    gV = rrr_malloc(pb.q * (size_t)pb.d, sizeof *gV);
    if (m == NULL || gU == NULL || gV == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory for the model");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto done;

    m->solver = o->solver;
    if (o->solver == RRR_SOLVER_AUTO) {
        m->solver = choose(ctx, &pb, o, m->solver_why, sizeof m->solver_why);
        rrr_info(ctx, "auto: chose %s (%s)", rrr_solver_name(m->solver), m->solver_why);
    }
    rrr_info(ctx, "fit: n=%zu p=%zu q=%zu d=%d lambda=%g solver=%s ranks=%d%s", pb.n, pb.p,
             pb.q, pb.d, pb.lambda, rrr_solver_name(m->solver), ctx->size,
             o->intercept ? " intercept" : "");
    double t_solve = MPI_Wtime();
    switch (m->solver) {
    case RRR_SOLVER_EXACT: st = rrr_solve_exact(ctx, &pb, o, m); break;
    case RRR_SOLVER_ALS: st = rrr_solve_als(ctx, &pb, o, m); break;
    default: st = rrr_solve_gd(ctx, &pb, o, m); break;
    }
    m->solve_seconds = MPI_Wtime() - t_solve;
    if (st != RRR_OK)
        goto done;

    /* The reported objective and gradient are recomputed from the data at the returned
     * U, V, whatever the solver tracked internally. */
    st = rrr_canonicalize(pb.p, pb.q, pb.d, m->U, m->V, &ctx->err);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_evaluate(ctx, &pb, m->U, m->V, &m->objective, gU, gV);
    if (st != RRR_OK)
        goto done;
    double g2 = 0;
    for (size_t k = 0; k < pb.p * (size_t)pb.d; k++)
        g2 += gU[k] * gU[k];
    for (size_t k = 0; k < pb.q * (size_t)pb.d; k++)
        g2 += gV[k] * gV[k];
    m->gradient_norm = sqrt(g2);
    if (!isfinite(m->objective))
        st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "fit: the objective at the solution is not finite");
    if (st == RRR_OK && o->certificate && isnan(m->fstar))
        st = rrr_optimal_value(ctx, &pb, o, &m->fstar);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK && o->intercept) {
        m->x_mean = xm;
        m->y_mean = ym;
        xm = ym = NULL;
    }
done:
    free(xm);
    free(ym);
    free(gU);
    free(gV);
    if (st != RRR_OK)
        rrr_model_destroy(&m);
    *out = m;
    return st;
}

void rrr_model_destroy(rrr_model **m)
{
    if (m == NULL || *m == NULL)
        return;
    free((*m)->U);
    free((*m)->V);
    free((*m)->x_mean);
    free((*m)->y_mean);
    free((*m)->history);
    free(*m);
    *m = NULL;
}
