/* src/plan.h: every sizing decision of a fit in one place (plan.c): the statistics'
 * regime, the solver auto picks, whether gd keeps X^T Y, whether the certificate is
 * affordable. Made once per fit from replicated facts, printed in the log, saved in the
 * report; `rrr plan` prints it for any problem size without data. */
#ifndef RRR_PLAN_H
#define RRR_PLAN_H

#include <stddef.h>

#include "rrr.h"
#include "topk.h"

struct rrr_json;

/* The fractions of the memory per rank that the decisions allow (README "auto"). */
#define RRR_PLAN_REPLICATED_FRACTION 0.25   /* replicated statistics: p^2 + 2pq + 2q^2  */
#define RRR_PLAN_STATS_FRACTION 0.5         /* statistics at all (else gd, no f*)       */
#define RRR_PLAN_XTY_FRACTION (1.0 / 16)    /* gd keeps X^T Y (p q)                     */
#define RRR_PLAN_GRID_MIN_P 4096            /* default --grid-min-p                     */
#define RRR_PLAN_GD_ITERATIONS 100.0        /* gd's iterations assumed by the cost model */
#define RRR_PLAN_GRID_PANEL_BYTES (32.0 * 1024 * 1024) /* grid regime's row panels      */
#define RRR_PLAN_DATA_FRACTION 0.75         /* gd holds its rows and working set        */
/* gd's preconditioner (README "Preconditioning"): the sketch starts with RANK0 columns and
 * doubles up to min(RANK_MAX, max(RANK0, p/4), the rank of Xc), its 4 p l doubles within
 * PRECOND_FRACTION of the memory per rank */
#define RRR_PLAN_PRECOND_RANK0 8
#define RRR_PLAN_PRECOND_RANK_MAX 128
#define RRR_PLAN_PRECOND_FRACTION (1.0 / 16)

/* The machine as the plan sees it (measured once, at rrr_ctx_create). */
typedef struct {
    int ranks;           /* K                                                   */
    int node_ranks;      /* ranks on the most crowded node                      */
    double mem_per_rank; /* bytes: node memory (or cgroup limit) / ranks there  */
    int resident;        /* the rows are in memory already (a caller's blocks)  */
} rrr_machine;

typedef struct rrr_plan {
    rrr_machine mach;
    size_t n, p, q;
    int d;
    rrr_solver requested, solver;
    char solver_why[256];  /* why auto chose it (empty when not auto)              */
    int grid;              /* statistics on the 2-D BLACS grid (1) or replicated   */
    int gd_xty;            /* gd keeps X^T Y: its cross-product form               */
    rrr_route route;       /* the closed form's eigenproblem: p x p when p <= q    */
    int certificate;       /* f* is computed after the fit                         */
    int certificate_forced;/* --certificate: whatever it costs                     */
    char certificate_why[192]; /* why not, when it is not                          */
    double stats_bytes;    /* per rank, the statistics in the regime above         */
    /* memory per rank (bytes): exact and als stream their rows (two panels of panel_rows
     * rows, or RRR_DIRECT_DEPTH for rows bigger than memory, stream.h), gd holds them
     * (data_bytes, unless resident) */
    size_t panel_rows;
    double data_bytes;     /* X_i and Y_i: 8 ceil(n/K) (p + q)                      */
    double stream_bytes;   /* the pass's panels and blocks                          */
    double gd_bytes, exact_bytes, als_bytes; /* each solver's need                  */
    int gd_fits;           /* gd_bytes within RRR_PLAN_DATA_FRACTION of the memory  */
    double cost_exact, cost_gd; /* the cost model's flops per rank                 */
    rrr_precond precond;   /* gd's preconditioner as requested (auto: chosen at run time) */
    int precond_rank0;     /* the sketch's first block (or --precond-rank)          */
    int precond_rank_max;  /* ... and the most columns it may grow to               */
    size_t rank_bound;     /* min(p, n - intercept): rank(Xc) cannot exceed it      */
} rrr_plan;

/* Local. The machine of this context. */
rrr_machine rrr_machine_of(const rrr_ctx *ctx);

/* Local, pure: the same on every rank. The plan for an n x p, n x q problem of rank d. */
void rrr_plan_make(const rrr_machine *mach, size_t n, size_t p, size_t q, int d,
                   const rrr_fit_opts *o, rrr_plan *plan);

/* Local. After gd's iterations: is the certificate still worth its cost (at most the
 * fit's flops, unless forced)? Updates plan->certificate and the reason; returns it. */
int rrr_plan_certificate_after(rrr_plan *plan, long iterations);

/* Local. How cv gets its errors (rrr.h RRR_CV_*): from per-fold statistics when they fit
 * (replicated, in groups of folds if need be, or on the grid when p calls for it), else by
 * gd fits of the training sets; requested (not RRR_CV_AUTO) overrides. why: the reason
 * when it is gd. */
int rrr_plan_cv_method(const rrr_plan *plan, int K, int requested, char *why, size_t len);

/* Local. The plan as log lines (rank 0) and as a JSON object "plan". */
void rrr_plan_log(const rrr_ctx *ctx, const rrr_plan *plan);
void rrr_plan_json(struct rrr_json *j, const char *key, const rrr_plan *plan);

#endif
