/* src/input.h: where a path's data lives (input.c): a .npy file, or an HDF5 dataset named
 * FILE.h5:/path; and the checks that every reader applies to the values it read. */
#ifndef RRR_INPUT_H
#define RRR_INPUT_H

#include <stddef.h>

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

#endif
