/* src/iterate.h: the iteration engine shared by the iterative solvers (iterate.c). It owns
 * what every solver does at an iteration boundary: the stop rule, the objective history,
 * agreement on stop and failure flags, signals, checkpoints and progress lines. A solver
 * is the math of one step: evaluate f and the gradient at the iterate, and step. */
#ifndef RRR_ITERATE_H
#define RRR_ITERATE_H

#include "checkpoint.h"
#include "comm.h"
#include "problem.h"

/* What a solver's evaluation says about the current iterate. */
typedef struct {
    double f, g;     /* objective and gradient norm                                       */
    double floor;    /* f <= floor: the fit is exact to rounding (negative: no such rule)  */
    int comparable;  /* f may be compared with the previous iterate's (decrease test)      */
    int fresh;       /* f, g come from freshly summed data (0: from recurrences; the engine
                        then asks for a fresh evaluation before it accepts convergence)    */
    double g0_scale; /* > 0: the initial gradient norm is to be rescaled by it (a gauge the
                        solver fixes only after its first step; once, at iterate 1)          */
    int have_flags;  /* the solver carried the flags in its own allreduce ...              */
    rrr_flags flags; /* ... and these are they                                            */
} rrr_eval;

/* An iterative solver as the engine drives it. s is the solver's workspace. */
typedef struct {
    rrr_solver solver; /* in checkpoints' fingerprints and messages */
    /* Collective. f and the gradient norm at iterate k; refresh = 1 asks for fresh sums.
     * A local failure goes to *lst (announced through the next allreduce); the return is
     * an agreed status. */
    rrr_status (*evaluate)(void *s, long k, int refresh, rrr_status *lst, rrr_eval *ev);
    /* Collective. One step from iterate k to k + 1 (same conventions). */
    rrr_status (*step)(void *s, long k, rrr_status *lst);
    /* Local. Point cs at the solver's checkpointed state (arrays and scalars). */
    void (*save_state)(void *s, rrr_ckpt_state *cs);
    /* Local. After a resume: take back the scalars of cs (the arrays were loaded in
     * place); may adapt a checkpoint of an older format. */
    void (*restored)(void *s, rrr_ckpt_state *cs);
    /* Local, may be NULL. Solver-specific text for the progress line (e.g. the step). */
    void (*progress)(void *s, char *buf, size_t len);
} rrr_iter_ops;

/* What the iterations produced (written into the caller's fit record). */
typedef struct {
    long iterations;
    int converged;
    char stop_reason[64];
    double g0;        /* gradient norm at the start (U_0, V_0) itself; from a checkpoint
                         of format 3 or older, the stopping test's initial norm */
    double ratio;     /* the gradient ratio the stopping test judged last (its gauge) */
    double *history;  /* f at iterates 0 .. nhistory-1 (new; the caller frees it) */
    size_t nhistory;
} rrr_iter_result;

/* Local. Move the result into the fit record (history ownership included). */
void rrr_iter_result_take(rrr_iter_result *res, rrr_fit_info *info);

/* Collective. Iterate from the solver's start (or from the checkpoint with --resume)
 * until the stop rule of README "Stopping" holds. */
rrr_status rrr_iterate(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                       const rrr_iter_ops *ops, void *s, rrr_iter_result *res);

/* Local, pure (same on every rank): the stop rule. Returns the reason to stop, or NULL
 * to go on, and sets *conv when it is convergence. */
const char *rrr_stop_rule(const rrr_fit_opts *o, long k, double f, double fprev, double g,
                          double g0, double floor, int *conv);

#endif
