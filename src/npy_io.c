/* src/npy_io.c: .npy files over MPI-IO: each rank reads and writes only its own rows. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "comm.h"
#include "fnv.h"
#include "input.h"
#include "npy.h"
#include "output.h"
#include "rng.h"
#include "stream.h"

static rrr_status mpi_io_fail(rrr_ctx *ctx, int rc, const char *path, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, s, &len);
    return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot %s: %s", path, what, s);
}

/* Local (rank 0). Open path without blocking (rrr_input_open), read and parse its
 * header; on success *fp is left at the first data byte and *hash covers the header. */
static rrr_status open_parse(rrr_ctx *ctx, const char *path, rrr_npy_hdr *h, FILE **fp,
                             uint64_t *hash)
{
    rrr_status st = RRR_OK;
    unsigned char *buf = NULL;
    unsigned long long size = 0;
    FILE *f = rrr_input_open(&ctx->err, path, &size);
    *fp = NULL;
    if (f == NULL)
        return RRR_EIO;
    size_t len = size < RRR_NPY_MAX_HEADER ? (size_t)size : RRR_NPY_MAX_HEADER;
    buf = rrr_malloc(len, 1);
    if (buf == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory for the header", path);
    else if (fread(buf, 1, len, f) != len)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: read error", path);
    if (st == RRR_OK)
        st = rrr_npy_parse(buf, len, (uint64_t)size, path, h, &ctx->err);
    if (st == RRR_OK)
        rrr_file_stamp_of(fileno(f), path, &h->stamp);
    if (st == RRR_OK && fseek(f, (long)h->data_offset, SEEK_SET) != 0)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: read error", path);
    if (st == RRR_OK)
        *hash = rrr_fnv1a(RRR_FNV_INIT, buf, h->data_offset);
    free(buf);
    if (st == RRR_OK)
        *fp = f;
    else
        fclose(f);
    return st;
}

/* Local (rank 0). Read and parse the header of path. */
static rrr_status parse_local(rrr_ctx *ctx, const char *path, rrr_npy_hdr *h)
{
    FILE *f = NULL;
    uint64_t hash;
    rrr_status st = open_parse(ctx, path, h, &f, &hash);
    if (f != NULL)
        fclose(f);
    return st;
}

rrr_status rrr_npy_read_header(rrr_ctx *ctx, const char *path, rrr_npy_hdr *h)
{
    rrr_status st = RRR_OK;
    memset(h, 0, sizeof *h);
    if (ctx->rank == 0)
        st = parse_local(ctx, path, h);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        MPI_Bcast(h, (int)sizeof *h, MPI_BYTE, 0, ctx->comm);
    return st;
}

/* Local. Widen count floats stored at the start of a to doubles, in place: going backwards,
 * double k covers floats 2k and 2k+1, which were already consumed. */
static void widen_f4(double *a, size_t count)
{
    const float *f = (const float *)(void *)a;
    for (size_t k = count; k-- > 0;) {
        float v;
        memcpy(&v, f + k, sizeof v);
        a[k] = (double)v;
    }
}

/* Bytes of file data one collective read moves when a whole row block is read into memory
 * (rrr_npy_read_rows): a single MPI_File_read_at_all of a 560 MB block ran at 2.3 GB/s on
 * the 2-core VM, reads of 8-16 MB at 8-11 GB/s (the page cache's memcpy rate), so blocks are
 * read in pieces of this size. */
#define READ_PIECE_BYTES ((size_t)16 << 20)

/* Local. Transposes a Fortran-order panel into row order (below). */
static void untranspose(double *restrict a, size_t p, const void *t, size_t itemsize,
                        size_t m);

/* An open .npy for reads of row panels: C order through nonblocking collective reads
 * straight into the caller's buffer; Fortran order through a vector file view per panel
 * into a staging buffer, transposed into the caller's buffer (blocking). */
struct rrr_npy_reader {
    rrr_npy_hdr h;
    const char *path;      /* borrowed, for messages                               */
    MPI_File fh;
    MPI_Datatype row;      /* one row of the file (C order)                        */
    MPI_Request rq;        /* the pending C-order read                             */
    MPI_Status mst;        /* ... its status, once a poll or the wait completed it */
    size_t rows;           /* its rows                                             */
    void *t;               /* Fortran order: one panel of columns, as in the file  */
    size_t tmax;           /* ... its capacity in rows                             */
    rrr_status pending;    /* Fortran order: the outcome of the read in start      */
    MPI_Offset off, end;   /* C order: the bytes [off, end) of the pending read    */
    int fd;                /* the file (its size is watched), or -1                */
    int drop;              /* drop behind (rrr_npy_reader_drop_behind)             */
    int stuck;             /* a read that can never complete is pending            */
};

rrr_status rrr_npy_check_input(rrr_ctx *ctx, const char *path, const rrr_npy_hdr *h, int ids)
{
    if (h->integer && !ids)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: unsupported dtype '<i8' (need '<f8' or "
                        "'<f4'): save arr.astype('<f8') instead", path);
    if (h->cols == 0)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: shape (%zu, 0): an array without columns",
                        path, h->rows);
    if (ids && h->cols != 1) /* n x 1: Fortran and C order are the same bytes */
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu; fold ids are one column (n x 1)",
                        path, h->rows, h->cols);
    if (h->cols > INT_MAX || h->rows > (size_t)INT_MAX * (size_t)ctx->size)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu is too large for MPI-IO counts",
                        path, h->rows, h->cols);
    return RRR_OK;
}

rrr_status rrr_npy_reader_open(rrr_ctx *ctx, const char *path, const rrr_npy_hdr *h,
                               size_t max_rows, rrr_npy_reader **out)
{
    rrr_npy_reader *rd = rrr_calloc(1, sizeof *rd);
    rrr_status st = RRR_OK;
    *out = NULL;
    if (rd != NULL) {
        rd->h = *h;
        rd->path = path;
        rd->fh = MPI_FILE_NULL;
        rd->row = MPI_DATATYPE_NULL;
        rd->rq = MPI_REQUEST_NULL;
        rd->fd = -1;
        if (h->fortran) {
            rd->tmax = max_rows > 0 ? max_rows : 1;
            rd->t = rrr_malloc(rd->tmax * h->cols, h->itemsize);
        }
    }
    if (rd == NULL || (h->fortran && rd->t == NULL))
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory for a %zu x %zu panel",
                      path, max_rows, h->cols);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_mpiio_headroom(ctx, path);
    if (st == RRR_OK) {
        /* the file is the header's before and after MPI's open: MPI opened that file */
        rd->fd = open(path, O_RDONLY | O_CLOEXEC); /* -1: the size is not watched */
        st = rrr_agree(ctx, rrr_input_same(&ctx->err, rd->fd, path, &h->stamp, path));
        int rc = st == RRR_OK ? MPI_File_open(ctx->comm, path, MPI_MODE_RDONLY,
                                              rrr_mpiio_info(), &rd->fh) : MPI_SUCCESS;
        if (rc != MPI_SUCCESS) {
            rd->fh = MPI_FILE_NULL;
            st = mpi_io_fail(ctx, rc, path, "open for MPI-IO");
        }
        if (st == RRR_OK)
            st = rrr_input_same(&ctx->err, -1, path, &h->stamp, path);
        st = rrr_agree(ctx, st);
    }
    if (st == RRR_OK && !h->fortran) {
        MPI_Type_contiguous((int)h->cols, h->itemsize == 8 ? MPI_DOUBLE : MPI_FLOAT, &rd->row);
        MPI_Type_commit(&rd->row);
    }
    if (st != RRR_OK)
        rrr_npy_reader_close(ctx, &rd);
    *out = rd;
    return st;
}

/* Collective. Fortran order: rows [row, row + m) of column j are one run of the file, so
 * the panel is a strided subarray, read with one collective read through an MPI vector
 * file view of cols runs, then put in row order. */
static rrr_status read_fortran_panel(rrr_ctx *ctx, rrr_npy_reader *rd, size_t row, size_t m,
                                     double *buf)
{
    const rrr_npy_hdr *h = &rd->h;
    const size_t p = h->cols, es = h->itemsize;
    MPI_Datatype et = es == 8 ? MPI_DOUBLE : MPI_FLOAT, ft = et;
    if (m > 0) { /* a rank with no rows here reads nothing through a plain view */
        MPI_Type_create_hvector((int)p, (int)m, (MPI_Aint)(h->rows * es), et, &ft);
        MPI_Type_commit(&ft);
    }
    MPI_Offset disp = (MPI_Offset)(h->data_offset + row * es);
    MPI_Status mst;
    int got = 0, rc = MPI_File_set_view(rd->fh, disp, et, ft, "native", MPI_INFO_NULL);
    if (rc == MPI_SUCCESS)
        rc = MPI_File_read_all(rd->fh, rd->t, (int)(p * m), et, &mst);
    if (rc == MPI_SUCCESS)
        MPI_Get_count(&mst, et, &got);
    if (ft != et)
        MPI_Type_free(&ft);
    if (rc != MPI_SUCCESS)
        return mpi_io_fail(ctx, rc, rd->path, "read my rows");
    if ((size_t)got != p * m)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: short read (%d of %zu values)", rd->path, got,
                        p * m);
    rrr_status st = rrr_input_holds(&ctx->err, rd->fd,
                                    (long long)(h->data_offset + h->rows * p * es), rd->path);
    if (st != RRR_OK)
        return st;
    untranspose(buf, p, rd->t, es, m);
    return RRR_OK;
}

rrr_status rrr_npy_reader_start(rrr_ctx *ctx, rrr_npy_reader *rd, size_t row, size_t m,
                                double *buf)
{
    rd->rows = m;
    if (rd->h.fortran) { /* blocking; the outcome is reported by finish */
        rd->pending = m <= rd->tmax ? read_fortran_panel(ctx, rd, row, m, buf)
                                    : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: panel of %zu rows "
                                               "exceeds the reader's %zu", rd->path, m, rd->tmax);
        return RRR_OK;
    }
    if (rd->stuck) /* its request may still write into its buffer: no new one on top */
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: a read of it never completed", rd->path);
    MPI_Offset off = (MPI_Offset)(rd->h.data_offset + row * rd->h.cols * rd->h.itemsize);
    rd->off = off;
    rd->end = off + (MPI_Offset)(m * rd->h.cols * rd->h.itemsize);
    int rc = MPI_File_iread_at_all(rd->fh, off, buf, (int)m, rd->row, &rd->rq);
    if (rc != MPI_SUCCESS) {
        rd->rq = MPI_REQUEST_NULL;
        return mpi_io_fail(ctx, rc, rd->path, "read my rows");
    }
    return RRR_OK;
}

void rrr_npy_reader_poll(rrr_npy_reader *rd)
{
    int done = 0;
    if (rd->rq != MPI_REQUEST_NULL) /* completed here, the request is freed: keep its status */
        MPI_Test(&rd->rq, &done, &rd->mst);
}

/* Local. Complete the pending C-order read. Open MPI 4.1's nonblocking read of a range
 * that the file no longer holds (truncated while it is read) never completes, and MPI_Wait
 * spins on it for ever (the other ranks wait in the next collective: a hang), so the wait
 * is a loop of MPI_Test that also watches the file's size; a read the file cannot satisfy
 * any more is given up: RRR_EIO, and the reader is not waited for again (close). */
static rrr_status wait_read(rrr_ctx *ctx, rrr_npy_reader *rd)
{
    for (int done = rd->rq == MPI_REQUEST_NULL; !done;) { /* completed by a poll: rd->mst */
        int rc = MPI_Test(&rd->rq, &done, &rd->mst);
        if (rc != MPI_SUCCESS) {
            rd->rq = MPI_REQUEST_NULL;
            return mpi_io_fail(ctx, rc, rd->path, "read my rows");
        }
        if (!done && rrr_input_holds(&ctx->err, rd->fd, rd->end, rd->path) != RRR_OK) {
            rd->stuck = 1;
            return RRR_EIO;
        }
    }
    /* complete, but perhaps with bytes it did not find */
    return rrr_input_holds(&ctx->err, rd->fd, rd->end, rd->path);
}

rrr_status rrr_npy_reader_finish(rrr_ctx *ctx, rrr_npy_reader *rd, double *buf)
{
    if (rd->h.fortran)
        return rd->pending;
    rrr_status st = wait_read(ctx, rd);
    if (st != RRR_OK)
        return st;
    int got = 0;
    MPI_Get_count(&rd->mst, rd->row, &got);
    if (got < 0 || (size_t)got != rd->rows)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: short read (%d of %zu rows)", rd->path, got,
                        rd->rows);
    if (rd->drop && rd->rows > 0) /* advice only: its failure changes nothing */
        (void)posix_fadvise(rd->fd, (off_t)rd->off, (off_t)(rd->end - rd->off),
                            POSIX_FADV_DONTNEED);
    if (rd->h.itemsize == 4)
        widen_f4(buf, rd->rows * rd->h.cols);
    return RRR_OK;
}

void rrr_npy_reader_drop_behind(rrr_npy_reader *rd) { rd->drop = rd->fd >= 0; }

int rrr_npy_reader_stuck(const rrr_npy_reader *rd) { return rd != NULL && rd->stuck; }

void rrr_npy_reader_close(rrr_ctx *ctx, rrr_npy_reader **rdp)
{
    rrr_npy_reader *rd = *rdp;
    if (rd == NULL)
        return;
    if (rd->rq != MPI_REQUEST_NULL && !rd->stuck) /* in flight: each rank completes its own */
        (void)wait_read(ctx, rd); /* a failure here follows one already reported */
    if (rd->row != MPI_DATATYPE_NULL)
        MPI_Type_free(&rd->row);
    if (rd->fh != MPI_FILE_NULL)
        MPI_File_close(&rd->fh);
    if (rd->fd >= 0)
        close(rd->fd);
    free(rd->t);
    free(rd);
    *rdp = NULL;
}

/* Local. a[i][j] = t[j][i] for the m rows of a panel (row-major a with p columns; t holds
 * the panel column after column, as the file does), widening <f4 on the way. 32 x 32 tiles
 * keep both sides in cache; a is written once, in order. */
static void untranspose(double *restrict a, size_t p, const void *t, size_t itemsize,
                        size_t m)
{
    enum { TILE = 32 };
    const double *t8 = t;
    const float *t4 = t;
    for (size_t i0 = 0; i0 < m; i0 += TILE) {
        size_t ie = i0 + TILE < m ? i0 + TILE : m;
        for (size_t j0 = 0; j0 < p; j0 += TILE) {
            size_t je = j0 + TILE < p ? j0 + TILE : p;
            if (itemsize == 8) {
                for (size_t i = i0; i < ie; i++)
                    for (size_t j = j0; j < je; j++)
                        a[i * p + j] = t8[j * m + i];
            } else {
                for (size_t i = i0; i < ie; i++)
                    for (size_t j = j0; j < je; j++)
                        a[i * p + j] = (double)t4[j * m + i];
            }
        }
    }
}

/* Local. int64 values at the start of a, converted to doubles in place (same size). */
static void widen_i8(double *a, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        int64_t v;
        memcpy(&v, a + k, sizeof v);
        a[k] = (double)v;
    }
}

/* Collective. My rows of an open reader into a (nloc x cols), in pieces of at most
 * READ_PIECE_BYTES of file data, the same number of collective reads on every rank (from
 * the largest block, rank 0's). */
static rrr_status read_block(rrr_ctx *ctx, rrr_npy_reader *rd, size_t r0, size_t nloc,
                             size_t piece, double *a)
{
    size_t b0, b;
    rrr_partition(rd->h.rows, ctx->size, 0, &b0, &b);
    size_t pieces = b > 0 ? (b + piece - 1) / piece : 0;
    rrr_status st = RRR_OK;
    for (size_t k = 0; k < pieces; k++) { /* same trip count everywhere */
        size_t i0 = k * piece < nloc ? k * piece : nloc;
        size_t m = nloc - i0 < piece ? nloc - i0 : piece;
        rrr_status lst = rrr_npy_reader_start(ctx, rd, r0 + i0, m, a + i0 * rd->h.cols);
        rrr_status fst = rrr_npy_reader_finish(ctx, rd, a + i0 * rd->h.cols);
        st = rrr_agree(ctx, lst != RRR_OK ? lst : fst);
        if (st != RRR_OK)
            break;
    }
    return st;
}

rrr_status rrr_npy_read_rows(rrr_ctx *ctx, const char *path, const rrr_npy_hdr *hdr, int ids,
                             rrr_block **out)
{
    double t0 = rrr_phase_begin();
    rrr_block *B = NULL;
    rrr_npy_hdr h;
    rrr_npy_reader *rd = NULL;
    rrr_status st = RRR_OK;
    if (hdr != NULL) {
        h = *hdr;
    } else {
        st = rrr_npy_read_header(ctx, path, &h);
        if (st == RRR_OK) /* replicated: the header was broadcast */
            st = rrr_npy_check_input(ctx, path, &h, ids);
    }
    if (st != RRR_OK)
        goto done;
    struct { size_t r0, nloc; } pt;
    rrr_partition(h.rows, ctx->size, ctx->rank, &pt.r0, &pt.nloc);
    size_t piece = READ_PIECE_BYTES / (h.cols * h.itemsize);
    piece = piece < 1 ? 1 : piece;
    if (piece > (size_t)INT_MAX / h.cols)
        piece = (size_t)INT_MAX / h.cols; /* cols * piece values per read: an int count */
    B = calloc(1, sizeof *B);
    double *a = rrr_malloc(pt.nloc * h.cols, sizeof(double));
    if (B == NULL || a == NULL) {
        free(a);
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory for %zu x %zu rows", path,
                      pt.nloc, h.cols);
    } else {
        *B = (rrr_block){ .n = h.rows, .ncols = h.cols, .r0 = pt.r0, .nloc = pt.nloc, .a = a,
                          .owns = 1 };
    }
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_npy_reader_open(ctx, path, &h, piece, &rd);
    if (st == RRR_OK)
        st = read_block(ctx, rd, pt.r0, pt.nloc, piece, B->a);
    if (st == RRR_OK && h.integer)
        widen_i8(B->a, pt.nloc * h.cols);
    if (st == RRR_OK)
        st = rrr_check_finite(&ctx->err, path, B->a, pt.nloc, h.cols, pt.r0);
    ctx->bytes_read += pt.nloc * h.cols * h.itemsize;
    st = rrr_agree(ctx, st);
done:
    rrr_npy_reader_close(ctx, &rd);
    if (st != RRR_OK)
        rrr_block_destroy(&B);
    *out = B;
    rrr_phase_end(ctx, RRR_T_READ, t0);
    return st;
}
/* Local. The header and the data of an n x cols file fit an MPI_Offset. */
static int fits_offset(size_t hlen, size_t n, size_t cols)
{
    size_t cells, bytes;
    return rrr_size_mul(n, cols, &cells) && rrr_size_mul(cells, sizeof(double), &bytes) &&
           bytes <= (size_t)LLONG_MAX - hlen;
}

/* Local. A finished MPI-IO call: rc and, when it returned, the count it reports. */
static rrr_status io_done(rrr_ctx *ctx, int rc, MPI_Status *mst, MPI_Datatype t, size_t want,
                          const char *path, const char *what)
{
    int got = 0;
    if (rc != MPI_SUCCESS)
        return mpi_io_fail(ctx, rc, path, what);
    MPI_Get_count(mst, t, &got);
    if (got == MPI_UNDEFINED) /* not even whole items: a full disk shows up as short counts */
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot %s: short write (disk full?)", path, what);
    if (got < 0 || (size_t)got != want)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot %s: %d of %zu written (disk full?)",
                        path, what, got, want);
    return RRR_OK;
}

/* Local. A checksum of count doubles, the (k0 + k)-th word of a rank's rows at position k:
 * the sum of mixed (position, bits) words, so pieces of any size give the same value. */
static uint64_t words_hash(uint64_t h, const double *a, size_t count, uint64_t k0)
{
    for (size_t k = 0; k < count; k++) {
        uint64_t b;
        memcpy(&b, a + k, sizeof b);
        h += rrr_mix64(b ^ rrr_mix64((k0 + k) * 0x9e3779b97f4a7c15ULL));
    }
    return h;
}

struct rrr_npy_writer {
    MPI_File fh;
    MPI_Datatype row;
    const char *path;             /* the final name, for messages (borrowed from o)      */
    char hdr[128];
    size_t hlen, n, cols;
    size_t first, count;          /* my rows written: [first, first + count), in order    */
    uint64_t hash;                /* words_hash of them                                   */
};

/* Local. Read back my rows (rank 0: and the header) and compare them with what was meant.
 * Open MPI 4.1's collective write (OMPIO at 3 ranks) loses an aggregator's failed
 * pwritev: on a full disk it returned MPI_SUCCESS and full counts on every rank and left
 * zeros in the file. So counts are not proof; the bytes are: their checksum against that of
 * the rows as they were written (rows written panel by panel are no longer in memory).
 * Independent reads of about 1 MiB. */
static rrr_status read_back(rrr_ctx *ctx, const rrr_npy_writer *w)
{
    const size_t rowbytes = w->cols * sizeof(double);
    const size_t chunk = rowbytes < ((size_t)1 << 20) ? ((size_t)1 << 20) / rowbytes : 1;
    double *buf = rrr_malloc(chunk * w->cols + w->hlen / sizeof(double) + 1, sizeof(double));
    rrr_status st = RRR_OK;
    MPI_Status mst;
    uint64_t h = 0;
    if (buf == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory to check the write", w->path);
    if (ctx->rank == 0) {
        int rc = MPI_File_read_at(w->fh, 0, buf, (int)w->hlen, MPI_BYTE, &mst);
        st = io_done(ctx, rc, &mst, MPI_BYTE, w->hlen, w->path, "read back the header");
        if (st == RRR_OK && memcmp(buf, w->hdr, w->hlen) != 0)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: the header read back differs from the one "
                          "written (disk full?)", w->path);
    }
    for (size_t i = 0; i < w->count && st == RRR_OK; i += chunk) {
        size_t c = w->count - i < chunk ? w->count - i : chunk;
        MPI_Offset off = (MPI_Offset)(w->hlen + (w->first + i) * rowbytes);
        int rc = MPI_File_read_at(w->fh, off, buf, (int)(c * w->cols), MPI_DOUBLE, &mst);
        st = io_done(ctx, rc, &mst, MPI_DOUBLE, c * w->cols, w->path, "read back my rows");
        if (st == RRR_OK)
            h = words_hash(h, buf, c * w->cols, i * w->cols);
    }
    if (st == RRR_OK && h != w->hash)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: rows %zu.. read back differ from those written "
                      "(disk full, or an I/O error MPI-IO did not report)", w->path, w->first);
    free(buf);
    return st;
}

rrr_status rrr_npy_writer_open(rrr_ctx *ctx, rrr_outset *o, int slot, size_t n, size_t cols,
                               rrr_npy_writer **out)
{
    double t0 = rrr_phase_begin();
    rrr_npy_writer *w = rrr_calloc(1, sizeof *w);
    const char *tmp = rrr_outset_tmp(o, slot), *path = rrr_outset_dst(o, slot);
    MPI_Status mst;
    rrr_status st = w ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory", path);
    *out = NULL;
    if (w != NULL) {
        w->fh = MPI_FILE_NULL;
        w->row = MPI_DATATYPE_NULL;
        w->path = path;
        w->n = n;
        w->cols = cols;
        w->hlen = rrr_npy_format(w->hdr, sizeof w->hdr, n, cols);
        if (w->hlen == 0 || cols == 0 || cols > INT_MAX || !fits_offset(w->hlen, n, cols))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu is too large to write", path, n,
                          cols);
    }
    st = rrr_agree(ctx, st); /* replicated checks, or an allocation on one rank */
    if (st == RRR_OK)
        st = rrr_mpiio_headroom(ctx, path);
    if (st == RRR_OK && ctx->rank == 0) /* a full disk is found here, with its errno */
        st = rrr_outset_reserve(ctx, o, slot,
                                (unsigned long long)(w->hlen + n * cols * sizeof(double)));
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        /* no MPI_MODE_CREATE: rank 0 created the file exclusively; check it is still that one */
        int rc = MPI_File_open(ctx->comm, tmp, MPI_MODE_RDWR, rrr_mpiio_info(), &w->fh);
        if (rc != MPI_SUCCESS) {
            w->fh = MPI_FILE_NULL;
            st = mpi_io_fail(ctx, rc, path, "open the temporary file");
        } else {
            st = rrr_outset_verify(ctx, o, slot);
        }
        st = rrr_agree(ctx, st);
    }
    if (st == RRR_OK) {
        MPI_Type_contiguous((int)cols, MPI_DOUBLE, &w->row);
        MPI_Type_commit(&w->row);
        int rc = MPI_File_set_size(w->fh, (MPI_Offset)(w->hlen + n * cols * sizeof(double)));
        if (rc != MPI_SUCCESS)
            st = mpi_io_fail(ctx, rc, path, "set the file size");
        if (st == RRR_OK && ctx->rank == 0) {
            rc = MPI_File_write_at(w->fh, 0, w->hdr, (int)w->hlen, MPI_BYTE, &mst);
            st = io_done(ctx, rc, &mst, MPI_BYTE, w->hlen, path, "write the header");
        }
        st = rrr_agree(ctx, st);
    }
    rrr_phase_end(ctx, RRR_T_WRITE, t0);
    if (st != RRR_OK)
        return rrr_npy_writer_close(ctx, &w, st);
    *out = w;
    return st;
}

rrr_status rrr_npy_writer_rows(rrr_ctx *ctx, rrr_npy_writer *w, size_t r0, size_t m,
                               const double *a)
{
    double t0 = rrr_phase_begin();
    rrr_status st = RRR_OK;
    MPI_Status mst;
    if (m > INT_MAX)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu rows in one write", w->path, m);
    if (m > 0 && w->count == 0)
        w->first = r0;
    if (m > 0 && r0 != w->first + w->count)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: rows written out of order", w->path);
    /* every rank enters the collective write, whatever happened above, then agrees */
    MPI_Offset off = (MPI_Offset)(w->hlen + r0 * w->cols * sizeof(double));
    int rc = MPI_File_write_at_all(w->fh, off, a, st == RRR_OK ? (int)m : 0, w->row, &mst);
    rrr_status wst = io_done(ctx, rc, &mst, w->row, st == RRR_OK ? m : 0, w->path,
                             "write my rows");
    if (st == RRR_OK && wst == RRR_OK) {
        w->hash = words_hash(w->hash, a, m * w->cols, w->count * w->cols);
        w->count += m;
    }
    rrr_phase_end(ctx, RRR_T_WRITE, t0);
    return rrr_agree(ctx, st != RRR_OK ? st : wst);
}

rrr_status rrr_npy_writer_close(rrr_ctx *ctx, rrr_npy_writer **wp, rrr_status st)
{
    double t0 = rrr_phase_begin();
    rrr_npy_writer *w = *wp;
    if (w == NULL)
        return rrr_agree(ctx, st);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        int rc = MPI_File_sync(w->fh); /* on disk before the rename */
        if (rc != MPI_SUCCESS)
            st = mpi_io_fail(ctx, rc, w->path, "sync");
        st = rrr_agree(ctx, st);
    }
    if (st == RRR_OK)
        st = rrr_agree(ctx, read_back(ctx, w));
    if (w->row != MPI_DATATYPE_NULL)
        MPI_Type_free(&w->row);
    if (w->fh != MPI_FILE_NULL) { /* collective: every rank closes, then all agree */
        int rc = MPI_File_close(&w->fh);
        rrr_status cst = rc == MPI_SUCCESS ? RRR_OK : mpi_io_fail(ctx, rc, w->path, "close");
        st = rrr_agree(ctx, st != RRR_OK ? st : cst);
    }
    free(w);
    *wp = NULL;
    rrr_phase_end(ctx, RRR_T_WRITE, t0);
    return st;
}

rrr_status rrr_npy_write_rows(rrr_ctx *ctx, rrr_outset *o, int slot, size_t n, size_t cols,
                              size_t r0, size_t nloc, const double *a)
{
    rrr_npy_writer *w = NULL;
    rrr_status st = rrr_npy_writer_open(ctx, o, slot, n, cols, &w);
    if (st == RRR_OK)
        st = rrr_npy_writer_rows(ctx, w, r0, nloc, a);
    return rrr_npy_writer_close(ctx, &w, st);
}

rrr_status rrr_npy_write_small(rrr_ctx *ctx, rrr_outset *o, int slot, size_t rows,
                               size_t cols, const double *a, uint64_t *hash)
{
    double t0 = rrr_phase_begin();
    rrr_status st = RRR_OK;
    size_t count = 0;
    if (!rrr_size_mul(rows, cols, &count) || count > SIZE_MAX / sizeof(double))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu is too large to write",
                      rrr_outset_dst(o, slot), rows, cols);
    if (st == RRR_OK && ctx->rank == 0) {
        char hdr[128];
        size_t hlen = rrr_npy_format(hdr, sizeof hdr, rows, cols);
        FILE *f = rrr_outset_stream(ctx, o, slot);
        st = f != NULL ? RRR_OK : RRR_EIO;
        if (f != NULL) {
            int ok = hlen > 0 && fwrite(hdr, 1, hlen, f) == hlen &&
                     fwrite(a, sizeof(double), count, f) == count;
            rrr_status cst = rrr_outset_close_stream(ctx, o, slot, f);
            st = !ok ? RRR_FAIL(&ctx->err, RRR_EIO, "%s: write failed: %s",
                                rrr_outset_dst(o, slot), strerror(errno))
                     : cst;
        }
        if (st == RRR_OK && hash != NULL)
            *hash = rrr_fnv1a(rrr_fnv1a(RRR_FNV_INIT, hdr, hlen), a, count * sizeof(double));
    }
    rrr_phase_end(ctx, RRR_T_WRITE, t0);
    return rrr_agree(ctx, st);
}

/* Local. A column-major rows x cols matrix (a Fortran-order file) into row-major, in place
 * through a copy. */
static rrr_status c_order(rrr_ctx *ctx, const char *path, double *a, size_t rows, size_t cols)
{
    double *t = rrr_malloc(rows * cols, sizeof *t);
    if (t == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory", path);
    memcpy(t, a, rows * cols * sizeof *t);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            a[i * cols + j] = t[j * rows + i];
    free(t);
    return RRR_OK;
}

/* Local (rank 0). The data of an open file (after open_parse): count items of itemsize,
 * extending the hash; row-major and finite on return. */
static rrr_status read_data(rrr_ctx *ctx, FILE *f, const char *path, const rrr_npy_hdr *h,
                            size_t count, double *a, uint64_t *hash)
{
    if (h->integer)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: unsupported dtype '<i8' (need '<f8' or "
                        "'<f4'): save arr.astype('<f8') instead", path);
    if (fread(a, h->itemsize, count, f) != count)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: read error", path);
    *hash = rrr_fnv1a(*hash, a, count * h->itemsize);
    if (h->itemsize == 4)
        widen_f4(a, count);
    if (h->fortran && h->rows > 1 && h->cols > 1) {
        rrr_status st = c_order(ctx, path, a, h->rows, h->cols);
        if (st != RRR_OK)
            return st;
    }
    return rrr_check_finite(&ctx->err, path, a, h->rows, h->cols, 0);
}

rrr_status rrr_npy_read_small(rrr_ctx *ctx, const char *path, size_t *rows, size_t *cols,
                              double **out, uint64_t *hash)
{
    rrr_npy_hdr h;
    double *a = NULL;
    FILE *f = NULL;
    uint64_t hh = 0;
    struct { size_t rows, cols, itemsize; } shape = { 0, 0, 0 };
    rrr_status st = RRR_OK;
    *out = NULL;
    /* rank 0 reads header and data through one descriptor: a file renamed over path in
     * between cannot give a header of one file and the data of another */
    if (ctx->rank == 0) {
        st = open_parse(ctx, path, &h, &f, &hh);
        if (st == RRR_OK)
            shape.rows = h.rows, shape.cols = h.cols, shape.itemsize = h.itemsize;
    }
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        MPI_Bcast(&shape, (int)sizeof shape, MPI_BYTE, 0, ctx->comm);
    size_t count = shape.rows * shape.cols; /* parsed: fits the file, so no overflow */
    if (st == RRR_OK) {
        a = rrr_malloc(count, sizeof(double));
        if (a == NULL)
            st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory", path);
    }
    if (st == RRR_OK && ctx->rank == 0)
        st = read_data(ctx, f, path, &h, count, a, &hh);
    if (f != NULL)
        fclose(f);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        for (size_t off = 0; off < count; off += (size_t)1 << 24) {
            size_t c = count - off < ((size_t)1 << 24) ? count - off : ((size_t)1 << 24);
            MPI_Bcast(a + off, (int)c, MPI_DOUBLE, 0, ctx->comm);
        }
        MPI_Bcast(&hh, 1, MPI_UINT64_T, 0, ctx->comm);
        *rows = shape.rows;
        *cols = shape.cols;
        if (hash != NULL)
            *hash = hh;
        *out = a;
    } else {
        free(a);
    }
    return st;
}
