/* src/npy.h: the .npy format: header parse/format (npy_header.c, serial, the only code
 * that knows the format) and the MPI-IO reads and writes of row blocks (npy_io.c). */
#ifndef RRR_NPY_H
#define RRR_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct {
    size_t rows, cols;  /* 2-D shape                               */
    size_t itemsize;    /* 8 for <f8 and <i8, 4 for <f4             */
    int integer;        /* <i8 (only fold ids may be integers)      */
    size_t data_offset; /* bytes before the first element          */
    int fortran;        /* 1: column-major data (fortran_order: True, what numpy.save
                           writes for a transposed array); 0: C order */
} rrr_npy_hdr;

/* Upper bound on the bytes rrr_npy_parse ever needs (magic + length + header). */
#define RRR_NPY_MAX_HEADER ((size_t)1 << 20)

/* Local, pure. Parse a .npy header from the first len bytes of a file whose total size is
 * file_size. Accepts versions 1.0/2.0/3.0, 2-D, C or Fortran order, '<f8', '<f4' or '<i8'
 * (fold ids only), and requires data_offset + rows*cols*itemsize == file_size exactly. On
 * rejection records in e a message "NAME: problem" (with the fix, where there is one) and
 * returns RRR_EINVAL. Never reads past buf[len-1]. */
rrr_status rrr_npy_parse(const unsigned char *buf, size_t len, uint64_t file_size,
                         const char *name, rrr_npy_hdr *h, rrr_err *e);

/* Local, pure. Write a version 1.0 '<f8' C-order header for a rows x cols array into buf
 * (cap bytes); returns its length (a multiple of 64), or 0 if cap is too small. */
size_t rrr_npy_format(char *buf, size_t cap, size_t rows, size_t cols);

struct rrr_outset;

/* Collective. Read only the header of path (rank 0 reads, broadcasts). */
rrr_status rrr_npy_read_header(rrr_ctx *ctx, const char *path, rrr_npy_hdr *h);
/* Collective. Read my row block of a .npy file, C or Fortran order (each rank its rows;
 * rrr_block_read in input.c chooses this reader by path). ids: an n x 1 column of fold
 * ids, which may also be <i8 (converted to double, exact below 2^53). */
rrr_status rrr_npy_read_rows(rrr_ctx *ctx, const char *path, int ids, rrr_block **out);
/* Collective. Write rows [r0, r0+nloc) of an n x cols row-major matrix into the temporary
 * of o's slot (output.h) with MPI_File_write_at_all; every rank takes part. What was
 * written is checked (status counts, MPI_File_sync, MPI_File_close): RRR_EIO, agreed. */
rrr_status rrr_npy_write_rows(rrr_ctx *ctx, struct rrr_outset *o, int slot, size_t n,
                              size_t cols, size_t r0, size_t nloc, const double *a);
/* Collective. Rank 0 writes a replicated rows x cols row-major matrix into the temporary
 * of o's slot; on rank 0 *hash (if not NULL) is the FNV-1a 64 of the file's bytes. */
rrr_status rrr_npy_write_small(rrr_ctx *ctx, struct rrr_outset *o, int slot, size_t rows,
                               size_t cols, const double *a, uint64_t *hash);
/* Collective. Every rank reads the whole (small) rows x cols matrix; *out is new. *hash
 * (if not NULL) is the FNV-1a 64 of the file's bytes as read, on every rank. */
rrr_status rrr_npy_read_small(rrr_ctx *ctx, const char *path, size_t *rows, size_t *cols,
                              double **out, uint64_t *hash);

#endif
