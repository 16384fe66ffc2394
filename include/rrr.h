/* include/rrr.h: the public API of rrr, distributed reduced-rank ridge regression on MPI.
 *
 *   minimize  f(U, V) = ||Y - X U V^T||_F^2 + lambda ||U V^T||_F^2
 *   X: n x p, Y: n x q, U: p x d, V: q x d, 1 <= d <= min(p, q), lambda >= 0.
 *
 * With Z = U V^T and G = 2 X^T (X Z - Y) + 2 lambda Z: grad_U f = G V, grad_V f = G^T U.
 * Rows of X and Y are split in contiguous blocks over the ranks of the context's
 * communicator, in rank order (rrr_partition's split, or any other: rrr_block_wrap_at);
 * U, V are replicated.
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
/* The same, for callers that hold a communicator as its Fortran handle: mpi4py's
 * comm.py2f(), a Fortran INTEGER communicator (MPI_Comm_f2c). Collective on it. */
rrr_status rrr_ctx_create_f(int fcomm, rrr_ctx **out);
/* Free a context (NULL-safe; sets *ctx = NULL). Collective. */
void rrr_ctx_destroy(rrr_ctx **ctx);
/* The agreed error message after a failed collective call (rrr_fit, rrr_block_read,
 * rrr_block_write, rrr_predict and rrr_score* first clear an earlier one). Local. */
const char *rrr_ctx_errmsg(const rrr_ctx *ctx);
/* Agree on local statuses (e.g. of rrr_block_wrap): every rank passes its own and all
 * return the same, the largest; rrr_ctx_errmsg then holds that rank's message on every
 * rank. Collective. */
rrr_status rrr_ctx_agree(rrr_ctx *ctx, rrr_status st);
/* Local. sizeof the public struct named type ("rrr_fit_opts", "rrr_fit_info", "rrr_model",
 * "rrr_block", "rrr_cv_opts", "rrr_cv_result"), 0 for another name: bindings that mirror
 * the structs (python/rrr) check their layout against the library they loaded. */
size_t rrr_sizeof(const char *type);
/* My rank and the number of ranks of the context. Local. */
int rrr_ctx_rank(const rrr_ctx *ctx);
int rrr_ctx_size(const rrr_ctx *ctx);
/* Quiet: no progress lines (warnings and errors still go to stderr). Local. */
void rrr_ctx_set_quiet(rrr_ctx *ctx, int quiet);
/* Ask the fits running in this process to stop, as SIGTERM does for the rrr command: at
 * the next iteration boundary (gd, als, cv's gd method) the ranks agree on it, write the
 * checkpoint the fit was given, and return RRR_ESTOPPED; a one-pass solver runs to its end.
 * Async-signal-safe: for a signal handler, or another thread while a fit runs (python/rrr's
 * Ctrl-C). rrr_stop_clear withdraws the request (before the next fit). Local. */
void rrr_stop_request(void);
void rrr_stop_clear(void);

/* The library version ("MAJOR.MINOR.PATCH"), as compiled in and as linked. Local. */
#define RRR_VERSION_STRING "0.9.0"
const char *rrr_version(void);

/* ---- row blocks --------------------------------------------------------------------- */

/* Read my row block of a 2-D matrix: a .npy file (<f8 or <f4, C or Fortran order), or an
 * HDF5 dataset named "FILE.h5:/path/to/dataset" (float64 or float32; also .hdf5, .he5).
 * Collective; path (global). Rejects malformed files and non-finite values (RRR_EINVAL),
 * missing or unreadable ones (RRR_EIO). On success *out is new (rrr_block_destroy). */
rrr_status rrr_block_read(rrr_ctx *ctx, const char *path, rrr_block **out);
/* Wrap memory the caller owns as my row block of an n x ncols matrix: a holds my nloc
 * rows (rrr_partition), row-major, and stays the caller's (borrowed: no copy, not freed
 * by rrr_block_destroy). Local. RRR_EINVAL (message in the context) if nloc is not my
 * share of n, a is NULL while nloc > 0, or a holds a NaN or an infinity (the message
 * gives its global row and column, as for a file). */
rrr_status rrr_block_wrap(rrr_ctx *ctx, size_t n, size_t ncols, size_t nloc, double *a,
                          rrr_block **out);
/* The same for rows that are not rrr_partition's: a holds the nloc rows from global row r0
 * (r0 + nloc <= n). Every call takes such blocks as long as the ranks' rows, in rank order,
 * are the n rows, each once: r0 is the exclusive prefix sum of nloc (rrr_fit and rrr_cv
 * check it, and that X, Y and the fold ids hold the same rows, RRR_EINVAL otherwise).
 * Local. RRR_EINVAL as rrr_block_wrap, or rows beyond n. */
rrr_status rrr_block_wrap_at(rrr_ctx *ctx, size_t n, size_t ncols, size_t r0, size_t nloc,
                             double *a, rrr_block **out);
/* Local. NULL-safe; sets *B = NULL. */
void rrr_block_destroy(rrr_block **B);
/* Write a distributed matrix to a .npy file, or to a new HDF5 file holding the float64
 * dataset of a "FILE.h5:/path" name (an existing FILE is replaced, not updated), atomically:
 * under a temporary name, renamed into place once every rank wrote its rows. Collective. */
rrr_status rrr_block_write(rrr_ctx *ctx, const rrr_block *B, const char *path);

/* ---- fitting ------------------------------------------------------------------------ */

typedef enum { RRR_SOLVER_AUTO, RRR_SOLVER_GD, RRR_SOLVER_ALS, RRR_SOLVER_EXACT } rrr_solver;
enum { RRR_CERT_OFF = 0, RRR_CERT_AUTO = 1, RRR_CERT_ON = 2 };

/* gd's preconditioner for the U-block (README "Preconditioning"): auto chooses none or
 * nystrom from a cheap estimate of cond(X^T X + lambda I); jacobi is D = diag(X^T X + lambda I);
 * nystrom is a randomized Nystrom approximation of X^T X plus the diagonal of the rest. */
typedef enum {
    RRR_PRECOND_AUTO, RRR_PRECOND_NONE, RRR_PRECOND_JACOBI, RRR_PRECOND_NYSTROM
} rrr_precond;

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
    int certificate;           /* f* and the optimality gap: RRR_CERT_AUTO (when it fits
                                  in memory and costs at most the fit), _ON, _OFF      */
    int gd_xty;                /* gd keeps X^T Y: 1 on, 0 off, -1 auto (memory, cost)  */
    int eig_route;             /* the closed form's eigenproblem: 1 p x p, 0 q x q, -1
                                  auto (the smaller: README "exact")                  */
    const double *U0, *V0;     /* gd's warm start (p x d, q x d column-major, borrowed,
                                  replicated), or NULL: U = 0 and a random V          */
    rrr_precond precond;       /* gd's U-block preconditioner (default auto)           */
    int precond_rank;          /* columns of its Nystrom sketch; 0: adaptive (README)  */
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
    int numerical_rank;        /* exact: how many of the top d components are above
                                  rounding level (< d: the fit is exact to rounding)  */
    char selected_by[16];      /* "cv" when rrr_cv chose rank and lambda; else empty  */
    double yy;                 /* ||Yc||_F^2: the scale of "zero" for f and f*         */
    double solve_seconds;      /* wall time of the solver (statistics + iterations)    */
    double setup_seconds;      /* its one-off part before the iterations (gd's X^T Y,
                                  als's statistics pass)                               */
    double *history;           /* objective at iterates 0 .. nhistory-1                */
    size_t nhistory;
    int ranks;
    struct rrr_plan *plan;     /* the decisions taken (owned; printed in the report)   */
    rrr_fit_opts opts;         /* the options of the fit (checkpoint: NULL), for model.json */
    const char *x_source, *y_source; /* where X and Y came from, for model.json: set by
                                  the caller (borrowed); NULL for memory              */
    /* gd's preconditioner (README "Preconditioning"); exact and als have none */
    rrr_precond precond;       /* the one that ran (auto has chosen)                   */
    char precond_why[256];     /* what it is and why auto chose it                     */
    int precond_rank;          /* l, the columns of its Nystrom sketch (0: none)       */
    double condition_before;   /* estimate (lower bound) of cond(X^T X + lambda I) from
                                  the diagonal and the sketch; NaN if not estimated    */
    double condition_after;    /* of the preconditioned U-block Hessian as the iterations
                                  saw it (Rayleigh quotients; a lower bound); NaN      */
    double precond_seconds;    /* its setup (part of setup_seconds)                    */
    double gradient_ratio;     /* gd, als: the gradient ratio the stopping test compared
                                  with sqrt(tol) at the last iterate, in the iterates'
                                  gauge (README "Stopping"); NaN for exact             */
    double fstar_error;        /* bound on fstar's absolute error, which widens the
                                  certificate's tolerance; NaN without fstar           */
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
/* As rrr_model_write, with the record as JSON text: record, a JSON object (rrr_fit_info_json's,
 * or a model.json read back), gives model.json all its members except format, files, rank,
 * lambda, n, p, q and intercept, which are m's own; rank 0's record is written. Collective.
 * RRR_EINVAL when record is not a JSON object (every rank checks its own). */
rrr_status rrr_model_write_record(rrr_ctx *ctx, const rrr_model *m, const char *record,
                                  const char *dir);
/* Local. The record model.json would hold for m and info (NULL: the model alone), without
 * format and files, as a NUL-terminated JSON object in *text (new: rrr_free). RRR_EINVAL
 * (no text pointer, or a model rrr_model_write refuses), RRR_EINTERNAL (memory). */
rrr_status rrr_fit_info_json(rrr_ctx *ctx, const rrr_model *m, const rrr_fit_info *info,
                             char **text);
/* Local. Free what the library allocated for the caller with malloc (rrr_fit_info_json). */
void rrr_free(void *p);
/* Read a model directory written by rrr_model_write. Collective. *out is new. Each file is
 * checked against model.json's checksums; on a mismatch the directory is read once more (a
 * writer may just have committed), then RRR_EINVAL: the files are not one model. */
rrr_status rrr_model_read(rrr_ctx *ctx, const char *dir, rrr_model **out);
/* As rrr_model_read, and *record (if record is not NULL) the text of the model.json that was
 * read and checked, the same on every rank: new, free with rrr_free. Collective. */
rrr_status rrr_model_read_record(rrr_ctx *ctx, const char *dir, rrr_model **out, char **record);
/* Local. NULL-safe; set *m (*info) = NULL. */
void rrr_model_destroy(rrr_model **m);
void rrr_fit_info_destroy(rrr_fit_info **info);

/* YHAT = X U V^T (+ intercept) for my rows; *out is new. Collective. RRR_EINVAL if X
 * does not have the model's p columns, or if the ranks pass different models. */
rrr_status rrr_predict(rrr_ctx *ctx, const rrr_model *m, const rrr_block *X, rrr_block **out);

/* mse = SSE / (n q) and r2 = 1 - SSE / SST over all entries (SST about the column means
 * of Y; when SST = 0, 1 if SSE = 0, else 0). Collective. RRR_EINVAL if Y and Yhat differ
 * in shape or hold no entries. */
rrr_status rrr_score(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat, double *mse,
                     double *r2);
/* Per output j: mse_j = SSE_j / n and r2_j = 1 - SSE_j / SST_j (SST_j about the mean of
 * column j; for a constant column 1 if SSE_j = 0, else 0, as scikit-learn's r2_score), and
 * r2_mean = the mean of r2_j (scikit-learn's default, multioutput="uniform_average").
 * mse_j, r2_j: q doubles each, or NULL. Collective. RRR_EINVAL as rrr_score. */
rrr_status rrr_score_outputs(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat,
                             double *mse_j, double *r2_j, double *r2_mean);

/* ---- model selection ------------------------------------------------------------------ */

enum { RRR_CV_MIN = 0, RRR_CV_1SE = 1 };
/* How cv gets its errors: from per-fold statistics (one pass; the default when they fit),
 * or by gd fits of the training rows, warm-started along the lambda path (large p). */
enum { RRR_CV_AUTO = 0, RRR_CV_STATISTICS = 1, RRR_CV_GD = 2 };

typedef struct {
    const int *ranks;          /* candidate ranks, ascending, distinct, in [1, min(p,q)]  */
    int nranks;
    const double *lambdas;     /* candidate penalties, ascending, distinct, >= 0          */
    int nlambdas;
    int folds;                 /* K >= 2 random folds from fold_seed (without fold_ids)   */
    uint64_t fold_seed;
    const rrr_block *fold_ids; /* or my rows' folds 0 .. K-1 (n x 1; borrowed), or NULL   */
    int rule;                  /* RRR_CV_MIN or RRR_CV_1SE                                */
    int method;                /* RRR_CV_AUTO, RRR_CV_STATISTICS or RRR_CV_GD              */
    rrr_fit_opts fit;          /* the final fit's options (its d and lambda are the choice) */
} rrr_cv_opts;

/* Local. Defaults: 5 folds, seed 0, rule min, rrr_fit_opts_default; no grids. */
void rrr_cv_opts_default(rrr_cv_opts *o);

/* The outcome of a search: errors of every (fold, rank, lambda) and the choice. Arrays are
 * row-major: cv_mse[r * nlambdas + l], sse[(k * nranks + r) * nlambdas + l]. */
typedef struct {
    int nranks, nlambdas, folds, rule;
    size_t n;                  /* rows                                                    */
    int random_folds;          /* the folds came from fold_seed (else from fold ids)      */
    uint64_t fold_seed;
    int *ranks;
    double *lambdas;
    long long *fold_sizes;     /* rows per fold                                           */
    double *cv_mse;            /* sum_k SSE_k / (n q)                                     */
    double *cv_se;             /* std over folds of SSE_k / (n_k q), divided by sqrt(K)   */
    double *sse;               /* SSE_k = ||Y_k - X_k B_-k||^2 (intercept included)       */
    int rank;                  /* the choice                                              */
    double lambda;
    double cv_mse_min;         /* the smallest cv_mse (the "min" rule's)                  */
    double cv_mse_choice;      /* cv_mse at the choice (above it under the 1se rule)     */
    int passes;                /* statistics passes over the data                         */
    char method[32];           /* "statistics" (one pass) or "gd" (large p)               */
    double flops;              /* of the per-fold algebra, per rank                       */
    long gd_iterations;        /* method gd: the iterations of all its fits               */
    long gd_not_converged;     /* method gd: of its K x nranks x nlambdas fits, those that
                                  stopped at max_iter before their stopping rule held     */
    double *cv_mse_rounding;   /* an estimate of cv_mse's rounding error: the statistics
                                  method's ||Y_k||^2 - 2 <C_k, B> + <B, G_k B> cancels down
                                  to ~eps ||Y_k||^2 (nearly exact fits); 0 for gd's, which
                                  sums the held-out residuals themselves                   */
} rrr_cv_result;

/* K-fold cross-validation over the grid, then the fit of all rows at the choice (README
 * "cv"). Collective. X, Y: my row blocks (borrowed); opts (global). On success *res and
 * *model are new (rrr_cv_result_destroy, rrr_model_destroy), and so is *info when info is
 * not NULL. RRR_EINVAL (bad grids, folds, options), RRR_ENUMERIC (lambda = 0 with a
 * singular training X^T X), RRR_ESTOPPED, RRR_EINTERNAL, the same on every rank. */
rrr_status rrr_cv(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y, const rrr_cv_opts *opts,
                  rrr_cv_result **res, rrr_model **model, rrr_fit_info **info);
/* Local. NULL-safe; sets *res = NULL. */
void rrr_cv_result_destroy(rrr_cv_result **res);
/* Write DIR/cv.json and DIR/cv.csv atomically (rank 0). Collective. */
rrr_status rrr_cv_write(rrr_ctx *ctx, const rrr_cv_result *res, const char *dir);

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
/* "auto", "none", "jacobi" or "nystrom". Local. */
const char *rrr_precond_name(rrr_precond p);

#endif
