/* src/optimal.c: the optimal value f* = min over rank <= d of f, from the closed form, for
 * the optimality certificate of every solver.
 *
 * f* = yy - sum_{i<=d} mu_i(M) from one statistics pass (solve_exact.c explains the formula
 * and its accuracy: absolute error a few eps * yy), or, with the pilot that pass carries in
 * the replicated regime, f evaluated at the closed form (rrr_gram_exact), which keeps the
 * digits yy - sum mu cancels. Cost: n (p^2 + 2pq) / K flops per rank
 * for the pass, then the dense algebra of the regime in use (replicated or 2-D grid).
 * "Affordable" (the plan decides, plan.c): the statistics fit in memory, i.e. the per-rank
 * need of the regime that would be used is at most half the memory per rank:
 *   replicated  8 (p^2 + 2pq + 2q^2) bytes       grid  8 (p^2 + 2pq + 2q^2) / K + 32 MB.
 * Otherwise, or when the closed form itself fails (G + lambda I singular to working
 * precision, e.g. lambda = 0 with a rank-deficient X, which gd can still fit), f* is NaN and
 * a warning says why; the fit itself is not failed for want of a certificate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gram.h"
#include "solvers.h"

rrr_status rrr_optimal_value(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_plan *plan,
                             double *fstar, double *fstar_err, double *Us, double *Vs)
{
    double *U = NULL, *V = NULL;
    rrr_gram *gr = NULL;
    *fstar = *fstar_err = NAN;
    if (!plan->certificate) {
        if (strcmp(plan->certificate_why, "--no-certificate") != 0)
            rrr_warn(ctx, "certificate: skipped (%s)", plan->certificate_why);
        return RRR_OK;
    }
    rrr_status st = RRR_OK;
    U = rrr_malloc(rq->p * (size_t)rq->d, sizeof *U);
    V = rrr_malloc(rq->q * (size_t)rq->d, sizeof *V);
    if (U == NULL || V == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "certificate: out of memory");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_gram_create(ctx, rq, plan->grid, &gr);
    if (st == RRR_OK)
        st = rrr_gram_exact(ctx, gr, rq->d, 0, U, V, fstar, fstar_err);
    rrr_gram_destroy(&gr);
    if (st == RRR_OK && Us != NULL && Vs != NULL) {
        memcpy(Us, U, rq->p * (size_t)rq->d * sizeof *U);
        memcpy(Vs, V, rq->q * (size_t)rq->d * sizeof *V);
    }
    free(U);
    free(V);
    if (st != RRR_OK) {
        /* agreed, so every rank clears the same recorded failure */
        rrr_warn(ctx, "certificate: no closed-form optimum (%s)", ctx->err.msg);
        ctx->err.st = RRR_OK;
        ctx->err.msg[0] = '\0';
        *fstar = *fstar_err = NAN;
    }
    return RRR_OK;
}
