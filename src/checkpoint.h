/* src/checkpoint.h: solver state saved atomically, fingerprinted, and resumed bitwise. */
#ifndef RRR_CHECKPOINT_H
#define RRR_CHECKPOINT_H

#include "internal.h"

/* The replicated state of an iterative solver at the top of iteration `iter` (before its
 * update). U, V, D, gprev, W are borrowed arrays of the solver (als has no D, gprev, W:
 * NULL); W = Xc^T Xc U is gd's running Gram product, meaningful when w_valid is 1;
 * history holds the objective of iterations 0 .. iter-1. */
typedef struct {
    long iter;
    double fprev, g0, zg_prev;
    double *U, *V, *D, *gprev, *W;
    int w_valid;
    double *history;
    size_t nhistory;
    uint64_t data_hash; /* checksum of X and Y, computed once (have_hash) */
    int have_hash;
} rrr_ckpt_state;

/* Collective. Write DIR/checkpoint.bin atomically (temporary file, fsync, rename): the
 * previous checkpoint stays valid until the new one is complete. */
rrr_status rrr_checkpoint_save(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                               rrr_solver solver, rrr_ckpt_state *s);

/* Collective. Load DIR/checkpoint.bin into s (s->history is then new, with room for one
 * more entry; the caller frees it); *resumed = 0 (with a note on stderr) when there is
 * none yet. A checkpoint of another problem, or a corrupt one, is RRR_EINVAL. */
rrr_status rrr_checkpoint_load(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                               rrr_solver solver, rrr_ckpt_state *s, int *resumed);

/* Collective. A stop was requested by a signal: save (if --checkpoint) and return
 * RRR_ESTOPPED with a message saying what was kept. */
rrr_status rrr_checkpoint_on_signal(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                                    rrr_solver solver, rrr_ckpt_state *s);

#endif
