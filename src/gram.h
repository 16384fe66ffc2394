/* src/gram.h: the sufficient statistics G = X^T X, C = X^T Y, yy = ||Y||_F^2 (of the centred
 * data with an intercept) and the dense algebra on them, replicated on every rank or
 * distributed on a 2-D BLACS grid (stats.c; used by solve_exact.c, solve_als.c, optimal.c).
 * The regimes and their memory are documented at the top of solve_exact.c. */
#ifndef RRR_GRAM_H
#define RRR_GRAM_H

#include "comm.h"
#include "grid.h"
#include "problem.h"
#include "topk.h"

typedef struct {
    size_t p, q;
    double lambda;
    double yy;      /* ||Y - 1 ym^T||_F^2, summed over all rows                          */
    int grid;       /* 0: replicated regime, 1: 2-D grid regime                          */
    rrr_route route;/* the eigenproblem of the closed form: q x q or p x p (topk.h)      */
    int numerical_rank; /* of the whitened X^T Y among the top d (set by rrr_gram_exact) */
    /* replicated regime (grid == 0); both in one allocation owned by R */
    double *R;      /* p x p, ld p: upper Cholesky factor of G + lambda I (upper only)  */
    double *C;      /* p x q, ld p: X^T Y                                                */
    /* grid regime (grid == 1) */
    rrr_grid *g;
    rrr_dmat Rd;    /* p x p: upper Cholesky factor of G + lambda I                      */
    rrr_dmat Cd;    /* p x q: X^T Y                                                      */
} rrr_gram;

/* Collective. One pass over my rows (centred by pb->xm, pb->ym if present) gives G, C, yy
 * in the regime grid (the plan's: 0 replicated, 1 2-D grid), the closed form by route;
 * then G + lambda I is factored once (Cholesky), with a check for numerical singularity.
 * *out is new (rrr_gram_destroy). RRR_ENUMERIC when G + lambda I is not numerically
 * positive definite (message suggests --lambda > 0), RRR_EINTERNAL on allocation failure. */
rrr_status rrr_gram_create(rrr_ctx *ctx, const rrr_problem *pb, int grid, rrr_route route,
                           rrr_gram **out);
/* Statistics summed elsewhere (rrr cv's totals), replicated: G (p x p, upper), C (p x q). */
typedef struct {
    const double *G, *C;
    double yy;
} rrr_sums;

/* Collective. The replicated statistics from given sums instead of a pass, factored as
 * rrr_gram_create does. */
rrr_status rrr_gram_from_sums(rrr_ctx *ctx, const rrr_sums *sums, size_t p, size_t q,
                              double lambda, rrr_route route, rrr_gram **out);

/* Collective. The 2-D grid of the grid regime (block size by p). *out is new. */
rrr_status rrr_gram_grid_new(rrr_ctx *ctx, size_t p, rrr_grid **out);

/* Collective. The grid regime's pass: G (upper) = Xc^T Xc and C = Xc^T Yc as new dmats on
 * g, and yy = ||Yc||^2, for the problem's rows in the row layout (pdgemr2d moves panels of
 * about 32 MB per rank to the 2-D grid). */
rrr_status rrr_gram_pass_grid(rrr_ctx *ctx, const rrr_problem *pb, const rrr_grid *g,
                              rrr_dmat *G, rrr_dmat *C, double *yy);

/* Collective (frees BLACS grids in the grid regime). NULL-safe; sets *gr = NULL. */
void rrr_gram_destroy(rrr_gram **gr);

/* Collective, replicated in and out (every rank passes and gets the whole k-column matrix).
 *   rrr_gram_mulC:  trans 0: out (p x k) = C in (q x k);  trans 1: out (q x k) = C^T in (p x k)
 *   rrr_gram_mulR:  trans 0: out = R in;  trans 1: out = R^T in        (p x k)
 *   rrr_gram_solve: out = (G + lambda I)^{-1} in = R^{-1} R^{-T} in      (p x k)
 * in and out must not overlap. RRR_EINTERNAL (grid regime, allocation), agreed. */
rrr_status rrr_gram_mulC(rrr_ctx *ctx, rrr_gram *gr, int trans, int k, const double *in,
                         double *out);
rrr_status rrr_gram_mulR(rrr_ctx *ctx, rrr_gram *gr, int trans, int k, const double *in,
                         double *out);
rrr_status rrr_gram_solve(rrr_ctx *ctx, rrr_gram *gr, int k, const double *in, double *out);

/* Collective (solve_exact.c). Closed-form rank-d optimum from the statistics:
 * T = R^{-T} C, M = T^T T = C^T (G + lambda I)^{-1} C (q x q), W = top-d eigenvectors of M
 * (eigenvalues mu_1 >= ... >= mu_d), B* = R^{-1} T W W^T, as U (p x d), V (q x d) with
 * B* = U V^T (by gr->route: U = R^{-1} T W, V = W; or U = R^{-1} u, V = T^T u for the top
 * eigenvectors u of T T^T; topk.h), both replicated, and f* = yy - sum_{i<=d} mu_i
 * (*fstar). keep_C = 0 lets it overwrite C. RRR_ENUMERIC if the eigensolver fails. */
rrr_status rrr_gram_exact(rrr_ctx *ctx, rrr_gram *gr, int d, int keep_C, double *U, double *V,
                          double *fstar);

/* Local. sum over my rows of ||y_i - ym||^2 (ym NULL: 0), from the centred values (no
 * cancellation), row sums first: two-level summation. */
double rrr_local_yy(const rrr_problem *pb);

#endif
