/* src/internal.h: struct bodies and helpers shared by the MPI modules (never installed). */
#ifndef RRR_INTERNAL_H
#define RRR_INTERNAL_H

#include <limits.h>
#include <signal.h>

#include "core.h"
#include "rrr.h"

/* ---- context (ctx.c) -------------------------------------------------------------- */

/* Phase timers, accumulated with MPI_Wtime; reports give max/avg/min over ranks. */
typedef enum {
    RRR_T_READ,      /* reading input files               */
    RRR_T_COMPUTE,   /* local arithmetic on my rows        */
    RRR_T_ALLREDUCE, /* combining partial sums             */
    RRR_T_SOLVE,     /* replicated or grid dense algebra   */
    RRR_T_WRITE,     /* writing outputs and checkpoints    */
    RRR_T_COUNT
} rrr_timer;

struct rrr_ctx {
    MPI_Comm comm; /* private duplicate: our collectives never match a user's */
    int rank, size;
    int quiet;
    rrr_err err;                /* this rank's first failure, or the agreed one */
    double t[RRR_T_COUNT];      /* seconds per phase on this rank               */
    double t_start;             /* MPI_Wtime at creation                        */
    unsigned long long bytes_read;
};

/* Collective. All ranks pass their local status; all return the same one, the largest
 * (lowest rank on ties), and ctx->err then holds that rank's message on every rank. */
rrr_status rrr_agree(rrr_ctx *ctx, rrr_status st);

/* Collective. In-place sum over ranks of count doubles (timed as RRR_T_ALLREDUCE; split
 * into chunks so no single message exceeds the int count limit). */
void rrr_allreduce_sum(rrr_ctx *ctx, double *buf, size_t count);

/* Logging to stderr: INFO and WARN from rank 0 (INFO silenced by quiet); Local. */
void rrr_info(const rrr_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rrr_warn(const rrr_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds since the context was created. Local. */
double rrr_elapsed(const rrr_ctx *ctx);

/* Set while a SIGTERM or SIGUSR1 is pending (signal.c); solvers read it at iteration
 * boundaries and agree on it with their next allreduce. */
extern volatile sig_atomic_t rrr_stop_requested;
void rrr_signals_install(void);

/* ---- outputs that appear atomically (output.c) ------------------------------------ */

#define RRR_MAX_OUTPUTS 8

/* Files written under temporary names and renamed together once every rank agrees. */
typedef struct {
    int count;
    char tmp[RRR_MAX_OUTPUTS][PATH_MAX];
    char dst[RRR_MAX_OUTPUTS][PATH_MAX];
} rrr_outset;

/* Collective. Empty set; temporary names carry rank 0's pid (broadcast). */
void rrr_outset_init(rrr_ctx *ctx, rrr_outset *o);
/* Local. Register dst; returns its temporary name ("dst.tmp.PID"), or NULL if full/too long. */
const char *rrr_outset_add(rrr_outset *o, const char *dst);
/* Collective. Agree on st; if OK, rank 0 renames every file (RRR_EIO on failure); otherwise
 * (or then) temporary files are removed. Returns the agreed status. */
rrr_status rrr_outset_finish(rrr_ctx *ctx, rrr_outset *o, rrr_status st);
/* Collective. Create directory dir if missing (its parent must exist: else RRR_EIO). */
rrr_status rrr_mkdir(rrr_ctx *ctx, const char *dir, const char *what);

/* ---- .npy over MPI-IO (npy_io.c) --------------------------------------------------- */

/* Collective. Read only the header of path (rank 0 reads, broadcasts). */
rrr_status rrr_npy_read_header(rrr_ctx *ctx, const char *path, rrr_npy_hdr *h);
/* Collective. Write rows [r0, r0+nloc) of an n x cols row-major matrix to path (usually a
 * temporary name) with MPI_File_write_at_all; every rank takes part. */
rrr_status rrr_npy_write_rows(rrr_ctx *ctx, const char *path, size_t n, size_t cols,
                              size_t r0, size_t nloc, const double *a);
/* Collective. Rank 0 writes a replicated rows x cols row-major matrix to path. */
rrr_status rrr_npy_write_small(rrr_ctx *ctx, const char *path, size_t rows, size_t cols,
                               const double *a);
/* Collective. Every rank reads the whole (small) rows x cols matrix; *out is new. */
rrr_status rrr_npy_read_small(rrr_ctx *ctx, const char *path, size_t *rows, size_t *cols,
                              double **out);

/* Solvers: Collective. Fill m->U, m->V (allocated by the caller, p x d and q x d), and
 * iterations, converged, stop_reason, history, gradient_norm_initial. The caller then
 * evaluates objective and gradient norm directly (rrr_evaluate). */
rrr_status rrr_solve_gd(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o, rrr_model *m);
/* Same answer on every rank: does gd keep X^T Y (its cross-product form)? --gd-xty, or auto
 * (README "gd"). */
int rrr_gd_keeps_xty(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o);
rrr_status rrr_solve_als(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o, rrr_model *m);
rrr_status rrr_solve_exact(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o, rrr_model *m);

/* Collective. Optimal value f* from the closed form (NaN if unaffordable). */
rrr_status rrr_optimal_value(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                             double *fstar);

/* Collective. f(U, V) from the residual itself (no cancellation-prone identities), and
 * the gradients gU (p x d), gV (q x d) if non-NULL. One pass over my rows, one allreduce. */
rrr_status rrr_evaluate(rrr_ctx *ctx, const rrr_problem *pb, const double *U, const double *V,
                        double *f, double *gU, double *gV);


/* Local. From the allreduced sums of rrr_pass_g at (U, V): U^T U, V^T V (d x d), f, and
 * the gradients gU (p x d), gV (q x d) (either may be NULL). */
void rrr_gradients(const rrr_problem *pb, const double *U, const double *V, const double *sums,
                   double *UtU, double *VtV, double *f, double *gU, double *gV);

/* ---- model, scores and reports (model.c, report.c) -------------------------------- */

/* Collective. mse = SSE/(n q) and r2 = 1 - SSE/SST (SST about the column means of Y). */
rrr_status rrr_score(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat, double *mse,
                     double *r2);

/* Local. (f - f*)/max(f*, eps ||Yc||^2); NaN without f*. */
double rrr_model_gap(const rrr_model *m);

/* Local. The model's fields of model.json (also the head of the --report file). */
void rrr_model_json_fields(rrr_json *j, const rrr_model *m);

/* The certificate threshold: a fit PASSES when its relative optimality gap is below this. */
#define RRR_GAP_THRESHOLD 1e-6

#endif
