/* src/stream.c: input matrices as streams of row panels: one pass over my rows of X and Y
 * in panels of a fixed height, double-buffered (the read of panel k + 1 is in flight while
 * the caller works on panel k), with the readers' checks folded into the pass.
 *
 * Who reads what: a C-order .npy in the page cache is mapped (map_rows); one bigger than
 * memory, <f8, by a reader thread with O_DIRECT, panels ahead (direct.c, choose_direct);
 * otherwise through nonblocking collective MPI-IO (MPI_File_iread_at_all, straight into
 * the panel buffer: no second copy for <f8); a
 * Fortran-order .npy through a vector file view per panel, then transposed; an HDF5
 * dataset through one collective H5Dread of a hyperslab of rows per panel (both blocking:
 * bounded memory, no overlap); a block in memory needs no reading (its panels point into
 * it). Every rank takes part in every panel's collective calls, with no rows once its own
 * ran out, so a pass has the same number of panels everywhere.
 *
 * Panel boundaries depend only on p, q (and RRR_PANEL_ROWS), never on the kind of input,
 * so the sums a pass forms are bitwise the same whether the rows come from a file, from
 * another file format or from memory (the Python package passes memory, the CLI files). */
#define _DEFAULT_SOURCE /* madvise (Linux) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"
#include "comm.h"
#include "direct.h"
#include "h5.h"
#include "input.h"
#include "npy.h"
#include "rng.h"
#include "scan.h"
#include "stream.h"

enum { IN_MEM, IN_NPY, IN_H5 };

struct rrr_input {
    int kind;
    size_t n, cols;
    char path[PATH_MAX];       /* as given (files)                                       */
    char file[PATH_MAX];       /* HDF5: the file part; the dataset is path + dset_off    */
    size_t dset_off;
    rrr_npy_hdr h;             /* .npy: the header                                       */
    rrr_file_stamp stamp;      /* HDF5: the file whose shape n x cols is                 */
    const rrr_block *B;        /* memory: the caller's block, or the one loaded          */
    rrr_block *owned;          /* ... when rrr_input_load read it                        */
};

/* ---- inputs -------------------------------------------------------------------------- */

rrr_status rrr_input_file(rrr_ctx *ctx, const char *path, rrr_input **out)
{
    rrr_input *in = rrr_calloc(1, sizeof *in);
    const char *dset = NULL;
    rrr_status st = RRR_OK;
    *out = NULL;
    if (in == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    else if (path == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "no input path");
    else /* as an output's: what open would say */
        st = rrr_input_path_fits(ctx, path);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(in);
        return st;
    }
    strcpy(in->path, path);
    int kind = rrr_path_h5(path, in->file, sizeof in->file, &dset);
    if (kind < 0) {
        st = rrr_input_unnamed(ctx, path);
    } else if (kind == 0) {
        in->kind = IN_NPY;
        st = rrr_npy_read_header(ctx, path, &in->h);
        if (st == RRR_OK) /* replicated: the header was broadcast */
            st = rrr_npy_check_input(ctx, path, &in->h, 0);
        in->n = in->h.rows;
        in->cols = in->h.cols;
    } else {
        in->kind = IN_H5;
        in->dset_off = (size_t)(dset - path);
        st = rrr_input_regular(ctx, in->file, &in->stamp);
        rrr_h5_reader *rd = NULL;
        size_t es = 8;
        if (st == RRR_OK)
            st = rrr_h5_reader_open(ctx, in->file, path + in->dset_off, in->path, 0, &rd);
        if (st == RRR_OK)
            rrr_h5_reader_shape(rd, &in->n, &in->cols, &es);
        /* a chunk far larger than a panel is decompressed again by every panel's read:
         * memory and time the plan cannot see (a 307 MB gzip chunk: 665 MB per rank) */
        double chunk = st == RRR_OK ? rrr_h5_reader_filtered_chunk(rd) : 0;
        if (chunk > 64e6)
            rrr_warn(ctx, "%s: its compressed chunks hold %.3g MB each, and every read of a row "
                     "panel decompresses whole chunks: that much memory per rank beyond the "
                     "plan's, and that time again for each panel; rechunk it (e.g. h5repack -l "
                     "CHUNK=1024x%zu)", path, chunk / 1e6, in->cols);
        rrr_status cst = rrr_h5_reader_close(ctx, &rd);
        st = rrr_agree(ctx, st != RRR_OK ? st : cst);
        if (st == RRR_OK && (in->cols == 0 || in->cols > INT_MAX))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: %zu x %zu: need 1 to 2^31 - 1 columns",
                          path, in->n, in->cols);
    }
    if (st != RRR_OK)
        rrr_input_close(&in);
    *out = in;
    return st;
}

rrr_status rrr_input_mem(rrr_ctx *ctx, const rrr_block *B, rrr_input **out)
{
    *out = NULL;
    if (B == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "no X or no Y block (NULL)");
    rrr_input *in = rrr_calloc(1, sizeof *in);
    if (in == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    in->kind = IN_MEM;
    in->n = B->n;
    in->cols = B->ncols;
    in->B = B;
    *out = in;
    return RRR_OK;
}

void rrr_input_close(rrr_input **in)
{
    if (in == NULL || *in == NULL)
        return;
    rrr_block_destroy(&(*in)->owned);
    free(*in);
    *in = NULL;
}

size_t rrr_input_rows(const rrr_input *in) { return in->n; }
size_t rrr_input_cols(const rrr_input *in) { return in->cols; }
int rrr_input_in_memory(const rrr_input *in) { return in->B != NULL; }

/* Local. A file input is still the file (inode) and the version (mtime) whose shape it
 * took: after a read, its rows are all of that file's, and none of a rewrite's. */
static rrr_status unchanged(rrr_ctx *ctx, const rrr_input *in)
{
    if (in->kind == IN_NPY)
        return rrr_input_same(&ctx->err, -1, in->path, &in->h.stamp, in->path);
    if (in->kind == IN_H5)
        return rrr_input_same(&ctx->err, -1, in->file, &in->stamp, in->file);
    return RRR_OK;
}

rrr_status rrr_input_load(rrr_ctx *ctx, rrr_input *in, const rrr_block **B)
{
    rrr_status st = RRR_OK;
    if (in->B == NULL) {
        st = in->kind == IN_NPY ? rrr_npy_read_rows(ctx, in->path, &in->h, 0, &in->owned)
                                : rrr_h5_read_rows(ctx, in->file, in->path + in->dset_off,
                                                   in->path, 0, &in->owned);
        if (st == RRR_OK) /* the rows are of the file whose shape is n, unrewritten */
            st = rrr_agree(ctx, unchanged(ctx, in));
        if (st != RRR_OK)
            rrr_block_destroy(&in->owned);
        in->B = in->owned;
    }
    *B = in->B;
    return st;
}

/* Local. My rows of one input: its block's, or rrr_partition's for a file. */
static void rows_of(const rrr_ctx *ctx, const rrr_input *in, size_t *r0, size_t *nloc)
{
    if (in->B != NULL) {
        *r0 = in->B->r0;
        *nloc = in->B->nloc;
    } else {
        rrr_partition(in->n, ctx->size, ctx->rank, r0, nloc);
    }
}

rrr_status rrr_input_share(rrr_ctx *ctx, const rrr_input *X, const rrr_input *Y, size_t *r0,
                           size_t *nloc)
{
    size_t yr0 = 0, ynloc = 0;
    rows_of(ctx, X, r0, nloc);
    if (Y != NULL)
        rows_of(ctx, Y, &yr0, &ynloc);
    /* the rows before mine, and all of them: an exclusive prefix sum and a total */
    unsigned long long mine = *nloc, before = 0, all = 0;
    MPI_Exscan(&mine, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, ctx->comm);
    MPI_Allreduce(&mine, &all, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, ctx->comm);
    if (ctx->rank == 0)
        before = 0; /* MPI_Exscan leaves rank 0's undefined */
    rrr_status st = RRR_OK;
    if (Y != NULL && (yr0 != *r0 || ynloc != *nloc))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "rank %d holds rows [%zu, %zu) of X but [%zu, %zu) "
                      "of Y: each rank must hold the same rows of both", ctx->rank, *r0,
                      *r0 + *nloc, yr0, yr0 + ynloc);
    else if (before != *r0 || all != X->n)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "rank %d holds rows [%zu, %zu) of %zu, but the ranks "
                      "before it hold %llu rows and all ranks %llu: the ranks' rows must be the "
                      "n rows in rank order, each once", ctx->rank, *r0, *r0 + *nloc, X->n,
                      before, all);
    for (int j = 0; j < 2 && st == RRR_OK; j++) {
        const rrr_input *in = j == 0 ? X : Y;
        if (in != NULL && in->B != NULL && in->B->nloc > 0 && in->B->a == NULL)
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "rank %d: the block of %s holds %zu rows but "
                          "no values (NULL)", ctx->rank, j == 0 ? "X" : "Y", in->B->nloc);
    }
    return rrr_agree(ctx, st);
}

size_t rrr_stream_panel_rows(size_t p, size_t q)
{
    const char *e = getenv("RRR_PANEL_ROWS");
    size_t rows = 0;
    if (e != NULL) {
        char *end;
        unsigned long long v = strtoull(e, &end, 10);
        if (*end == '\0' && v > 0)
            rows = (size_t)v;
    }
    if (rows == 0) {
        rows = RRR_STREAM_PANEL_BYTES / (sizeof(double) * (p + q));
        rows = rows < 64 ? 64 : rows;
    }
    size_t cap = (size_t)INT_MAX / (p + q); /* rows x cols values per read: an int count */
    return rows > cap ? (cap > 0 ? cap : 1) : rows;
}

/* Local, pure. Why an MPI-IO hint is not passed on, or NULL: MPI_Info_set aborts the job on
 * a key or value beyond MPI's limits, and Open MPI's collective reads take sizes and counts
 * unchecked (cb_buffer_size=0 read wrong rows at 3 ranks: a wrong model with exit 0;
 * cb_nodes=0 or -5 crashed), so a size or count must be a positive integer, a buffer at
 * least 4096 bytes. */
static const char *hint_refused(const char *key, const char *val)
{
    static const char *const counted[] = { "_size", "_nodes", "_factor", "_unit", "_count" };
    if (strlen(key) >= MPI_MAX_INFO_KEY || strlen(val) >= MPI_MAX_INFO_VAL)
        return "longer than MPI's limit";
    size_t lk = strlen(key);
    for (size_t k = 0; k < sizeof counted / sizeof counted[0]; k++) {
        size_t ls = strlen(counted[k]);
        if (lk < ls || strcmp(key + lk - ls, counted[k]) != 0)
            continue;
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (*end != '\0' || errno != 0 || v < 1 || v > INT_MAX)
            return "a size or count must be a positive integer";
        if (k == 0 && v < 4096)
            return "a buffer size must be at least 4096 bytes";
    }
    return NULL;
}

MPI_Info rrr_mpiio_info(void)
{
    static int made = 0;
    static MPI_Info info = MPI_INFO_NULL;
    if (made)
        return info;
    made = 1;
    const char *e = getenv("RRR_MPIIO_HINTS");
    if (e == NULL || *e == '\0')
        return info;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", e);
    MPI_Info_create(&info);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv != NULL;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL || eq == kv || eq[1] == '\0')
            continue; /* not key=value: ignored (README "I/O") */
        *eq = '\0';
        const char *why = hint_refused(kv, eq + 1);
        int world = 0;
        if (why != NULL && MPI_Comm_rank(MPI_COMM_WORLD, &world) == MPI_SUCCESS && world == 0) {
            char msg[256];
            snprintf(msg, sizeof msg, "RRR_MPIIO_HINTS: %.40s=%.40s ignored (%s)", kv, eq + 1,
                     why);
            rrr_say("rrr: warning: ", msg); /* one line, whatever the value holds */
        }
        if (why == NULL)
            MPI_Info_set(info, kv, eq + 1);
    }
    return info;
}

rrr_status rrr_mpiio_headroom(rrr_ctx *ctx, const char *path)
{
    /* address space only (what ulimit -v limits), mapped and unmapped, never touched: no
     * allocator (nor a sanitizer's shadow of it) sees it */
    void *probe = mmap(NULL, RRR_MPIIO_HEADROOM, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
                       MAP_NORESERVE, -1, 0);
    rrr_status st = probe != MAP_FAILED ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out "
                                                            "of memory for MPI-IO's collective "
                                                            "buffers (%zu MB per rank): raise "
                                                            "the memory limit (ulimit -v)", path,
                                                            RRR_MPIIO_HEADROOM >> 20);
    if (probe != MAP_FAILED)
        munmap(probe, RRR_MPIIO_HEADROOM);
    return rrr_agree(ctx, st);
}

/* ---- the pass ------------------------------------------------------------------------ */

struct rrr_stream {
    rrr_ctx *ctx;
    int nin, flags;
    rrr_input *in[2];          /* X, and Y (nin = 2)                                     */
    size_t rows, count, k;     /* panel height; panels per pass; the next one            */
    size_t r0, nloc;           /* my rows                                                */
    double *buf[2][2];         /* files: [input][slot], one panel each                   */
    rrr_npy_reader *npy[2];
    rrr_h5_reader *h5[2];
    int direct[2];             /* input j read by a reader thread with O_DIRECT (all ranks) */
    rrr_direct *dio[2];        /* ... mine (NULL when I own no rows)                      */
    double *cur[2];            /* the rows of the panel read last                        */
    rrr_status started[2];     /* the local status of the read started last              */
    double amax[2];
    uint64_t hash;
    double *mom;               /* RRR_STREAM_MOMENTS: sums (p, q), then squares (p, q)    */
    const double *map[2];      /* my rows of a mapped file (map_rows), or NULL           */
    void *mbase[2];
    size_t mlen[2], pg;
    int mapped;                /* every file input mapped, on every rank                 */
};

size_t rrr_stream_count(const rrr_stream *s) { return s->count; }
size_t rrr_stream_rows(const rrr_stream *s) { return s->rows; }

/* Local. My rows of panel k: [*i0, *i0 + *m). */
static void panel_of(const rrr_stream *s, size_t k, size_t *i0, size_t *m)
{
    size_t a = k * s->rows;
    *i0 = a < s->nloc ? a : s->nloc;
    *m = s->nloc - *i0 < s->rows ? s->nloc - *i0 : s->rows;
}

/* Collective (for files). Start reading panel k of input j into slot k & 1. */
static void start(rrr_stream *s, int j, size_t k)
{
    size_t i0, m;
    panel_of(s, k, &i0, &m);
    double *b = s->buf[j][k & 1];
    if (s->direct[j]) /* its thread reads ahead on its own */
        return;
    if (s->npy[j] != NULL)
        s->started[j] = rrr_npy_reader_start(s->ctx, s->npy[j], s->r0 + i0, m, b);
    else if (s->h5[j] != NULL) /* blocking: collective, every rank */
        s->started[j] = rrr_h5_reader_read(s->ctx, s->h5[j], s->r0 + i0, m, b);
}

/* The mapped files of this process. A file that shrinks under its mapping (truncated by
 * another program during the pass) raises SIGBUS on the next page touched: one message
 * naming it and exit 3, like a failed read, instead of a crash; a SIGBUS elsewhere keeps
 * its default action. */
enum { MAX_MAPS = 8 };
static struct {
    const char *path;
    uintptr_t a, b;
    char say[RRR_LINE_MAX]; /* the message, made when mapped: a handler may only write(2) */
    size_t len;
} maps[MAX_MAPS];
static int nmaps;
static struct sigaction bus_before;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    const uintptr_t x = (uintptr_t)si->si_addr;
    for (int i = 0; i < MAX_MAPS; i++)
        if (maps[i].path != NULL && x >= maps[i].a && x < maps[i].b) {
            ssize_t r = write(STDERR_FILENO, maps[i].say, maps[i].len);
            (void)r;
            _exit(RRR_EIO);
        }
    sigaction(sig, &bus_before, NULL); /* not ours: returning re-raises it as before */
}

/* Local. Track [a, a + len) as mapping path (the handler is installed with the first). 0
 * when the table is full. */
static int maps_add(const char *path, const void *a, size_t len)
{
    for (int i = 0; i < MAX_MAPS; i++)
        if (maps[i].path == NULL) {
            maps[i].a = (uintptr_t)a;
            maps[i].b = (uintptr_t)a + len;
            char msg[PATH_MAX + 256]; /* a path of up to PATH_MAX bytes: rrr_line cuts */
            snprintf(msg, sizeof msg, "%s: the file changed size while it was being read "
                     "(SIGBUS on its mapping); rerun on a file that stays put while rrr reads "
                     "it", path);
            maps[i].len = rrr_line(maps[i].say, "rrr: error: ", msg);
            maps[i].path = path;
            if (nmaps++ == 0) {
                struct sigaction sa;
                memset(&sa, 0, sizeof sa);
                sa.sa_sigaction = on_bus;
                sa.sa_flags = SA_SIGINFO;
                sigemptyset(&sa.sa_mask);
                sigaction(SIGBUS, &sa, &bus_before);
            }
            return 1;
        }
    return 0;
}

static void maps_remove(const void *a)
{
    for (int i = 0; i < MAX_MAPS; i++)
        if (maps[i].path != NULL && maps[i].a == (uintptr_t)a) {
            maps[i].path = NULL;
            if (--nmaps == 0)
                sigaction(SIGBUS, &bus_before, NULL);
        }
}

/* Local. Whether at least 90 % of the pages of [b, b + len) are in the page cache. */
static int resident(void *b, size_t len, size_t pg)
{
    const size_t npg = (len + pg - 1) / pg;
    unsigned char *v = malloc(npg);
    size_t in = 0;
    if (v == NULL || mincore(b, len, v) != 0) {
        free(v);
        return 0;
    }
    for (size_t i = 0; i < npg; i++)
        in += v[i] & 1;
    free(v);
    return in >= npg - npg / 10;
}

/* Local. Map my rows of input j read-only when it is a C-order <f8 .npy whose rows are in
 * the page cache, and RRR_MMAP is not 0: the panels then point into the page cache, with
 * no copy at all (README "Data bigger than memory"). From disk the MPI-IO reader stays
 * (measured: its asynchronous reads overlapped the disk better than page faults with
 * read-ahead advice, 43-48 s against 56-75 s on 32 GB). 0 when not mapped (also when
 * mapping fails: the reader takes over). */
static int map_rows(rrr_stream *s, int j)
{
    const rrr_input *in = s->in[j];
    const char *e = getenv("RRR_MMAP");
    if ((e != NULL && strcmp(e, "0") == 0) || in->kind != IN_NPY || in->h.fortran ||
        in->h.itemsize != 8 || in->h.integer || s->nloc == 0)
        return 0;
    int fd = open(in->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    rrr_err err = { .st = RRR_OK };
    if (rrr_input_same(&err, fd, in->path, &in->h.stamp, in->path) != RRR_OK) {
        close(fd); /* not the header's file: the reader's open says so */
        return 0;
    }
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    const size_t off = in->h.data_offset + s->r0 * in->cols * sizeof(double);
    const size_t lead = off % pg, len = lead + s->nloc * in->cols * sizeof(double);
    void *b = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)(off - lead));
    close(fd);
    if (b == MAP_FAILED)
        return 0;
    if (!resident(b, len, pg)) { /* from disk, the reader's asynchronous reads do better */
        munmap(b, len);
        return 0;
    }
    if (!maps_add(in->path, b, len)) {
        munmap(b, len);
        return 0;
    }
    (void)madvise(b, len, MADV_SEQUENTIAL);
    s->pg = pg;
    s->mbase[j] = b;
    s->mlen[j] = len;
    s->map[j] = (const double *)((const char *)b + lead);
    return 1;
}

/* Local. Advice on rows [i0, i0 + m) of mapped input j (whole pages inside only). */
static void advise(rrr_stream *s, int j, size_t i0, size_t m, int advice)
{
    const size_t c = s->in[j]->cols * sizeof(double);
    uintptr_t a = (uintptr_t)(s->map[j]) + i0 * c, b = a + m * c, base = (uintptr_t)s->mbase[j];
    if (advice == MADV_WILLNEED) { /* the pages touching the range */
        a -= (a - base) % s->pg;
    } else { /* the pages inside it */
        a += (s->pg - (a - base) % s->pg) % s->pg;
        b -= (b - base) % s->pg;
    }
    if (b > a)
        (void)madvise((void *)a, b - a, advice);
}

/* Local. Whether a pass from the files drops the pages it read from the page cache behind
 * it (npy.h). Filling the cache during the pass slowed the arithmetic by a fifth on the
 * 2-core VM, full cache or not (2 ranks, from disk: 8 GB 12.9 and 14.9 s kept against 9.3
 * and 9.7 s dropped; 32 GB on 24 GB 51.6 and 58.8 s against 39.7 to 48.4 s, dd 35.7 to 57 s),
 * but rows kept cached let the next run map them. So rows are dropped when they could not
 * stay cached anyway: more than half my share of the node's physical memory (a file read in
 * sequence past the cache's size evicts its own beginning). RRR_DROP_BEHIND=1 or 0 decides
 * instead. */
static int drop_behind(const rrr_stream *s)
{
    const char *e = getenv("RRR_DROP_BEHIND");
    if (e != NULL && (strcmp(e, "0") == 0 || strcmp(e, "1") == 0))
        return e[0] == '1';
    double bytes = 0;
    for (int j = 0; j < s->nin; j++)
        bytes += (double)s->nloc * (double)s->in[j]->cols *
                 (s->in[j]->kind == IN_NPY ? (double)s->in[j]->h.itemsize : 8.0);
    return bytes > rrr_node_memory() / s->ctx->node_ranks / 2; /* not ulimit -v's room */
}

/* Collective. Input j is read by a reader thread with O_DIRECT (direct.c) on every rank, or
 * on none (the MPI-IO reader's calls are collective): a C-order <f8 .npy whose rows are
 * dropped behind the pass anyway (drop_behind), where every rank can open it so, and MPI
 * allows a thread beside the one that calls it. RRR_DIRECT=0 keeps the MPI-IO reader (and
 * its hints, for a parallel file system), RRR_DIRECT=1 takes the thread wherever it can.
 * Measured on the 2-core VM (32 GB from disk, 2 ranks, the same hour): exact 22.6 and 23.2
 * s against 37.0 s with the MPI-IO reader (dd 21.8 s with O_DIRECT, 27.7 s through the page
 * cache): the kernel's copy out of the page cache and its reclaim had run on the cores that
 * compute. */
static rrr_status choose_direct(rrr_stream *s, int j)
{
    const rrr_input *in = s->in[j];
    const char *e = getenv("RRR_DIRECT");
    int lvl = MPI_THREAD_SINGLE, want = 1, ok = 1;
    MPI_Query_thread(&lvl);
    if (e != NULL && strcmp(e, "0") == 0)
        want = 0;
    else if (e == NULL || strcmp(e, "1") != 0)
        want = drop_behind(s);
    if (!want || lvl < MPI_THREAD_FUNNELED || in->kind != IN_NPY || in->h.fortran ||
        in->h.itemsize != 8 || in->h.integer)
        return RRR_OK;
    rrr_status st = RRR_OK;
    if (s->nloc > 0) {
        const size_t rb = in->cols * sizeof(double);
        int r = rrr_direct_open(in->path, in->h.data_offset + s->r0 * rb, rb, s->nloc, s->rows,
                                &s->dio[j], &s->ctx->err);
        ok = r == 1;
        st = r < 0 ? RRR_EINTERNAL : RRR_OK;
        if (r == 1) /* the header's file, as every reader checks at its open */
            st = rrr_input_same(&s->ctx->err, rrr_direct_fd(s->dio[j]), in->path, &in->h.stamp,
                                in->path);
    }
    st = rrr_agree(s->ctx, st);
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, s->ctx->comm);
    if (st != RRR_OK || !ok)
        rrr_direct_close(&s->dio[j]);
    s->direct[j] = st == RRR_OK && ok;
    return st;
}

rrr_status rrr_stream_open(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, int flags,
                           rrr_stream **out)
{
    rrr_stream *s = rrr_calloc(1, sizeof *s);
    rrr_status st = s ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    *out = NULL;
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(s);
        return st;
    }
    s->ctx = ctx;
    s->flags = flags;
    s->in[0] = X;
    s->in[1] = Y;
    s->nin = Y != NULL ? 2 : 1;
    s->rows = rrr_stream_panel_rows(X->cols, Y != NULL ? Y->cols : 0);
    if (X->B != NULL) {
        s->r0 = X->B->r0;
        s->nloc = X->B->nloc;
    } else {
        rrr_partition(X->n, ctx->size, ctx->rank, &s->r0, &s->nloc);
    }
    int mapped = 1; /* all ranks map, or none: the readers' calls are collective */
    for (int j = 0; j < s->nin; j++)
        mapped &= s->in[j]->B == NULL && (s->nloc == 0 || map_rows(s, j));
    MPI_Allreduce(MPI_IN_PLACE, &mapped, 1, MPI_INT, MPI_MIN, ctx->comm);
    s->mapped = mapped;
    for (int j = 0; j < s->nin && !mapped; j++)
        if (s->mbase[j] != NULL) {
            maps_remove(s->mbase[j]);
            munmap(s->mbase[j], s->mlen[j]);
            s->mbase[j] = NULL;
            s->map[j] = NULL;
        }
    for (int j = 0; j < s->nin && st == RRR_OK; j++)
        if (s->in[j]->B == NULL && !mapped)
            st = choose_direct(s, j);
    for (int j = 0; j < s->nin; j++) {
        const rrr_input *in = s->in[j];
        if (in->B != NULL && (in->B->r0 != s->r0 || in->B->nloc != s->nloc))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "stream: X and Y hold different rows");
        if (in->B != NULL || mapped || s->direct[j])
            continue;
        size_t cap = s->nloc < s->rows ? s->nloc : s->rows;
        for (int slot = 0; slot < 2; slot++) {
            s->buf[j][slot] = rrr_malloc(cap * in->cols, sizeof(double));
            if (s->buf[j][slot] == NULL)
                st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory for two panels of "
                              "%zu x %zu", in->path, cap, in->cols);
        }
    }
    const size_t pq = X->cols + (Y != NULL ? Y->cols : 0);
    if (flags & RRR_STREAM_MOMENTS) {
        s->mom = rrr_calloc(2 * pq, sizeof *s->mom);
        if (s->mom == NULL)
            st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stream: out of memory");
    }
    unsigned long long mine = (s->nloc + s->rows - 1) / s->rows, most = 0;
    MPI_Allreduce(&mine, &most, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, ctx->comm);
    s->count = (size_t)most;
    st = rrr_agree(ctx, st);
    for (int j = 0; j < s->nin && st == RRR_OK; j++) {
        rrr_input *in = s->in[j];
        if (in->B != NULL || mapped || s->direct[j])
            continue;
        if (in->kind == IN_NPY) {
            st = rrr_npy_reader_open(ctx, in->path, &in->h, s->rows, &s->npy[j]);
            if (st == RRR_OK && drop_behind(s))
                rrr_npy_reader_drop_behind(s->npy[j]);
        } else {
            st = rrr_h5_reader_open(ctx, in->file, in->path + in->dset_off, in->path, 0,
                                    &s->h5[j]);
            if (st == RRR_OK) /* after the open: the file it opened is the shape's */
                st = rrr_agree(ctx, rrr_input_same(&ctx->err, -1, in->file, &in->stamp,
                                                   in->file));
        }
    }
    if (st == RRR_OK && s->count > 0) {
        double t0 = rrr_phase_begin();
        for (int j = 0; j < s->nin; j++)
            start(s, j, 0);
        rrr_phase_end(ctx, RRR_T_READ, t0);
    }
    if (st != RRR_OK)
        rrr_stream_close(&s, st, NULL);
    *out = s;
    return st;
}

/* Local. The checkpoints' checksum of the data (checkpoint.c computed it from rows in
 * memory before; the same formula): the sum mod 2^64 of a hash of (global position, bits). */
static uint64_t data_hash(const double *a, size_t m, size_t cols, size_t r0, int y)
{
    uint64_t h = 0;
    for (size_t il = 0; il < m; il++) {
        uint64_t i = r0 + il;
        for (size_t j = 0; j < cols; j++) {
            uint64_t b, pos = i * 0x9e3779b97f4a7c15ULL + j;
            memcpy(&b, a + il * cols + j, sizeof b);
            h += rrr_mix64(b ^ rrr_mix64(y ? ~pos : pos));
        }
    }
    return h;
}

rrr_status rrr_stream_next(rrr_stream *s, rrr_status lst, rrr_panel *pn)
{
    rrr_ctx *ctx = s->ctx;
    const size_t k = s->k;
    size_t i0, m;
    rrr_status st = lst;
    const double *a[2] = { NULL, NULL };
    double t0 = rrr_phase_begin();
    panel_of(s, k, &i0, &m);
    for (int j = 0; j < s->nin; j++) {
        rrr_input *in = s->in[j];
        if (in->B != NULL) {
            a[j] = in->B->a + i0 * in->cols;
            continue;
        }
        if (s->mapped) {
            a[j] = s->map[j] != NULL ? s->map[j] + i0 * in->cols : NULL;
            if (s->map[j] != NULL) {
                size_t p0, pm;
                if (k > 0) { /* done with the panel before: out of my resident set */
                    panel_of(s, k - 1, &p0, &pm);
                    advise(s, j, p0, pm, MADV_DONTNEED);
                }
                panel_of(s, k + 1, &p0, &pm); /* read ahead while this one is used */
                if (pm > 0)
                    advise(s, j, p0, pm, MADV_WILLNEED);
            }
            ctx->bytes_read += m * in->cols * in->h.itemsize;
            continue;
        }
        if (s->direct[j]) {
            rrr_status dst = RRR_OK;
            s->cur[j] = NULL;
            if (m > 0)
                dst = rrr_direct_next(s->dio[j], &s->cur[j], &ctx->err, in->path);
            a[j] = s->cur[j];
            ctx->bytes_read += m * in->cols * in->h.itemsize;
            if (st == RRR_OK)
                st = dst;
            continue;
        }
        a[j] = s->cur[j] = s->buf[j][k & 1];
        rrr_status rst = s->started[j];
        if (s->npy[j] != NULL) {
            rrr_status fst = rrr_npy_reader_finish(ctx, s->npy[j], s->buf[j][k & 1]);
            rst = rst != RRR_OK ? rst : fst;
            ctx->bytes_read += m * in->cols * in->h.itemsize;
        }
        if (st == RRR_OK)
            st = rst;
    }
    if (k + 1 < s->count) /* the next read is in flight while the caller works on this one */
        for (int j = 0; j < s->nin; j++)
            if (s->in[j]->B == NULL)
                start(s, j, k + 1);
    for (int j = 0; j < s->nin && st == RRR_OK; j++) {
        const rrr_input *in = s->in[j];
        const size_t off = j == 0 ? 0 : s->in[0]->cols;
        const size_t all = s->in[0]->cols + (s->nin > 1 ? s->in[1]->cols : 0);
        double *sum = s->mom != NULL ? s->mom + off : NULL;
        size_t bad = rrr_scan(a[j], m, in->cols, sum, sum != NULL ? s->mom + all + off : NULL,
                          &s->amax[j]);
        if (bad < m * in->cols)
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: non-finite value %g at row %zu, column %zu",
                          in->kind == IN_MEM ? (j == 0 ? "X" : "Y") : in->path, a[j][bad],
                          s->r0 + i0 + bad / in->cols, bad % in->cols);
        if (s->flags & RRR_STREAM_HASH)
            s->hash += data_hash(a[j], m, in->cols, s->r0 + i0, j);
    }
    rrr_phase_end(ctx, RRR_T_READ, t0);
    st = rrr_agree(ctx, st);
    s->k++;
    double *yw = s->nin > 1 && s->in[1]->B == NULL && !s->mapped ? s->cur[1] : NULL;
    *pn = (rrr_panel){ .i0 = i0, .m = m, .r0 = s->r0 + i0, .X = a[0], .Y = a[1], .Yw = yw };
    return st;
}

void rrr_stream_poll(rrr_stream *s)
{
    for (int j = 0; j < s->nin; j++)
        if (s->npy[j] != NULL)
            rrr_npy_reader_poll(s->npy[j]);
}

rrr_status rrr_stream_close(rrr_stream **sp, rrr_status st, rrr_stream_facts *facts)
{
    rrr_stream *s = *sp;
    if (s == NULL)
        return st;
    rrr_ctx *ctx = s->ctx;
    double t0 = rrr_phase_begin();
    int stuck[2] = { 0, 0 };
    for (int j = 0; j < 2; j++) { /* collective: pending reads completed, files closed */
        stuck[j] = rrr_npy_reader_stuck(s->npy[j]);
        rrr_npy_reader_close(ctx, &s->npy[j]);
        rrr_direct_close(&s->dio[j]);
        if (rrr_h5_reader_close(ctx, &s->h5[j]) != RRR_OK && st == RRR_OK)
            st = RRR_EIO;
        if (st == RRR_OK && j < s->nin && s->in[j]->B == NULL) /* rewritten during the pass? */
            st = unchanged(ctx, s->in[j]);
    }
    rrr_phase_end(ctx, RRR_T_READ, t0);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK && facts != NULL) {
        uint64_t h = s->hash;
        MPI_Allreduce(MPI_IN_PLACE, s->amax, 2, MPI_DOUBLE, MPI_MAX, ctx->comm);
        MPI_Allreduce(&h, &facts->hash, 1, MPI_UINT64_T, MPI_SUM, ctx->comm);
        facts->xmax = s->amax[0];
        facts->ymax = s->amax[1];
        if (s->mom != NULL && facts->moments != NULL) {
            size_t len = 2 * (s->in[0]->cols + (s->nin > 1 ? s->in[1]->cols : 0));
            memcpy(facts->moments, s->mom, len * sizeof *s->mom);
            rrr_allreduce_sum(ctx, facts->moments, len);
        }
    }
    for (int j = 0; j < 2; j++) {
        for (int slot = 0; slot < 2 && !stuck[j]; slot++) /* stuck: leaked, never reused */
            free(s->buf[j][slot]);
        if (s->mbase[j] != NULL) {
            maps_remove(s->mbase[j]);
            munmap(s->mbase[j], s->mlen[j]);
        }
    }
    free(s->mom);
    free(s);
    *sp = NULL;
    return st;
}
