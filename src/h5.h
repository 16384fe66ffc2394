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

/* An open dataset for reads of row panels (stream.c): each read is one collective H5Dread
 * of a hyperslab of rows (blocking). */
typedef struct rrr_h5_reader rrr_h5_reader;
/* Collective. Open file and dataset dset, checked as rrr_h5_read_rows checks them (ids:
 * integer datasets of fold ids too). */
rrr_status rrr_h5_reader_open(rrr_ctx *ctx, const char *file, const char *dset,
                              const char *name, int ids, rrr_h5_reader **out);
/* Local. The bytes of one chunk when the dataset is chunked and filtered (compressed),
 * else 0: HDF5 decompresses a chunk whole for every read that touches it. */
double rrr_h5_reader_filtered_chunk(const rrr_h5_reader *rd);
/* Local. The dataset's shape and its element size in the file. */
void rrr_h5_reader_shape(const rrr_h5_reader *rd, size_t *n, size_t *cols, size_t *itemsize);
/* Collective (every rank; m = 0 takes part). Rows [row, row + m) into buf (m x cols). */
rrr_status rrr_h5_reader_read(rrr_ctx *ctx, rrr_h5_reader *rd, size_t row, size_t m,
                              double *buf);
/* Collective. NULL-safe; sets *rd = NULL. RRR_EIO if the file did not close cleanly. */
rrr_status rrr_h5_reader_close(rrr_ctx *ctx, rrr_h5_reader **rd);

/* Collective. Create file (which must not exist: it is a temporary name) holding the
 * distributed matrix B as the float64 dataset dset (groups created as needed); each rank
 * writes its rows with one collective H5Dwrite. */
rrr_status rrr_h5_write_rows(rrr_ctx *ctx, const char *file, const char *dset,
                             const char *name, const rrr_block *B);

/* Local (serial: one rank). The name of the file that holds dataset dset of file, which an
 * external link may put in another file, into out (cap bytes); 0 when it cannot be opened. */
int rrr_h5_source(const char *file, const char *dset, char *out, size_t cap);

/* Local (serial). The name of the k-th (from 0) external raw-data file of dataset dset of
 * file (H5Pset_external: its values live outside the HDF5 file), as stored (a relative name
 * is relative to where the reader runs), into out; 0 when there is no k-th or it cannot be
 * read. */
int rrr_h5_external(const char *file, const char *dset, int k, char *out, size_t cap);

/* Local. "1.10.8" (the HDF5 library rrr runs with), or NULL when built without HDF5. */
const char *rrr_h5_version(void);

#endif
