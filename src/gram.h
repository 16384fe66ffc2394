/* src/gram.h: the sufficient statistics G = X^T X, C = X^T Y, yy = ||Y||_F^2 (of the centred
 * data with an intercept) from one streamed pass over the rows, and the dense algebra on
 * them, replicated on every rank or distributed on a 2-D BLACS grid (stats.c; used by
 * solve_exact.c, solve_als.c, optimal.c, cv_grid.c). README "exact" and "Memory per rank". */
#ifndef RRR_GRAM_H
#define RRR_GRAM_H

#include <stdint.h>

#include "comm.h"
#include "grid.h"
#include "problem.h"
#include "stream.h"
#include "topk.h"

/* What a statistics pass is asked for (the same on every rank). */
typedef struct {
    rrr_input *X, *Y;   /* the rows (borrowed)                                               */
    size_t n, p, q;
    int d;
    double lambda;
    int intercept;      /* centre at the column means over all rows (found by the pass)     */
    int pilot;          /* replicated regime: fold the final evaluation into the pass (below) */
    int hash;           /* also the checkpoints' checksum of the data (als --checkpoint)     */
    int warn;           /* no intercept: warn of columns far from zero (rrr_warn_uncentred)  */
    rrr_route route;    /* the closed form's eigenproblem                                    */
} rrr_stats_req;

typedef struct {
    size_t p, q, n;
    double lambda;
    double yy;      /* ||Y - 1 ym^T||_F^2, summed over all rows                          */
    int grid;       /* 0: replicated regime, 1: 2-D grid regime                          */
    rrr_route route;/* the eigenproblem of the closed form: q x q or p x p (topk.h)      */
    int numerical_rank; /* of the whitened X^T Y among the top d (set by rrr_gram_exact) */
    double *xm, *ym;    /* the column means (intercept; NULL otherwise), owned           */
    int have_hash;      /* data_hash is the checkpoints' checksum of X and Y              */
    uint64_t data_hash;
    /* replicated regime (grid == 0); both in one allocation owned by R */
    double *R;      /* p x p, ld p: upper Cholesky factor of G + lambda I (upper only)  */
    double *C;      /* p x q, ld p: X^T Y                                                */
    /* the pilot (replicated regime): f as the exact quadratic around B0 = U0 V0^T,
     *   f(B) = f0 - 2 <C2, B - B0> + ||R (B - B0)||^2,  grad_B f = 2 (R^T R (B - B0) - C2),
     * C2 = Xc^T (Yc - Xc B0) - lambda B0, f0 = f(B0), accumulated in the same pass (the
     * residual at B0 row by row), so f and its gradient at the returned U, V need no second
     * pass and cancel nothing beyond f(B0) against f(B) (README "exact"). */
    int have_pilot;
    int d;
    double *U0, *V0, *C2; /* p x d, q x d, p x q; owned                                 */
    double f0;
    /* the QR of [Xc Yc; sqrt(lambda) I 0] (replicated regime, ill-conditioned X: stats_qr.c):
     * R holds R11, C = R11^T T, and f(B) = rr + ||T - R11 B||_F^2 replaces the pilot's */
    double *T;      /* p x q, the whitened X^T Y; NULL without the QR                    */
    double rr;      /* ||R22||_F^2, the ridge residual                                   */
    /* grid regime (grid == 1) */
    rrr_grid *g;
    rrr_dmat Rd;    /* p x p: upper Cholesky factor of G + lambda I                      */
    rrr_dmat Cd;    /* p x q: X^T Y                                                      */
} rrr_gram;

/* Collective. One streamed pass over the rows of rq (centred at their column means with
 * rq->intercept: accumulated about the first panels' means and corrected afterwards; a
 * second pass at the exact means if that correction cancelled more than a digit) gives G,
 * C, yy in the regime grid (the plan's: 0 replicated, 1 2-D grid); rq->pilot adds the
 * pilot (replicated regime); then G + lambda I is factored once (Cholesky), with a check
 * for numerical singularity. Non-finite input is RRR_EINVAL (file, row and column), sums
 * outside double's range RRR_ENUMERIC (as rrr_check_scale). *out is new
 * (rrr_gram_destroy). RRR_ENUMERIC when G + lambda I is not numerically positive definite
 * (message suggests --lambda > 0), RRR_EINTERNAL on allocation failure. */
rrr_status rrr_gram_create(rrr_ctx *ctx, const rrr_stats_req *rq, int grid, rrr_gram **out);

/* Statistics summed elsewhere (rrr cv's totals), replicated: G (p x p, upper), C (p x q),
 * yy, and with an intercept the column means they are centred at (else NULL). */
typedef struct {
    const double *G, *C;
    double yy;
    const double *xm, *ym;
} rrr_sums;

/* Collective. The replicated statistics of rq's rows from given sums instead of a pass,
 * factored as rrr_gram_create does (no pilot), the QR pass over rq's rows included when
 * the sums are singular or ill-conditioned. */
rrr_status rrr_gram_from_sums(rrr_ctx *ctx, const rrr_sums *sums, const rrr_stats_req *rq,
                              rrr_gram **out);

/* Collective. The 2-D grid of the grid regime (block size by p). *out is new. */
rrr_status rrr_gram_grid_new(rrr_ctx *ctx, size_t p, rrr_grid **out);

/* Collective. The grid regime's pass over rows in memory (cv_grid.c: one fold's rows,
 * centred at the given pb->xm, pb->ym when not NULL): G (upper) = Xc^T Xc and C = Xc^T Yc
 * as new dmats on g, and yy = ||Yc||^2. Each rank's rows go to the 2-D grid a panel at a
 * time (pdgemr2d), nothing n-sized is copied. */
rrr_status rrr_gram_pass_grid(rrr_ctx *ctx, const rrr_problem *pb, const rrr_grid *g,
                              rrr_dmat *G, rrr_dmat *C, double *yy);

/* Local (replicated: the same on every rank). Sums of n products of entries up to xmax
 * (ymax) must stay within double's range: RRR_ENUMERIC saying how to rescale otherwise. */
rrr_status rrr_check_scale(rrr_err *e, size_t n, double xmax, double ymax);

/* Local (replicated). gr holds an exact quadratic for f: the pilot's or the QR's. */
int rrr_gram_has_quadratic(const rrr_gram *gr);

/* Local, replicated (rrr_gram_has_quadratic). f(U, V) alone from the exact quadratic, which
 * cancels nothing against yy (als's iterates: f = yy - 2 tr(..) + .. from the statistics
 * is known to eps yy only), at O((p + q) d) memory: 4 p q d flops with the pilot, 2 p q d
 * + p^2 d with the QR. RRR_EINTERNAL on allocation failure. */
rrr_status rrr_gram_objective(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                              const double *V, double *f);

/* Local, replicated (rrr_gram_has_quadratic). f(U, V) and its gradients gU (p x d), gV
 * (q x d) from the exact quadratic: no pass over the data (the same numbers on every
 * rank). gU = gV = NULL: f alone. */
rrr_status rrr_gram_evaluate(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                             const double *V, double *f, double *gU, double *gV);

/* Above this estimate of cond(R D^{-1}) (R the Cholesky factor of G + lambda I, D its
 * column norms) the normal equations lose more than ~4 of f's digits (eps cond^2 > 1e-4):
 * rrr_gram_create redoes the statistics by QR (stats_qr.c), when its
 * rrr_gram_qr_doubles(p, q) fit in half the memory per rank. */
#define RRR_QR_COND 1e6

/* Local, pure. Doubles per rank that rrr_gram_qr allocates (~4(p^2 + pq) + 256(p + q)). */
size_t rrr_gram_qr_doubles(size_t p, size_t q);
/* Local (replicated). They fit in half the memory per rank. */
int rrr_gram_qr_fits(const rrr_ctx *ctx, size_t p, size_t q);

/* Collective (replicated regime). Whether gr's Cholesky factor is ill-conditioned past
 * RRR_QR_COND: one verdict on every rank (0 where a rank lacks memory for the estimate). */
int rrr_gram_ill(rrr_ctx *ctx, const rrr_gram *gr);

/* Collective (replicated regime, after a pass that found the means). A second pass over
 * rq's rows: the QR of [Xc; sqrt(lambda) I], applied to [Yc; 0] as it goes, replaces R, C,
 * yy and the pilot in gr (gr->T, gr->rr set). RRR_ENUMERIC if X's columns are dependent to
 * working precision (lambda = 0); RRR_EINTERNAL (memory) leaves gr as it was. */
rrr_status rrr_gram_qr(rrr_ctx *ctx, const rrr_stats_req *rq, rrr_gram *gr);

/* Local, replicated (gr->T). rrr_gram_evaluate from the QR: f = rr + ||T - R11 U V^T||^2. */
rrr_status rrr_gram_evaluate_qr(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                                const double *V, double *f, double *gU, double *gV);

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

/* Collective. out (p x k) = (G + lambda I)^{-1} C V, given CV = C V: rrr_gram_solve(CV), or
 * with the QR's T (stats_qr.c) R11^{-1} (T V), which skips the round trip R^{-T} R^T that
 * loses cond(R) digits on the ill-conditioned X that took the QR. */
rrr_status rrr_gram_ridge(rrr_ctx *ctx, rrr_gram *gr, int k, const double *V, const double *CV,
                          double *out);

/* Collective (solve_exact.c). Closed-form rank-d optimum from the statistics:
 * T = R^{-T} C, M = T^T T = C^T (G + lambda I)^{-1} C (q x q), W = top-d eigenvectors of M
 * (eigenvalues mu_1 >= ... >= mu_d), B* = R^{-1} T W W^T, as U (p x d), V (q x d) with
 * B* = U V^T (by gr->route: U = R^{-1} T W, V = W; or U = R^{-1} u, V = T^T u for the top
 * eigenvectors u of T T^T; topk.h), both replicated, and the optimal value *fstar with a
 * bound *fstar_err on its absolute error (may be NULL): f = yy - sum_{i<=d} mu_i, which
 * cancels to a few eps yy, or, where gr holds an exact quadratic (the pilot's or the QR's),
 * f at U V^T evaluated from it, which cancels nothing against yy (used when it lies within
 * the first's error band). keep_C = 0 lets it overwrite C. RRR_ENUMERIC if the eigensolver
 * fails. */
rrr_status rrr_gram_exact(rrr_ctx *ctx, rrr_gram *gr, int d, int keep_C, double *U, double *V,
                          double *fstar, double *fstar_err);
/* Local (solve_exact.c). The same in the replicated regime, without logging: U, V and the
 * top d eigenvalues w (the pilot's closed form). */
rrr_status rrr_gram_topd(rrr_ctx *ctx, rrr_gram *gr, int d, int keep_C, double *U, double *V,
                         double *w);

/* Local. sum over my rows of ||y_i - ym||^2 (ym NULL: 0), from the centred values (no
 * cancellation), row sums first: two-level summation. */
double rrr_local_yy(const rrr_problem *pb);

/* Local (replicated sums; rank 0 prints). Without --intercept, columns whose means exceed
 * their spread make the rank-d term spend its rank on the means: a warning saying to pass
 * --intercept (none when X has a constant column of its own). s holds the column sums of X
 * (p) and Y (q), then their sums of squares (p, q), over all n rows. */
void rrr_warn_uncentred(rrr_ctx *ctx, size_t n, size_t p, size_t q, int d, const double *s);

#endif
