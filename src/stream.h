/* src/stream.h: input matrices as streams of row panels (stream.c). An input is a file (a
 * .npy in C or Fortran order, or an HDF5 dataset FILE.h5:/path) or a row block in memory;
 * a stream is one pass over my rows of X and Y together, in panels of a fixed height, with
 * the next panel read (nonblocking collective MPI-IO for C-order .npy, or a reader thread
 * with O_DIRECT for rows bigger than memory) while the caller works on the current one. The checks every reader applies are folded into the pass:
 * non-finite values (with their global row and column), the largest magnitudes (for the
 * overflow check of the statistics) and, on request, the checkpoints' data checksum.
 *
 *   rrr_stream *s;  rrr_panel pn;  rrr_status lst = RRR_OK;
 *   st = rrr_stream_open(ctx, X, Y, flags, &s);
 *   for (size_t k = 0; st == RRR_OK && k < rrr_stream_count(s); k++) {
 *       st = rrr_stream_next(s, lst, &pn);       (collective: agrees on lst and the reads)
 *       if (st == RRR_OK) lst = work(&pn);       (local; rrr_stream_poll(s) now and then)
 *   }
 *   st = rrr_stream_close(&s, st != RRR_OK ? st : lst, &facts);   (collective)
 *
 * Memory per rank: two panels of X and Y (double buffering), plus one panel's staging for
 * Fortran order: about 2 x RRR_STREAM_PANEL_BYTES, whatever n is; RRR_DIRECT_DEPTH panels
 * for rows read by the O_DIRECT reader thread (direct.h). */
#ifndef RRR_STREAM_H
#define RRR_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

/* Bytes of X and Y in one panel (the default; RRR_PANEL_ROWS=R sets the rows instead). */
#define RRR_STREAM_PANEL_BYTES ((size_t)16 << 20)

typedef struct rrr_input rrr_input;

/* Collective. An input named by path: a .npy file or FILE.h5:/dataset. Its header is read
 * and checked (shape, dtype, sizes) as rrr_block_read checks it; no data is read yet.
 * *out is new (rrr_input_close). */
rrr_status rrr_input_file(rrr_ctx *ctx, const char *path, rrr_input **out);
/* Local. An input over my row block B in memory (borrowed: B must outlive the input). */
rrr_status rrr_input_mem(rrr_ctx *ctx, const rrr_block *B, rrr_input **out);
/* Local. NULL-safe; frees a block that rrr_input_load read. */
void rrr_input_close(rrr_input **in);
/* Local. The global shape. */
size_t rrr_input_rows(const rrr_input *in);
size_t rrr_input_cols(const rrr_input *in);
/* Local. The input is a block in memory (wrapped, or loaded by rrr_input_load). */
int rrr_input_in_memory(const rrr_input *in);
/* Collective. My rows in memory: the wrapped block, or read now with rrr_block_read (kept
 * by the input and freed with it). *B is borrowed. */
rrr_status rrr_input_load(rrr_ctx *ctx, rrr_input *in, const rrr_block **B);

/* Collective. My rows [*r0, *r0 + *nloc) of X and of Y (Y may be NULL): a block's own,
 * rrr_partition's for a file. Any split will do, as long as the ranks' rows are the n rows
 * in rank order, each once, and the same rows of X and Y (RRR_EINVAL otherwise, agreed):
 * the solvers only sum over rows, and what depends on a row's global position (the folds,
 * the checksum, messages) takes it from *r0. */
rrr_status rrr_input_share(rrr_ctx *ctx, const rrr_input *X, const rrr_input *Y, size_t *r0,
                           size_t *nloc);

/* Local. The rows of a panel for an n x p, n x q pair: RRR_STREAM_PANEL_BYTES of X and Y
 * (at least 64 rows), or RRR_PANEL_ROWS from the environment (tests, measurements). The
 * same on every rank and for every kind of input, so a pass sums in the same order
 * whether its rows come from a file or from memory. */
size_t rrr_stream_panel_rows(size_t p, size_t q);

/* One panel of my rows: rows [i0, i0 + m) of my block (global rows r0 + i0 ...). m is 0
 * on a rank whose rows ran out (it still takes part). X (m x p) and Y (m x q) are
 * row-major, i.e. the column-major p x m and q x m matrices X^T and Y^T (ld p, q); they
 * are the stream's (or the caller's block's) and must not be written, except Y through Yw. */
typedef struct {
    size_t i0, m, r0;
    const double *X, *Y;
    double *Yw;                /* Y, when it is the stream's own buffer (files): the caller
                                * may overwrite it; NULL for rows in memory               */
} rrr_panel;

enum {
    RRR_STREAM_HASH = 1,   /* also sum the checkpoints' checksum of the data          */
    RRR_STREAM_MOMENTS = 2 /* also the column sums and sums of squares of X and Y     */
};

/* What a pass learnt, over all ranks (rrr_stream_close). */
typedef struct {
    double xmax, ymax;  /* largest magnitudes in X and Y                           */
    uint64_t hash;      /* the checkpoints' data checksum (RRR_STREAM_HASH)        */
    double *moments;    /* RRR_STREAM_MOMENTS, if not NULL: 2 (p + q) doubles, the
                           column sums of X, of Y, then their sums of squares
                           (rrr_warn_uncentred's layout), filled in by close       */
} rrr_stream_facts;

typedef struct rrr_stream rrr_stream;

/* Collective. A pass over my rows of X and Y (Y may be NULL: X alone), which must have the
 * same rows; the first panel's read starts now. *out is new. */
rrr_status rrr_stream_open(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, int flags,
                           rrr_stream **out);
/* Local. Panels per pass: the same on every rank (ranks with fewer rows get empty ones). */
size_t rrr_stream_count(const rrr_stream *s);
/* Local. The panel height of this stream. */
size_t rrr_stream_rows(const rrr_stream *s);
/* Collective. The next panel into *pn, once its read completed and the read of the one
 * after it started; its values are checked (non-finite: RRR_EINVAL with the file, row and
 * column). lst is the caller's local status from the previous panel: the verdict is agreed
 * over ranks (the largest wins), so a failure on one rank stops every rank here. */
rrr_status rrr_stream_next(rrr_stream *s, rrr_status lst, rrr_panel *pn);
/* Local. Let a pending read progress (MPI_Test); call between pieces of work. */
void rrr_stream_poll(rrr_stream *s);
/* Collective. End the pass (pending reads completed, files closed, buffers freed) and
 * agree on st; on success *facts (if not NULL) holds the maxima and the checksum. *s is
 * set to NULL. Returns the agreed status. */
rrr_status rrr_stream_close(rrr_stream **s, rrr_status st, rrr_stream_facts *facts);

/* Local. MPI-IO hints from RRR_MPIIO_HINTS ("key=value,key=value", e.g.
 * "romio_cb_read=enable,cb_buffer_size=16777216,striping_factor=8"), for every
 * MPI_File_open and HDF5 file access of rrr; MPI_INFO_NULL when unset. The same object
 * for the whole run: do not free it. */
MPI_Info rrr_mpiio_info(void);
/* Collective. RRR_OK when every rank has RRR_MPIIO_HEADROOM bytes of address space left
 * for MPI-IO's collective buffers, else RRR_EINTERNAL (out of memory) on every rank: Open
 * MPI's collective reads and writes that run out of memory inside fail on one rank only
 * (the others wait in the collective call: a hang) or crash. path names the file. */
rrr_status rrr_mpiio_headroom(rrr_ctx *ctx, const char *path);
#define RRR_MPIIO_HEADROOM ((size_t)64 << 20)

#endif
