/* src/npy_io.c: .npy files over MPI-IO: each rank reads and writes only its own rows. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "comm.h"
#include "fnv.h"
#include "input.h"
#include "npy.h"
#include "output.h"

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

/* Collective. C order: my rows are one contiguous run of the file. */
static rrr_status read_c_order(rrr_ctx *ctx, MPI_File fh, const rrr_npy_hdr *h, size_t r0,
                               size_t nloc, double *a, const char *path)
{
    rrr_status st = RRR_OK;
    MPI_Datatype row;
    MPI_Type_contiguous((int)h->cols, h->itemsize == 8 ? MPI_DOUBLE : MPI_FLOAT, &row);
    MPI_Type_commit(&row);
    MPI_Offset off = (MPI_Offset)(h->data_offset + r0 * h->cols * h->itemsize);
    MPI_Status mst;
    int rc = MPI_File_read_at_all(fh, off, a, (int)nloc, row, &mst);
    if (rc != MPI_SUCCESS) {
        st = mpi_io_fail(ctx, rc, path, "read my rows");
    } else {
        int got = 0;
        MPI_Get_count(&mst, row, &got);
        if ((size_t)got != nloc)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: short read (%d of %zu rows)", path, got, nloc);
    }
    MPI_Type_free(&row);
    if (st == RRR_OK && h->itemsize == 4)
        widen_f4(a, nloc * h->cols);
    return st;
}

/* Bytes of file data a rank holds at once while it reads a Fortran-order file. */
#define FORTRAN_PANEL_BYTES ((size_t)32 << 20)

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

/* Collective. Fortran order: column j of the n x p matrix is a contiguous run of the file,
 * so my rows [r0, r0 + nloc) are a strided subarray, one run of nloc values per column.
 * They are read in panels of at most nb rows (all p columns; the same number of panels on
 * every rank, from the largest block), each with one collective read through an MPI
 * vector file view, then put in row order: the values a rank holds are those of the same
 * matrix in C order. */
static rrr_status read_fortran(rrr_ctx *ctx, MPI_File fh, const rrr_npy_hdr *h, size_t r0,
                               size_t nloc, double *a, const char *path)
{
    size_t n = h->rows, p = h->cols, es = h->itemsize, b0, b;
    rrr_partition(n, ctx->size, 0, &b0, &b); /* rank 0 holds the largest block */
    size_t nb = FORTRAN_PANEL_BYTES / ((p > 0 ? p : 1) * es);
    if (nb > (size_t)INT_MAX / (p > 0 ? p : 1))
        nb = (size_t)INT_MAX / (p > 0 ? p : 1); /* p * nb values per read: an int count */
    nb = nb < 1 ? 1 : nb > b ? b : nb;
    size_t panels = b > 0 ? (b + nb - 1) / nb : 0;
    MPI_Datatype et = es == 8 ? MPI_DOUBLE : MPI_FLOAT;
    void *t = rrr_malloc(p * nb, es);
    rrr_status st = t ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory for "
                                          "a %zu x %zu panel", path, nb, p);
    st = rrr_agree(ctx, st);
    for (size_t k = 0; st == RRR_OK && k < panels; k++) { /* same trip count everywhere */
        size_t i0 = k * nb < nloc ? k * nb : nloc;
        size_t m = nloc - i0 < nb ? nloc - i0 : nb;
        MPI_Datatype ft = et; /* a rank with no rows here reads nothing through a plain view */
        if (m > 0) {
            MPI_Type_create_hvector((int)p, (int)m, (MPI_Aint)(n * es), et, &ft);
            MPI_Type_commit(&ft);
        }
        MPI_Offset disp = (MPI_Offset)(h->data_offset + (r0 + i0) * es);
        MPI_Status mst;
        int got = 0, rc = MPI_File_set_view(fh, disp, et, ft, "native", MPI_INFO_NULL);
        if (rc == MPI_SUCCESS)
            rc = MPI_File_read_all(fh, t, (int)(p * m), et, &mst);
        if (rc == MPI_SUCCESS)
            MPI_Get_count(&mst, et, &got);
        if (ft != et)
            MPI_Type_free(&ft);
        rrr_status lst = RRR_OK;
        if (rc != MPI_SUCCESS)
            lst = mpi_io_fail(ctx, rc, path, "read my rows");
        else if ((size_t)got != p * m)
            lst = RRR_FAIL(&ctx->err, RRR_EIO, "%s: short read (%d of %zu values)", path, got,
                           p * m);
        else
            untranspose(a + i0 * p, p, t, es, m);
        st = rrr_agree(ctx, lst);
    }
    free(t);
    return st;
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

rrr_status rrr_npy_read_rows(rrr_ctx *ctx, const char *path, int ids, rrr_block **out)
{
    double t0 = rrr_phase_begin();
    rrr_block *B = NULL;
    rrr_npy_hdr h;
    MPI_File fh = MPI_FILE_NULL;
    rrr_status st = rrr_npy_read_header(ctx, path, &h);
    if (st != RRR_OK)
        goto done;
    if (h.integer && !ids) {
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: unsupported dtype '<i8' (need '<f8' or '<f4'): "
                      "save arr.astype('<f8') instead", path);
        goto done; /* same verdict on every rank: the header was broadcast */
    }
    if (h.cols == 0) {
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: shape (%zu, 0): an array without columns",
                      path, h.rows);
        goto done; /* replicated: the header was broadcast */
    }
    if (ids && h.cols != 1) { /* n x 1: Fortran and C order are the same bytes */
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu; fold ids are one column (n x 1)",
                      path, h.rows, h.cols);
        goto done;
    }
    if (h.cols > INT_MAX || h.rows > (size_t)INT_MAX * (size_t)ctx->size) {
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu is too large for MPI-IO counts",
                      path, h.rows, h.cols);
        goto done; /* same verdict on every rank: the header was broadcast */
    }
    struct { size_t r0, nloc; } pt;
    rrr_partition(h.rows, ctx->size, ctx->rank, &pt.r0, &pt.nloc);
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
    if (st != RRR_OK)
        goto done;

    int rc = MPI_File_open(ctx->comm, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
    if (rc != MPI_SUCCESS)
        st = mpi_io_fail(ctx, rc, path, "open for MPI-IO");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto done;
    if (h.fortran)
        st = read_fortran(ctx, fh, &h, pt.r0, pt.nloc, B->a, path);
    else
        st = read_c_order(ctx, fh, &h, pt.r0, pt.nloc, B->a, path);
    if (st == RRR_OK && h.integer)
        widen_i8(B->a, pt.nloc * h.cols);
    if (st == RRR_OK)
        st = rrr_check_finite(&ctx->err, path, B->a, pt.nloc, h.cols, pt.r0);
    ctx->bytes_read += pt.nloc * h.cols * h.itemsize;
    st = rrr_agree(ctx, st);
done:
    if (fh != MPI_FILE_NULL)
        MPI_File_close(&fh);
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

/* Local. Read back my rows (rank 0: and the header) and compare them with what was meant.
 * Open MPI 4.1's collective write (OMPIO at 3 ranks) loses an aggregator's failed
 * pwritev: on a full disk it returned MPI_SUCCESS and full counts on every rank and left
 * zeros in the file. So counts are not proof; the bytes are. Independent reads of about
 * 1 MiB. */
static rrr_status read_back(rrr_ctx *ctx, MPI_File fh, const char *path, const char *hdr,
                            size_t hlen, size_t r0, size_t nloc, size_t cols, const double *a)
{
    const size_t rowbytes = cols * sizeof(double);
    const size_t chunk = rowbytes < ((size_t)1 << 20) ? ((size_t)1 << 20) / rowbytes : 1;
    double *buf = rrr_malloc(chunk * cols + hlen / sizeof(double) + 1, sizeof(double));
    rrr_status st = RRR_OK;
    MPI_Status mst;
    if (buf == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory to check the write", path);
    if (ctx->rank == 0) {
        int rc = MPI_File_read_at(fh, 0, buf, (int)hlen, MPI_BYTE, &mst);
        st = io_done(ctx, rc, &mst, MPI_BYTE, hlen, path, "read back the header");
        if (st == RRR_OK && memcmp(buf, hdr, hlen) != 0)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: the header read back differs from the one "
                          "written (disk full?)", path);
    }
    for (size_t i = 0; i < nloc && st == RRR_OK; i += chunk) {
        size_t c = nloc - i < chunk ? nloc - i : chunk;
        MPI_Offset off = (MPI_Offset)(hlen + (r0 + i) * rowbytes);
        int rc = MPI_File_read_at(fh, off, buf, (int)(c * cols), MPI_DOUBLE, &mst);
        st = io_done(ctx, rc, &mst, MPI_DOUBLE, c * cols, path, "read back my rows");
        if (st == RRR_OK && memcmp(buf, a + i * cols, c * rowbytes) != 0)
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: rows %zu.. read back differ from those "
                          "written (disk full, or an I/O error MPI-IO did not report)", path,
                          r0 + i);
    }
    free(buf);
    return st;
}

rrr_status rrr_npy_write_rows(rrr_ctx *ctx, rrr_outset *o, int slot, size_t n, size_t cols,
                              size_t r0, size_t nloc, const double *a)
{
    double t0 = rrr_phase_begin();
    char hdr[128];
    size_t hlen = rrr_npy_format(hdr, sizeof hdr, n, cols);
    const char *tmp = rrr_outset_tmp(o, slot), *path = rrr_outset_dst(o, slot);
    MPI_File fh = MPI_FILE_NULL;
    MPI_Datatype row = MPI_DATATYPE_NULL;
    MPI_Status mst;
    rrr_status st = RRR_OK;
    if (hlen == 0 || cols == 0 || cols > INT_MAX || nloc > INT_MAX || !fits_offset(hlen, n, cols))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu is too large to write", path, n, cols);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    if (ctx->rank == 0) /* a full disk is found here, with its errno, before any write */
        st = rrr_outset_reserve(ctx, o, slot, (unsigned long long)(hlen + n * cols * sizeof(double)));
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    /* no MPI_MODE_CREATE: rank 0 created the file exclusively; check it is still that one */
    int rc = MPI_File_open(ctx->comm, tmp, MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    if (rc != MPI_SUCCESS)
        st = mpi_io_fail(ctx, rc, path, "open the temporary file");
    else
        st = rrr_outset_verify(ctx, o, slot);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto done;
    MPI_Type_contiguous((int)cols, MPI_DOUBLE, &row);
    MPI_Type_commit(&row);
    rc = MPI_File_set_size(fh, (MPI_Offset)(hlen + n * cols * sizeof(double)));
    if (rc != MPI_SUCCESS)
        st = mpi_io_fail(ctx, rc, path, "set the file size");
    if (st == RRR_OK && ctx->rank == 0) {
        rc = MPI_File_write_at(fh, 0, hdr, (int)hlen, MPI_BYTE, &mst);
        st = io_done(ctx, rc, &mst, MPI_BYTE, hlen, path, "write the header");
    }
    /* Everyone enters the collective calls, whatever happened above, then agrees. */
    MPI_Offset off = (MPI_Offset)(hlen + r0 * cols * sizeof(double));
    rc = MPI_File_write_at_all(fh, off, a, (int)nloc, row, &mst);
    rrr_status wst = io_done(ctx, rc, &mst, row, nloc, path, "write my rows");
    if (st == RRR_OK)
        st = wst;
    rc = MPI_File_sync(fh); /* on disk before the rename */
    if (rc != MPI_SUCCESS && st == RRR_OK)
        st = mpi_io_fail(ctx, rc, path, "sync");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_agree(ctx, read_back(ctx, fh, path, hdr, hlen, r0, nloc, cols, a));
done:
    if (row != MPI_DATATYPE_NULL)
        MPI_Type_free(&row);
    if (fh != MPI_FILE_NULL) { /* collective: every rank closes, then all agree */
        rc = MPI_File_close(&fh);
        rrr_status cst = rc == MPI_SUCCESS ? RRR_OK : mpi_io_fail(ctx, rc, path, "close");
        st = rrr_agree(ctx, st != RRR_OK ? st : cst);
    }
    rrr_phase_end(ctx, RRR_T_WRITE, t0);
    return st;
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
