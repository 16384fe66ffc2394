/* include/rrr.h: the public API of rrr, distributed reduced-rank ridge regression on MPI.
 *
 *   minimize  f(U, V) = ||Y - X U V^T||_F^2 + lambda ||U V^T||_F^2
 *   X: n x p, Y: n x q, U: p x d, V: q x d, 1 <= d <= min(p, q), lambda >= 0.
 *
 * With Z = U V^T and G = 2 X^T (X Z - Y) + 2 lambda Z: grad_U f = G V, grad_V f = G^T U.
 * Rows of X and Y are split in contiguous blocks over the ranks of the context's
 * communicator (rrr_partition); U, V are replicated.
 *
 * "Collective" functions are entered by every rank of the context with the same (global)
 * arguments and return the same status on every rank; their arguments are checked by the
 * library (RRR_EINVAL with a message in rrr_ctx_errmsg). "Local" ones do not communicate. */
#ifndef RRR_H
#define RRR_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "rrr_base.h"

/* ---- context ------------------------------------------------------------------------ */

/* Create a context on a duplicate of comm; measures the memory per rank and the ranks per
 * node once. Collective on comm. *out is new (rrr_ctx_destroy); NULL on failure. */
rrr_status rrr_ctx_create(MPI_Comm comm, rrr_ctx **out);
/* Free a context (NULL-safe; sets *ctx = NULL). Collective. */
void rrr_ctx_destroy(rrr_ctx **ctx);
/* The agreed error message after a failed collective call. Local. */
const char *rrr_ctx_errmsg(const rrr_ctx *ctx);
/* My rank and the number of ranks of the context. Local. */
int rrr_ctx_rank(const rrr_ctx *ctx);
int rrr_ctx_size(const rrr_ctx *ctx);
/* Quiet: no progress lines (warnings and errors still go to stderr). Local. */
void rrr_ctx_set_quiet(rrr_ctx *ctx, int quiet);

/* The library version ("MAJOR.MINOR.PATCH"), as compiled in and as linked. Local. */
#define RRR_VERSION_STRING "0.9.0"
const char *rrr_version(void);

/* ---- row blocks --------------------------------------------------------------------- */

/* Read my row block of a 2-D .npy file (<f8 or <f4). Collective; path (global). Rejects
 * malformed files and non-finite values (RRR_EINVAL), unreadable ones (RRR_EIO). On
 * success *out is new (rrr_block_destroy). */
rrr_status rrr_block_read(rrr_ctx *ctx, const char *path, rrr_block **out);
/* Wrap memory the caller owns as my row block of an n x ncols matrix: a holds my nloc
 * rows (rrr_partition), row-major, and stays the caller's (borrowed: no copy, not freed
 * by rrr_block_destroy). Local. RRR_EINVAL (message in the context) if nloc is not my
 * share of n, or a is NULL while nloc > 0. */
rrr_status rrr_block_wrap(rrr_ctx *ctx, size_t n, size_t ncols, size_t nloc, double *a,
                          rrr_block **out);
/* Local. NULL-safe; sets *B = NULL. */
void rrr_block_destroy(rrr_block **B);
/* Write a distributed matrix to a .npy file atomically (temporary name, then rename).
 * Collective. */
rrr_status rrr_block_write(rrr_ctx *ctx, const rrr_block *B, const char *path);

/* ---- fitting ------------------------------------------------------------------------ */

typedef enum { RRR_SOLVER_AUTO, RRR_SOLVER_GD, RRR_SOLVER_ALS, RRR_SOLVER_EXACT } rrr_solver;

typedef struct {
    int d;                     /* rank of the fit                                      */
    double lambda;             /* ridge penalty >= 0                                   */
    rrr_solver solver;         /* requested solver                                     */
    long max_iter;             /* iteration cap for gd and als                         */
    double tol;                /* relative objective decrease; gradient ratio sqrt(tol) */
    uint64_t seed;             /* start of the iterative solvers                       */
    int intercept;             /* centre columns of X and Y first                      */
    const char *checkpoint;    /* checkpoint directory or NULL                         */
    long checkpoint_every;     /* iterations between checkpoints                       */
    int resume;                /* continue from the checkpoint if there is one         */
    size_t grid_min_p;         /* p at or above which exact/als use the 2-D grid (0:
                                  the default, README "exact")                         */
    int certificate;           /* compute f* and the optimality gap when affordable    */
    int gd_xty;                /* gd keeps X^T Y: 1 on, 0 off, -1 auto (memory, cost)  */
} rrr_fit_opts;

/* Default options (README "Defaults"); d and lambda must still be set. Local. */
void rrr_fit_opts_default(rrr_fit_opts *o);

/* A fitted model: what predict needs. U (p x d) and V (q x d) are column-major and
 * replicated; x_mean (p) and y_mean (q) are NULL without an intercept. */
typedef struct {
    size_t n, p, q;            /* n: the rows it was fitted on                         */
    int d;
    double lambda;
    int intercept;
    double *U, *V, *x_mean, *y_mean;
} rrr_model;

struct rrr_plan;

/* The record of how a model was obtained: solver, honest figures, history, timings. */
typedef struct {
    rrr_solver solver, solver_requested;
    char solver_why[256];      /* why auto chose this solver                           */
    double objective;          /* f at (U, V), from a direct pass over the data        */
    double gradient_norm;      /* ||(grad_U f, grad_V f)||_F at (U, V)                 */
    double gradient_norm_initial; /* at the start; NaN for exact (no starting point)   */
    long iterations;
    int converged;
    char stop_reason[64];
    double fstar;              /* optimal value from the closed form, NaN if not known */
    double yy;                 /* ||Yc||_F^2: the scale of "zero" for f and f*         */
    double solve_seconds;      /* wall time of the solver (statistics + iterations)    */
    double setup_seconds;      /* its one-off part before the iterations (gd's X^T Y,
                                  als's statistics pass)                               */
    double *history;           /* objective at iterates 0 .. nhistory-1                */
    size_t nhistory;
    int ranks;
    struct rrr_plan *plan;     /* the decisions taken (owned; printed in the report)   */
} rrr_fit_info;

/* Fit U, V minimising ||Y - X U V^T||_F^2 + lambda ||U V^T||_F^2. Collective.
 * X, Y: my row blocks (local, borrowed); opts (global). On success *model is new
 * (rrr_model_destroy), and so is *info when info is not NULL (rrr_fit_info_destroy).
 * Returns RRR_EINVAL (bad options or shapes), RRR_ENUMERIC, RRR_ESTOPPED, RRR_EIO,
 * RRR_EINTERNAL, the same on every rank. */
rrr_status rrr_fit(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y,
                   const rrr_fit_opts *opts, rrr_model **model, rrr_fit_info **info);

/* Write DIR/U.npy, V.npy, model.json (and the means) all or nothing, model.json last with
 * the checksums of the others; info (may be NULL) adds the record of the fit to
 * model.json. Collective. RRR_EIO (nothing changed in DIR) on any failure. */
rrr_status rrr_model_write(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info,
                           const char *dir);
/* Read a model directory written by rrr_model_write. Collective. *out is new. Each file is
 * checked against model.json's checksums; on a mismatch the directory is read once more (a
 * writer may just have committed), then RRR_EINVAL: the files are not one model. */
rrr_status rrr_model_read(rrr_ctx *ctx, const char *dir, rrr_model **out);
/* Local. NULL-safe; set *m (*info) = NULL. */
void rrr_model_destroy(rrr_model **m);
void rrr_fit_info_destroy(rrr_fit_info **info);

/* YHAT = X U V^T (+ intercept) for my rows; *out is new. Collective. RRR_EINVAL if X
 * does not have the model's p columns. */
rrr_status rrr_predict(rrr_ctx *ctx, const rrr_model *m, const rrr_block *X, rrr_block **out);

/* mse = SSE / (n q) and r2 = 1 - SSE / SST over all entries (SST about the column means
 * of Y). Collective. RRR_EINVAL if Y and Yhat differ in shape. */
rrr_status rrr_score(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat, double *mse,
                     double *r2);

/* ---- the other commands ------------------------------------------------------------- */

/* rrr gen: write DIR/X.npy, Y.npy, U_true.npy, V_true.npy (README "gen"). Collective. */
rrr_status rrr_gen(rrr_ctx *ctx, size_t n, size_t p, size_t q, int d, double noise,
                   uint64_t seed, const char *dir);

/* Max relative error between analytic and central-difference gradients at a random point
 * drawn from seed. Collective. */
rrr_status rrr_gradcheck(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y, int d,
                         double lambda, uint64_t seed, double *max_rel_error);

/* "gd", "als", "exact" or "auto". Local. */
const char *rrr_solver_name(rrr_solver s);

#endif
