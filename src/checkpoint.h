/* src/checkpoint.h: solver state saved atomically, fingerprinted, and resumed bitwise. */
#ifndef RRR_CHECKPOINT_H
#define RRR_CHECKPOINT_H

#include "comm.h"
#include "problem.h"

/* The replicated state of an iterative solver at iterate `iter`, evaluated and judged
 * "go on" (iterate.c). U, V, D, gprev, W are borrowed arrays of the solver (als has no D,
 * gprev, W: NULL); W = Xc^T Xc U is gd's running Gram product, meaningful when w_valid is
 * 1; fprev is f at iterate iter and history holds f at iterates 0 .. iter. format: the
 * file format a loaded checkpoint had: 4 now (3 without g0_start); 2 before the iteration
 * engine, when gd's
 * fprev was f at iter - 1 with history 0 .. iter-1 (written before its verdict) and als's
 * fprev f at iter with history 1 .. iter. */
typedef struct {
    long iter;
    double fprev, g0, zg_prev;
    double g0_start;    /* the gradient norm at the start itself (NaN: a format-3 file) */
    double *U, *V, *D, *gprev, *W;
    int w_valid;
    double *history;
    size_t nhistory, history_cap; /* a loaded history has room for history_cap values */
    uint64_t data_hash; /* checksum of X and Y, computed once (have_hash) */
    int have_hash;
    int format;
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

/* Collective. Before any work: DIR is usable as --checkpoint (a writable directory, or one
 * that can be made) and nothing at DIR/checkpoint.bin stops its rename (rrr_output_check,
 * rrr_output_names_check); what names the option in the message. RRR_EIO, agreed. */
rrr_status rrr_checkpoint_dir_check(rrr_ctx *ctx, const char *dir, const char *what);

/* Collective. A stop was requested by a signal: save (if --checkpoint) and return
 * RRR_ESTOPPED with a message saying what was kept. */
rrr_status rrr_checkpoint_on_signal(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                                    rrr_solver solver, rrr_ckpt_state *s);

#endif
