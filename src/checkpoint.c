/* src/checkpoint.c: DIR/checkpoint.bin, one file written by rank 0:
 *   "RRRCKPT4" | fingerprint (n p q d lambda solver intercept data-hash) | iter fprev g0
 *   zg_prev w_valid g0_start | U V [D gprev W: gd only] | nhistory history | FNV-1a 64 of
 *   everything before it (formats 2 and 3: no g0_start; NaN in format 4 when the run
 *   resumed from one of those, so the start's own norm is not known).
 * Only replicated state is stored, so a job may resume on another number of ranks. */
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
#include "checkpoint.h"
#include "comm.h"
#include "fnv.h"
#include "output.h"
#include "rng.h"

rrr_status rrr_checkpoint_dir_check(rrr_ctx *ctx, const char *dir, const char *what)
{
    static const char *const name[] = { "checkpoint.bin" };
    rrr_status st = rrr_output_check(ctx, dir, 1, what);
    return st == RRR_OK ? rrr_output_names_check(ctx, dir, name, 1, what) : st;
}

static const char MAGIC[8] = { 'R', 'R', 'R', 'C', 'K', 'P', 'T', '4' };
enum { OLDEST_FORMAT = 2 }; /* format 2 differs only in als's history convention */

typedef struct {
    uint64_t n, p, q, d, solver, intercept, data_hash;
    double lambda;
} fingerprint;

/* Collective. A checksum of X and Y that does not depend on how rows are split: the sum
 * mod 2^64 of a hash of (global position, bits) over all entries. */
static uint64_t data_hash(rrr_ctx *ctx, const rrr_problem *pb)
{
    const size_t r0 = pb->r0;
    uint64_t h = 0;
    for (size_t il = 0; il < pb->nloc; il++) {
        uint64_t i = r0 + il;
        for (size_t j = 0; j < pb->p; j++) {
            uint64_t b;
            memcpy(&b, pb->Xt + il * pb->p + j, sizeof b);
            h += rrr_mix64(b ^ rrr_mix64(i * 0x9e3779b97f4a7c15ULL + j));
        }
        for (size_t j = 0; j < pb->q; j++) {
            uint64_t b;
            memcpy(&b, pb->Yt + il * pb->q + j, sizeof b);
            h += rrr_mix64(b ^ rrr_mix64(~(i * 0x9e3779b97f4a7c15ULL + j)));
        }
    }
    uint64_t all = 0;
    MPI_Allreduce(&h, &all, 1, MPI_UINT64_T, MPI_SUM, ctx->comm);
    return all;
}

static fingerprint make_fp(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                           rrr_solver solver, rrr_ckpt_state *s)
{
    fingerprint fp;
    memset(&fp, 0, sizeof fp);
    fp.n = pb->n;
    fp.p = pb->p;
    fp.q = pb->q;
    fp.d = (uint64_t)pb->d;
    fp.solver = (uint64_t)solver;
    fp.intercept = (uint64_t)o->intercept;
    fp.lambda = pb->lambda;
    if (!s->have_hash) { /* one pass over the data per run, not per checkpoint */
        s->data_hash = pb->have_hash ? pb->data_hash : data_hash(ctx, pb);
        s->have_hash = 1;
    }
    fp.data_hash = s->data_hash;
    return fp;
}

static const char *fp_mismatch(const fingerprint *a, const fingerprint *b)
{
    if (a->n != b->n || a->p != b->p || a->q != b->q) return "the data shapes differ";
    if (a->d != b->d) return "--rank differs";
    if (memcmp(&a->lambda, &b->lambda, sizeof a->lambda) != 0) return "--lambda differs";
    if (a->solver != b->solver) return "the solver differs";
    if (a->intercept != b->intercept) return "--intercept differs";
    if (a->data_hash != b->data_hash) return "the data differ";
    return NULL;
}

/* A growing byte buffer with a running checksum. */
typedef struct {
    FILE *f;
    uint64_t h;
    int ok;
} sink;

static void put(sink *k, const void *buf, size_t len)
{
    k->h = rrr_fnv1a(k->h, buf, len);
    if (k->ok && fwrite(buf, 1, len, k->f) != len)
        k->ok = 0;
}

/* The state arrays in file order: U (p x d), V (q x d), then gd's D, gprev, W (p x d each;
 * NULL for als, which has none, and the solver is in the fingerprint). Returns how many. */
static int state_arrays(const rrr_problem *pb, rrr_ckpt_state *s, double **a, size_t *len)
{
    size_t pd = pb->p * (size_t)pb->d, qd = pb->q * (size_t)pb->d;
    double *all[5] = { s->U, s->V, s->D, s->gprev, s->W };
    size_t lens[5] = { pd, qd, pd, pd, pd };
    int k = 0;
    for (int i = 0; i < 5; i++)
        if (all[i] != NULL) {
            a[k] = all[i];
            len[k++] = lens[i];
        }
    return k;
}

static int ckpt_path(const rrr_fit_opts *o, char *path)
{
    int len = snprintf(path, PATH_MAX, "%s/checkpoint.bin", o->checkpoint);
    return len > 0 && len < PATH_MAX;
}

/* Local (rank 0). The file's contents into o's slot, fsync'ed (rrr_outset_close_stream). */
static rrr_status write_state(rrr_ctx *ctx, rrr_outset *os, int slot, const rrr_problem *pb,
                              rrr_ckpt_state *s, const fingerprint *fp)
{
    double *arr[5];
    size_t alen[5];
    int na = state_arrays(pb, s, arr, alen);
    uint64_t it = (uint64_t)s->iter, nh = s->nhistory, wv = (uint64_t)s->w_valid;
    sink k = { rrr_outset_stream(ctx, os, slot), RRR_FNV_INIT, 1 };
    if (k.f == NULL)
        return RRR_EIO;
    put(&k, MAGIC, sizeof MAGIC);
    put(&k, fp, sizeof *fp);
    put(&k, &it, sizeof it);
    put(&k, &s->fprev, sizeof s->fprev);
    put(&k, &s->g0, sizeof s->g0);
    put(&k, &s->zg_prev, sizeof s->zg_prev);
    put(&k, &wv, sizeof wv);
    put(&k, &s->g0_start, sizeof s->g0_start);
    for (int i = 0; i < na; i++)
        put(&k, arr[i], alen[i] * sizeof(double));
    put(&k, &nh, sizeof nh); /* f at iterates 0 .. iter */
    put(&k, s->history, nh * sizeof(double));
    uint64_t h = k.h;
    put(&k, &h, sizeof h);
    rrr_status st = rrr_outset_close_stream(ctx, os, slot, k.f);
    if (st == RRR_OK && !k.ok)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "--checkpoint %s: write failed", rrr_outset_dst(os, slot));
    return st;
}

rrr_status rrr_checkpoint_save(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                               rrr_solver solver, rrr_ckpt_state *s)
{
    double t0 = rrr_phase_begin();
    char path[PATH_MAX];
    fingerprint fp = make_fp(ctx, pb, o, solver, s);
    rrr_outset os;
    int slot = -1;
    rrr_outset_init(&os);
    rrr_status st = rrr_outset_mkdir(ctx, &os, o->checkpoint, "--checkpoint");
    if (st == RRR_OK)
        st = ckpt_path(o, path) ? rrr_outset_add(ctx, &os, path, &slot)
                                : rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EIO, "--checkpoint %s: "
                                                          "path too long", o->checkpoint));
    if (st == RRR_OK) {
        rrr_status wst = RRR_OK;
        if (ctx->rank == 0)
            wst = write_state(ctx, &os, slot, pb, s, &fp);
        st = rrr_agree(ctx, wst);
    }
    /* the previous checkpoint stays under its name until the new one is complete */
    st = rrr_outset_finish(ctx, &os, st);
    if (st == RRR_OK && ctx->rank == 0) /* a job killed mid-write left its temporary */
        rrr_outset_sweep(path);
    rrr_phase_end(ctx, RRR_T_WRITE, t0);
    if (st == RRR_OK)
        rrr_info(ctx, "checkpoint: iteration %ld saved to %s", s->iter, path);
    return st;
}

/* Local (rank 0). Read the whole file; verify magic, size and checksum. */
static rrr_status read_file(rrr_ctx *ctx, const char *path, size_t expect, unsigned char **out,
                            size_t *lenp, int *missing)
{
    struct stat sb;
    unsigned long long size = 0;
    *out = NULL;
    *missing = 0;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        *missing = 1;
        return RRR_OK;
    }
    FILE *f = rrr_input_open(&ctx->err, path, &size); /* a FIFO is refused, not waited on */
    if (f == NULL)
        return RRR_EIO;
    size_t len = (size_t)size;
    *lenp = len;
    rrr_status st = RRR_OK;
    unsigned char *b = NULL;
    if (len < expect + 8 || len > expect + 8 + ((size_t)1 << 36))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: corrupt or foreign checkpoint (size %zu)", path, len);
    else if ((b = rrr_malloc(len, 1)) == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%s: out of memory for the checkpoint", path);
    else if (fread(b, 1, len, f) != len)
        st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot read", path);
    fclose(f);
    uint64_t h;
    if (st == RRR_OK) {
        memcpy(&h, b + len - sizeof h, sizeof h);
        int version = b[sizeof MAGIC - 1] - '0', same_kind = memcmp(b, MAGIC, sizeof MAGIC - 1) == 0;
        if (same_kind && (version < OLDEST_FORMAT || version > MAGIC[7] - '0'))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL,
                          "%s: checkpoint of another rrr version (format byte 0x%02x; this one "
                          "reads formats %d to %d); remove it to start afresh", path,
                          b[sizeof MAGIC - 1], OLDEST_FORMAT, MAGIC[7] - '0');
        else if (!same_kind || rrr_fnv1a(RRR_FNV_INIT, b, len - sizeof h) != h)
            st = RRR_FAIL(&ctx->err, RRR_EINVAL,
                          "%s: corrupt checkpoint (checksum mismatch); remove it to start afresh", path);
    }
    if (st != RRR_OK)
        free(b);
    else
        *out = b;
    return st;
}

/* Local. Every value of n doubles finite (a in the file: possibly unaligned bytes). */
static int all_finite(const void *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        memcpy(&v, (const unsigned char *)a + 8 * i, sizeof v);
        if (!isfinite(v))
            return 0;
    }
    return 1;
}

/* Local (rank 0). The counts and values of a checkpoint whose checksum matched: the
 * history length and the iteration are compared without products that could wrap (a
 * crafted file must not pass by overflow), and no state value is NaN or infinite (only
 * fprev may be +inf: format 2 at its first iterate). */
static rrr_status check_loaded(rrr_ctx *ctx, const char *path, const unsigned char *b,
                               size_t len, size_t fixed, const uint64_t hdr[4], const double sc[4],
                               double *const arr[], const size_t alen[], int na, const double *W)
{
    size_t room = (len - fixed - 8) / 8; /* len >= fixed + 8 was checked */
    if (hdr[0] >= (uint64_t)LONG_MAX || hdr[1] > room || hdr[1] > (uint64_t)INT_MAX - 2 ||
        len != fixed + hdr[1] * 8 + 8) /* INT_MAX: the history is broadcast with an int count */
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: corrupt checkpoint (inconsistent length)", path);
    /* format 3: f_0 .. f_k; format 2: k values */
    uint64_t want = hdr[3] >= 3 ? hdr[0] + 1 : hdr[0];
    if (hdr[1] != want)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: corrupt checkpoint (history of %llu values at "
                        "iteration %llu)", path, (unsigned long long)hdr[1],
                        (unsigned long long)hdr[0]);
    int ok = !isnan(sc[0]) && sc[0] > -(double)INFINITY && isfinite(sc[1]) && isfinite(sc[2]) &&
             !isinf(sc[3]) && all_finite(b + fixed, (size_t)hdr[1]);
    for (int i = 0; i < na && ok; i++) /* W means nothing unless w_valid */
        ok = (arr[i] == W && hdr[2] == 0) || all_finite(arr[i], alen[i]);
    if (!ok)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: corrupt checkpoint (non-finite values); "
                        "remove it to start afresh", path);
    return RRR_OK;
}

rrr_status rrr_checkpoint_load(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                               rrr_solver solver, rrr_ckpt_state *s, int *resumed)
{
    char path[PATH_MAX];
    double *arr[5];
    size_t alen[5], nstate = 0;
    int na = state_arrays(pb, s, arr, alen);
    for (int i = 0; i < na; i++)
        nstate += alen[i];
    size_t fixed = 0; /* the bytes before the history: by the format */
    fingerprint fp = make_fp(ctx, pb, o, solver, s), got;
    unsigned char *b = NULL;
    size_t len = 0;
    int missing = 0;
    uint64_t hdr[4] = { 0, 0, 0, 0 }; /* iteration, history length, w_valid, format */
    double sc[4] = { 0, 0, 0, NAN };  /* fprev, g0, zg_prev, g0_start (format 4)       */
    *resumed = 0;
    rrr_status st = ckpt_path(o, path) ? RRR_OK
                                       : RRR_FAIL(&ctx->err, RRR_EIO, "--checkpoint: path too long");
    if (st == RRR_OK && ctx->rank == 0) {
        rrr_outset_sweep(path); /* this run is the checkpoint's writer now */
        st = read_file(ctx, path, sizeof MAGIC + sizeof(fingerprint), &b, &len, &missing);
    }
    if (st == RRR_OK && ctx->rank == 0 && !missing) {
        const unsigned char *c = b + sizeof MAGIC;
        hdr[3] = (uint64_t)(b[sizeof MAGIC - 1] - '0');
        const size_t nfix = hdr[3] >= 4 ? 6 : 5;
        fixed = sizeof MAGIC + sizeof(fingerprint) + nfix * 8 + nstate * 8 + 8;
        memcpy(&got, c, sizeof got);
        c += sizeof got;
        const char *why = fp_mismatch(&fp, &got);
        if (why != NULL)
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: checkpoint is for another problem (%s)", path, why);
        else if (len < fixed + 8)
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: corrupt checkpoint (too short)", path);
        if (st == RRR_OK) {
            memcpy(&hdr[0], c, 8);
            memcpy(sc, c + 8, 3 * 8);
            memcpy(&hdr[2], c + 4 * 8, 8);
            if (nfix == 6)
                memcpy(&sc[3], c + 5 * 8, 8);
            c += nfix * 8;
            for (int i = 0; i < na; i++) {
                memcpy(arr[i], c, alen[i] * 8);
                c += alen[i] * 8;
            }
            memcpy(&hdr[1], c, 8);
            st = check_loaded(ctx, path, b, len, fixed, hdr, sc, arr, alen, na, s->W);
        }
    }
    st = rrr_agree(ctx, st);
    MPI_Bcast(&missing, 1, MPI_INT, 0, ctx->comm);
    if (st != RRR_OK || missing) {
        free(b);
        if (st == RRR_OK)
            rrr_warn(ctx, "no checkpoint in %s yet: starting afresh", o->checkpoint);
        return st;
    }
    MPI_Bcast(hdr, 4, MPI_UINT64_T, 0, ctx->comm);
    MPI_Bcast(sc, 4, MPI_DOUBLE, 0, ctx->comm);
    for (int i = 0; i < na; i++)
        MPI_Bcast(arr[i], (int)alen[i], MPI_DOUBLE, 0, ctx->comm);
    s->history = rrr_malloc(hdr[1] + 2, sizeof(double)); /* room for the engine's next two */
    s->history_cap = (size_t)hdr[1] + 2;
    if (s->history == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory for the history");
    else if (ctx->rank == 0)
        memcpy(s->history, b + fixed, hdr[1] * 8);
    free(b);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(s->history);
        s->history = NULL;
        return st;
    }
    MPI_Bcast(s->history, (int)hdr[1], MPI_DOUBLE, 0, ctx->comm);
    s->nhistory = hdr[1];
    s->iter = (long)hdr[0];
    s->fprev = sc[0];
    s->g0 = sc[1];
    s->zg_prev = sc[2];
    s->g0_start = sc[3];
    s->w_valid = hdr[2] != 0;
    s->format = (int)hdr[3];
    *resumed = 1;
    rrr_info(ctx, "checkpoint: resuming from iteration %ld of %s", s->iter, path);
    return RRR_OK;
}

rrr_status rrr_checkpoint_on_signal(rrr_ctx *ctx, const rrr_problem *pb, const rrr_fit_opts *o,
                                    rrr_solver solver, rrr_ckpt_state *s)
{
    rrr_status st = RRR_OK;
    if (o->checkpoint == NULL)
        return RRR_FAIL(&ctx->err, RRR_ESTOPPED,
                        "stopped by a signal at iteration %ld; nothing was written (with rrr fit "
                        "--checkpoint DIR the iterate is kept for --resume)",
                        s->iter);
    st = rrr_checkpoint_save(ctx, pb, o, solver, s);
    if (st != RRR_OK)
        return st;
    return RRR_FAIL(&ctx->err, RRR_ESTOPPED,
                    "stopped by a signal at iteration %ld; checkpoint saved in %s (rerun with --resume)",
                    s->iter, o->checkpoint);
}
