/* src/h5.h: HDF5 datasets over MPI-IO (h5_io.c): each rank reads and writes only its
 * hyperslab of rows. Without HDF5 at build time every call fails with RRR_EINVAL and says
 * how to get it. */
#ifndef RRR_H5_H
#define RRR_H5_H

#include "ctx.h"

/* Collective. Read my rows of the 2-D float64 or float32 dataset dset of file (HDF5
 * converts byte order and float32 to double), contiguous or chunked, with one collective
 * H5Dread; name (the path as the user wrote it) is quoted in messages. A missing file or
 * dataset is RRR_EIO; a dataset of another type or rank, or a non-finite value, RRR_EINVAL.
 * With ids (fold ids), integer datasets are read too. On success *out is new. */
rrr_status rrr_h5_read_rows(rrr_ctx *ctx, const char *file, const char *dset,
                            const char *name, int ids, rrr_block **out);

/* Collective. Create file (which must not exist: it is a temporary name) holding the
 * distributed matrix B as the float64 dataset dset (groups created as needed); each rank
 * writes its rows with one collective H5Dwrite. */
rrr_status rrr_h5_write_rows(rrr_ctx *ctx, const char *file, const char *dset,
                             const char *name, const rrr_block *B);

/* Local. "1.10.8" (the HDF5 library rrr runs with), or NULL when built without HDF5. */
const char *rrr_h5_version(void);

#endif
