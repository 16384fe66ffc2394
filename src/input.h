/* src/input.h: where a path's data lives (input.c): a .npy file, or an HDF5 dataset named
 * FILE.h5:/path; and the checks that every reader applies to the values it read. */
#ifndef RRR_INPUT_H
#define RRR_INPUT_H

#include <stddef.h>

#include "ctx.h"
#include "err.h"

/* Local, pure. How path names its data: 1 for an HDF5 dataset "FILE:DATASET" where FILE
 * ends in .h5, .hdf5 or .he5 (any case), with FILE copied into file (cap bytes) and
 * *dset pointing at DATASET inside path; -1 for an HDF5 file named without a dataset (or
 * a FILE longer than cap); 0 for anything else (a .npy file). */
int rrr_path_h5(const char *path, char *file, size_t cap, const char **dset);

/* Local. The first non-finite entry of my nloc x cols row-major rows, whose first global
 * row is r0: RRR_EINVAL "NAME: non-finite value nan at row i, column j" (global i, j). */
rrr_status rrr_check_finite(rrr_err *e, const char *name, const double *a, size_t nloc,
                            size_t cols, size_t r0);

/* Collective. Read my rows of an n x 1 column of fold ids: a .npy (<f8, <f4 or <i8) or an
 * HDF5 dataset (rrr cv --fold-ids). Otherwise as rrr_block_read. */
rrr_status rrr_block_read_ids(rrr_ctx *ctx, const char *path, rrr_block **out);

/* Local (replicated). RRR_EIO "path too long" when path (an input) is PATH_MAX bytes or
 * more, as open would say: before rrr_path_h5, which cannot tell that from a FILE.h5 named
 * without its dataset. */
rrr_status rrr_input_path_fits(rrr_ctx *ctx, const char *path);
/* Local (replicated: the same verdict on every rank). An HDF5 file named without its
 * dataset: RRR_EINVAL, saying how to name one. */
rrr_status rrr_input_no_dataset(rrr_ctx *ctx, const char *path);
/* Collective. The same for an input, which may exist: a .npy file under an HDF5 name is
 * RRR_EINVAL, saying to rename it. */
rrr_status rrr_input_unnamed(rrr_ctx *ctx, const char *path);
/* Local. RRR_OK unless the file open at fd now holds fewer than need bytes: RRR_EIO, it
 * changed size while it was being read (readers past a file's new end either never complete
 * or complete with what they did not find: a hang, or a silently different fit). name
 * names it in the message; fd < 0: nothing to watch. */
rrr_status rrr_input_holds(rrr_err *e, int fd, long long need, const char *name);
struct rrr_file_stamp;
/* Local, pure but for the file system. The stamp (npy.h) of the file open at fd, or of
 * the file at path when fd < 0; all 0 when it cannot be had. */
void rrr_file_stamp_of(int fd, const char *path, struct rrr_file_stamp *s);
/* Local. RRR_OK unless the file open at fd (fd < 0: the file now at path) is not the one
 * stamped s: RRR_EIO, replaced or rewritten since its header (or shape) was read, whose
 * data would be read under a header that is not theirs (a wrong fit with exit 0). A stamp
 * of 0, or no file to look at, passes. */
rrr_status rrr_input_same(rrr_err *e, int fd, const char *path,
                          const struct rrr_file_stamp *s, const char *name);
/* Collective. Rank 0 finds file to be a regular file, opening it without blocking (a FIFO
 * would hang HDF5's open on every rank): RRR_EIO otherwise, agreed. stamp (or NULL): the
 * file's stamp, the same on every rank. */
rrr_status rrr_input_regular(rrr_ctx *ctx, const char *file, struct rrr_file_stamp *stamp);

struct rrr_outset;
/* Collective. Write the distributed matrix B to path (a .npy file or FILE.h5:/dataset)
 * under an exclusive temporary of the set o, renamed into place when o commits
 * (rrr_outset_finish): with the other outputs of a command, all or nothing. */
rrr_status rrr_block_stage(rrr_ctx *ctx, struct rrr_outset *o, const rrr_block *B,
                           const char *path);
/* Collective. Before any work: the file that path names (for FILE.h5:/dataset, FILE) can
 * be created where it goes (rrr_output_check); what names the option. */
rrr_status rrr_output_file_check(rrr_ctx *ctx, const char *path, const char *what);
/* Collective. Before any work: the output path out (a file, or FILE.h5:/dataset) is not
 * one of the input files (by device and inode, so links count): writing it would destroy
 * the data being read. RRR_EINVAL naming both, agreed. NULL inputs are skipped. */
rrr_status rrr_output_not_input(rrr_ctx *ctx, const char *out, const char *what,
                                const char *const *inputs, int ninputs);
/* Collective. Before any work: the output out is none of the other files others[k] that
 * the same command writes (or removes), whose saying what they are ("a file of --out m"),
 * so that one output cannot replace another: the same file by device and inode when both
 * exist, else the same resolved directory and name. RRR_EINVAL, agreed; NULLs skipped. */
rrr_status rrr_output_not_output(rrr_ctx *ctx, const char *out, const char *what,
                                 const char *const *others, int nothers, const char *whose);
/* Collective. a and b lead to the same file (links followed), or, where one does not
 * exist, name the same place (rank 0's verdict, the same on every rank); 0 when either is
 * NULL. */
int rrr_same_file(rrr_ctx *ctx, const char *a, const char *b);
/* Local, pure but for the file system. path's file lies directly in directory dir, which
 * may not exist yet (the --out DIR a command creates): "./m//" holds "m/r.json". */
int rrr_path_in_dir(const char *path, const char *dir);

#endif
