/* src/npy.h: the .npy format: header parse/format (npy_header.c, serial, the only code
 * that knows the format) and the MPI-IO reads and writes of row blocks (npy_io.c). */
#ifndef RRR_NPY_H
#define RRR_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Which file a header came from (inode and modification time, both the same from every
 * node of a cluster file system): the data read later must come from that file, not from
 * another renamed over its path, or from it rewritten (rrr_input_same). All 0: unknown. */
typedef struct rrr_file_stamp {
    unsigned long long ino;
    long long mtime_ns;
} rrr_file_stamp;

typedef struct {
    size_t rows, cols;  /* 2-D shape                               */
    size_t itemsize;    /* 8 for <f8 and <i8, 4 for <f4             */
    int integer;        /* <i8 (only fold ids may be integers)      */
    size_t data_offset; /* bytes before the first element          */
    int fortran;        /* 1: column-major data (fortran_order: True, what numpy.save
                           writes for a transposed array); 0: C order */
    rrr_file_stamp stamp; /* the file it was read from (rrr_npy_read_header)   */
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
 * rrr_block_read in input.c chooses this reader by path), under its header hdr, read and
 * checked before (the data must then come from the file it was read from), or NULL: read
 * here. ids: an n x 1 column of fold ids, which may also be <i8 (converted to double,
 * exact below 2^53). */
rrr_status rrr_npy_read_rows(rrr_ctx *ctx, const char *path, const rrr_npy_hdr *hdr, int ids,
                             rrr_block **out);
/* Collective. The checks of an input header that rrr_npy_read_rows and the streams share:
 * a dtype rrr can use (<i8 only for fold ids: ids != 0), columns, sizes MPI-IO can count.
 * Replicated facts (the header was broadcast): the same verdict on every rank. */
rrr_status rrr_npy_check_input(rrr_ctx *ctx, const char *path, const rrr_npy_hdr *h, int ids);

/* An open .npy for reads of row panels (stream.c, rrr_npy_read_rows): C order through
 * nonblocking collective MPI-IO reads straight into the caller's buffer (no second copy for
 * <f8; <f4 is widened in place); Fortran order through a vector file view per panel into a
 * staging buffer of max_rows rows, then transposed (blocking). One read at a time. */
typedef struct rrr_npy_reader rrr_npy_reader;
/* Collective. Open path (header h, from rrr_npy_read_header) for panels of <= max_rows. */
rrr_status rrr_npy_reader_open(rrr_ctx *ctx, const char *path, const rrr_npy_hdr *h,
                               size_t max_rows, rrr_npy_reader **out);
/* Collective (every rank, in the same order; m = 0 takes part too). Start reading rows
 * [row, row + m) of the file into buf (m x cols doubles). Local status. */
rrr_status rrr_npy_reader_start(rrr_ctx *ctx, rrr_npy_reader *rd, size_t row, size_t m,
                                double *buf);
/* Local. Let the pending read progress. */
void rrr_npy_reader_poll(rrr_npy_reader *rd);
/* Local. Complete the pending read into buf (counts checked, <f4 widened). */
rrr_status rrr_npy_reader_finish(rrr_ctx *ctx, rrr_npy_reader *rd, double *buf);
/* Local. From now on each completed C-order read drops the file's pages it came through
 * from the page cache (POSIX_FADV_DONTNEED; Fortran order: nothing), for a pass over more
 * data than the cache would keep (stream.c says when). */
void rrr_npy_reader_drop_behind(rrr_npy_reader *rd);
/* Local. A read was given up (the file shrank under it) while its request was pending: its
 * buffer must outlive the process (MPI may still write into it). */
int rrr_npy_reader_stuck(const rrr_npy_reader *rd);
/* Collective. Complete what is pending and close. NULL-safe; sets *rd = NULL. */
void rrr_npy_reader_close(rrr_ctx *ctx, rrr_npy_reader **rd);

/* A .npy file written panel by panel (rrr gen; rrr_npy_write_rows is one panel): a running
 * checksum of each rank's bytes replaces the copy that the read-back check compares with. */
typedef struct rrr_npy_writer rrr_npy_writer;
/* Collective. Open the temporary of o's slot for an n x cols row-major <f8 matrix: size
 * checks, blocks reserved, the file verified to be rank 0's, the header written. */
rrr_status rrr_npy_writer_open(rrr_ctx *ctx, struct rrr_outset *o, int slot, size_t n,
                               size_t cols, rrr_npy_writer **out);
/* Collective (every rank, the same number of calls; m = 0 takes part). Write rows
 * [r0, r0 + m) of the matrix from a (m x cols). A rank's calls must cover its rows in
 * order (the read-back check reads them in that order). Agreed status. */
rrr_status rrr_npy_writer_rows(rrr_ctx *ctx, rrr_npy_writer *w, size_t r0, size_t m,
                               const double *a);
/* Collective. st: the caller's verdict so far. On RRR_OK sync, read every rank's rows back
 * and compare their checksum, then close; in every case close and free. Agreed status. */
rrr_status rrr_npy_writer_close(rrr_ctx *ctx, rrr_npy_writer **w, rrr_status st);

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
