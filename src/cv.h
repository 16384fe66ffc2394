/* src/cv.h: the pieces of `rrr cv` (cv.c drives; cv_stats.c sums per fold; cv_solve.c is
 * the per-fold algebra). */
#ifndef RRR_CV_H
#define RRR_CV_H

#include "comm.h"
#include "problem.h"
#include "stream.h"
#include "topk.h"

/* Collective. rrr_cv over inputs (stream.h): the statistics method streams the rows (one
 * pass, or one per group of folds); the grid and gd methods read them into memory when
 * the plan finds room for them. */
rrr_status rrr_cv_inputs(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, const rrr_cv_opts *o,
                         rrr_cv_result **res, rrr_model **model, rrr_fit_info **info);

struct rrr_outset;
/* Collective. DIR/cv.json, DIR/cv.csv and (random folds) DIR/fold_ids.npy into the set o,
 * committed with the fit's files (rrr_outset_finish): all of them, or none. ids: the file
 * the fold ids were read from (the CLI's --fold-ids), or NULL. Given, a DIR/fold_ids.npy
 * of an earlier search is removed in the same commit (DIR describes this search only)
 * unless it is that file; NULL (the library, whose fold ids may have come from that very
 * file) leaves it as it is. */
rrr_status rrr_cv_stage(rrr_ctx *ctx, struct rrr_outset *o, const rrr_cv_result *res,
                        const char *ids, const char *dir);

/* One fold's sums over its rows, in one region of rrr_cv_flen(p, q) doubles:
 *   G (p x p, upper) | C (p x q) | sx (p) | sy (q) | yy | n
 * of X and Y centred at the global means (with an intercept; raw otherwise). */
typedef struct {
    double *G, *C, *sx, *sy, *yy, *n;
} rrr_cv_fold;

size_t rrr_cv_flen(size_t p, size_t q);
rrr_cv_fold rrr_cv_fold_at(double *region, size_t p, size_t q);

/* A search in progress. */
typedef struct {
    rrr_ctx *ctx;
    rrr_problem *pb;           /* centred by pb->xm, pb->ym with an intercept (set by the
                                  first statistics pass when the rows are streamed)     */
    rrr_input *X, *Y;          /* the rows (stream.h; borrowed)                         */
    int intercept;
    int warned;                /* rrr_warn_uncentred had its say (once per run)         */
    double *shift;             /* the first rows' means (p + q + 1), then m - s (p + q) */
    double *mean;              /* the column means (p + q), once known                  */
    const rrr_cv_opts *o;
    int K, D;                  /* folds; the largest candidate rank                     */
    rrr_route route;           /* the per-(fold, lambda) eigenproblem                   */
    int *fold;                 /* my rows' folds (nloc)                                 */
    int group;                 /* folds whose sums are in memory at once (<= K)         */
    int k0;                    /* the first of them                                     */
    double *stats;             /* group regions of fold sums (fold k0 first), then the
                                  totals                                                */
    double *sse;               /* [K][nranks][nlambdas]                                 */
    double *sse_mag;           /* ... the magnitudes their sums cancelled (rounding)    */
    double flops;              /* of the per-fold algebra on this rank                  */
    double cond;               /* the largest condition of a column-scaled Cholesky factor
                                  of a training X^T X + lambda I at the smallest lambda  */
    int cond_fold;             /* its fold                                              */
} rrr_cv_run;

/* Collective (cv_stats.c). Sum the statistics of folds [k0, k1) of my rows into regions
 * 0 .. k1-k0 (zeroed first) in one streamed pass, one allreduce per fold; when that is all
 * K folds, the totals (region `group`) as their sum, so every training set is exactly
 * total - fold. k0 == k1: the totals alone, from a pass of their own (folds in groups, for
 * want of memory). With an intercept the first pass also finds the means (cv->mean,
 * cv->pb->xm, ym). */
rrr_status rrr_cv_stats(rrr_cv_run *cv, int k0, int k1);

/* Local (cv_solve.c). The SSE of fold k for every rank and the lambdas l0, l0 + step, ...
 * (the others' cells untouched) from the replicated statistics: one eigendecomposition of
 * the training X^T X, then per lambda a diagonal rescaling and the top-D factors by the
 * route. RRR_ENUMERIC when lambda = 0 meets a singular training X^T X, RRR_EINVAL when a
 * training set has fewer rows than p. */
rrr_status rrr_cv_fold_sse(rrr_cv_run *cv, int k, int l0, int step);

/* Local (cv_solve.c). The eigenvalue of a training X^T X (lam: p, ascending) at or below
 * which a direction is null to working precision, p eps lam_max, dsyevd's accuracy: lambda
 * 0 needs lam_0 above it, and C~ is set to 0 in the directions below it. */
double rrr_cv_null_level(size_t p, const double *lam);

/* Local (cv_solve.c). SSE_k(d) for every candidate rank d from U (p x D), E = C_k V and
 * F = G_k U (p x D), V (q x D), columns by descending singular value: H = U^T F (D x D)
 * and S = V^T V (D x D) are formed in the buffers given (with V NULL, S holds V^T V
 * already); out[r * stride] for rank r, a place in cv->sse, and the magnitude of its terms
 * (yy + 2 |lin| + |quad|: their rounding) at the same place in cv->sse_mag. */
void rrr_cv_sse_ranks(const rrr_cv_run *cv, const double *U, const double *E, const double *F,
                      const double *V, double yyv, double *H, double *S, double *out, int stride);

/* Local (cv_solve.c). The training set's means minus the global ones, dx (p) and dy (q),
 * from the column sums of all rows (tsx, tsy) and of the fold (fsx, fsy), nt training
 * rows; and the change of ||y - dy||^2 summed over the fold's nk rows. */
void rrr_cv_shift(size_t p, size_t q, const double *tsx, const double *fsx, const double *tsy,
                  const double *fsy, double nt, double *dx, double *dy);
double rrr_cv_yy_shift(size_t q, const double *dy, const double *fsy, double nk);

/* Local. The flops of one fold's algebra with nl lambdas (cv_solve.c's count): through T
 * (the q x q route, and the grid regime's algebra), or via_m, the p x p route through
 * M = C~ C~^T. */
double rrr_cv_flops(size_t p, size_t q, int D, int nl, int via_m);

/* Collective (cv_gd.c). The whole search by gd fits of each training set (large p): each
 * rank's rows are reordered in place during the search and restored before it returns. */
rrr_status rrr_cv_gd_search(rrr_cv_run *cv, rrr_cv_result *res);

/* Collective (cv_grid.c). The whole search on the 2-D grid (large p): per-fold statistics
 * as block-cyclic matrices, and each fold's algebra with ScaLAPACK on all ranks. */
rrr_status rrr_cv_grid_search(rrr_cv_run *cv, rrr_cv_result *res);

#endif
