/* src/cv.h: the pieces of `rrr cv` (cv.c drives; cv_stats.c sums per fold; cv_solve.c is
 * the per-fold algebra). */
#ifndef RRR_CV_H
#define RRR_CV_H

#include "comm.h"
#include "problem.h"
#include "topk.h"

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
    const rrr_problem *pb;     /* centred by pb->xm, pb->ym with an intercept           */
    const rrr_cv_opts *o;
    int K, D;                  /* folds; the largest candidate rank                     */
    rrr_route route;           /* the per-(fold, lambda) eigenproblem                   */
    int *fold;                 /* my rows' folds (nloc)                                 */
    int group;                 /* folds whose sums are in memory at once (<= K)         */
    int k0;                    /* the first of them                                     */
    double *stats;             /* group regions of fold sums (fold k0 first), then the
                                  totals                                                */
    double *sse;               /* [K][nranks][nlambdas]                                 */
    double flops;              /* of the per-fold algebra on this rank                  */
} rrr_cv_run;

/* Collective (cv_stats.c). Sum the statistics of folds [k0, k1) of my rows into regions
 * 0 .. k1-k0 (zeroed first), one allreduce per fold; when that is all K folds, the totals
 * (region `group`) as their sum, so every training set is exactly total - fold. k0 == k1:
 * the totals alone, from a pass of their own (folds in groups, for want of memory). */
rrr_status rrr_cv_stats(rrr_cv_run *cv, int k0, int k1);

/* Local (cv_solve.c). The SSE of fold k for every (rank, lambda) from the replicated
 * statistics: one eigendecomposition of the training X^T X, then per lambda a diagonal
 * rescaling and the top-D factors by the route. RRR_ENUMERIC when lambda = 0 meets a
 * singular training X^T X, RRR_EINVAL when a training set has fewer rows than p. */
rrr_status rrr_cv_fold_sse(rrr_cv_run *cv, int k);

#endif
