/* src/gen.c: `rrr gen`, synthetic problems keyed by (seed, global row, column), so the files
 * are byte-identical for any number of ranks.
 *
 *   X      n x p   X_ij ~ N(0, 1)                      stream 0
 *   U_true p x D   ~ N(0, 1/p)                         stream 2
 *   V_true q x D   ~ N(0, 1)                           stream 3
 *   E      n x q   ~ N(0, 1)                           stream 1
 *   Y = X U_true V_true^T + noise * E
 * With these scales each entry of X U_true has unit variance, so the signal in each
 * entry of Y has variance about D against noise^2. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "check.h"
#include "comm.h"
#include "npy.h"
#include "output.h"
#include "rng.h"
#include "signals.h"
#include "stream.h"

/* Local. My rows of X (row-major nloc x p) and Y (nloc x q). The products use a fixed
 * summation order instead of BLAS: Y must be bitwise the same for any rank count and any
 * BLAS threading, and generation (n(p+q) normal deviates) costs more than these flops. */
static void gen_rows(size_t r0, size_t nloc, size_t p, size_t q, int d, double noise,
                     uint64_t seed, const double *Ut, const double *Vt, double *X, double *Y,
                     double *t)
{
    for (size_t il = 0; il < nloc; il++) {
        uint64_t i = r0 + il;
        double *x = X + il * p, *y = Y + il * q;
        for (size_t j = 0; j < p; j++)
            x[j] = rrr_rng_normal(seed, RRR_STREAM_X, i, j);
        for (int k = 0; k < d; k++)
            t[k] = 0.0;
        for (size_t j = 0; j < p; j++) /* t = U_true^T x */
            for (int k = 0; k < d; k++)
                t[k] += Ut[j * (size_t)d + (size_t)k] * x[j];
        for (size_t j = 0; j < q; j++) { /* y = V_true t + noise e */
            double s = 0.0;
            for (int k = 0; k < d; k++)
                s += Vt[j * (size_t)d + (size_t)k] * t[k];
            y[j] = s + noise * rrr_rng_normal(seed, RRR_STREAM_E, i, j);
        }
    }
}

/* Local. The arguments of rrr_gen (replicated: the same verdict on every rank). */
static rrr_status check_gen(rrr_err *e, size_t n, size_t p, size_t q, int d, double noise,
                            const char *dir)
{
    if (n < 1 || p < 1 || q < 1)
        return RRR_FAIL(e, RRR_EINVAL, "gen: --n, --p and --q must be at least 1");
    rrr_status st = rrr_check_rank(e, d, p, q);
    if (st != RRR_OK)
        return st;
    if (!(noise >= 0) || !isfinite(noise))
        return RRR_FAIL(e, RRR_EINVAL, "gen: --noise %g must be a finite number >= 0", noise);
    if (dir == NULL)
        return RRR_FAIL(e, RRR_EINVAL, "gen: no output directory");
    return RRR_OK;
}

/* Local. The sizes gen will use fit (replicated: the same verdict on every rank): each
 * file's bytes in an MPI_Offset, the largest rank's rows in an int count and in memory,
 * and the factors in memory. Checked before any product is formed. */
static rrr_status check_sizes(rrr_err *e, size_t n, size_t p, size_t q, int d, int ranks)
{
    size_t r0, b, cells, bytes;
    rrr_partition(n, ranks, 0, &r0, &b); /* rank 0 owns the most rows */
    const size_t cols[2] = { p, q };
    for (int k = 0; k < 2; k++) {
        int ok = rrr_size_mul(n, cols[k], &cells) && rrr_size_mul(cells, sizeof(double), &bytes) &&
                 bytes <= (size_t)LLONG_MAX - 4096 && b <= (size_t)INT_MAX &&
                 rrr_size_mul(b, cols[k], &cells) && rrr_size_mul(cells, sizeof(double), &bytes) &&
                 rrr_size_mul(cols[k], (size_t)d, &cells) && rrr_size_mul(cells, sizeof(double), &bytes);
        if (!ok)
            return RRR_FAIL(e, RRR_EINVAL, "gen: %zu x %zu is too large (a .npy file must stay "
                            "below 2^63 bytes and each rank's rows below 2^31)", n, cols[k]);
    }
    return RRR_OK;
}

/* Local. No entry of my rows of Y overflowed (a huge --noise). */
static rrr_status check_finite(rrr_err *e, const double *Y, size_t count, double noise)
{
    for (size_t k = 0; k < count; k++)
        if (!isfinite(Y[k]))
            return RRR_FAIL(e, RRR_ENUMERIC, "gen: Y has non-finite entries (--noise %g is too "
                            "large for doubles)", noise);
    return RRR_OK;
}

/* Collective. DIR/X.npy, Y.npy (my rows, generated and written panel by panel: memory
 * O(panel), whatever n is), U_true.npy, V_true.npy (rank 0), all or none. */
/* Local. st, or RRR_ESTOPPED once a signal came (signals.h): agreed with the panel's check,
 * then before the commit, so a stopped gen leaves nothing. */
static rrr_status stopped(rrr_ctx *ctx, rrr_status st)
{
    if (st != RRR_OK || !rrr_stop_requested)
        return st;
    return RRR_FAIL(&ctx->err, RRR_ESTOPPED, "gen: stopped by a signal; no output was written");
}

static rrr_status write_files(rrr_ctx *ctx, const char *dir, size_t n, size_t p, size_t q,
                              int d, double noise, uint64_t seed, const double *Ut,
                              const double *Vt)
{
    static const char *names[4] = { "X.npy", "Y.npy", "U_true.npy", "V_true.npy" };
    char path[PATH_MAX];
    int slot[4] = { -1, -1, -1, -1 };
    size_t r0, nloc, r00, nmax;
    rrr_partition(n, ctx->size, ctx->rank, &r0, &nloc);
    rrr_partition(n, ctx->size, 0, &r00, &nmax); /* rank 0 owns the most rows */
    const size_t rows = rrr_stream_panel_rows(p, q), count = (nmax + rows - 1) / rows;
    rrr_npy_writer *wx = NULL, *wy = NULL;
    double *X = rrr_malloc(rows * p, sizeof(double)), *Y = rrr_malloc(rows * q, sizeof(double));
    double *t = rrr_malloc((size_t)d, sizeof(double));
    rrr_outset o;
    rrr_outset_init(&o);
    rrr_status st = rrr_agree(ctx, X && Y && t ? RRR_OK
                                               : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "gen: out of "
                                                          "memory for a panel of %zu rows", rows));
    if (st == RRR_OK)
        st = rrr_outset_mkdir(ctx, &o, dir, "--out");
    for (int k = 0; k < 4 && st == RRR_OK; k++) {
        int len = snprintf(path, PATH_MAX, "%s/%s", dir, names[k]);
        st = len > 0 && len < PATH_MAX ? rrr_outset_add(ctx, &o, path, &slot[k])
                                       : RRR_FAIL(&ctx->err, RRR_EIO, "--out %s: path too long", dir);
    }
    if (st == RRR_OK) /* same on every rank: the failures above depend on dir, or are agreed */
        st = rrr_npy_writer_open(ctx, &o, slot[0], n, p, &wx);
    if (st == RRR_OK)
        st = rrr_npy_writer_open(ctx, &o, slot[1], n, q, &wy);
    for (size_t k = 0; k < count && st == RRR_OK; k++) { /* every rank, every panel */
        size_t i0 = k * rows < nloc ? k * rows : nloc;
        size_t m = nloc - i0 < rows ? nloc - i0 : rows;
        double t0 = rrr_phase_begin();
        gen_rows(r0 + i0, m, p, q, d, noise, seed, Ut, Vt, X, Y, t);
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
        st = rrr_agree(ctx, stopped(ctx, check_finite(&ctx->err, Y, m * q, noise)));
        if (st == RRR_OK)
            st = rrr_npy_writer_rows(ctx, wx, r0 + i0, m, X);
        if (st == RRR_OK)
            st = rrr_npy_writer_rows(ctx, wy, r0 + i0, m, Y);
    }
    if (wx != NULL)
        st = rrr_npy_writer_close(ctx, &wx, st);
    if (wy != NULL)
        st = rrr_npy_writer_close(ctx, &wy, st);
    if (st == RRR_OK)
        st = rrr_npy_write_small(ctx, &o, slot[2], p, (size_t)d, Ut, NULL);
    if (st == RRR_OK)
        st = rrr_npy_write_small(ctx, &o, slot[3], q, (size_t)d, Vt, NULL);
    free(X);
    free(Y);
    free(t);
    return rrr_outset_finish(ctx, &o, stopped(ctx, st)); /* after the last panel: agreed there */
}

rrr_status rrr_gen(rrr_ctx *ctx, size_t n, size_t p, size_t q, int d, double noise,
                   uint64_t seed, const char *dir)
{
    rrr_status st = check_gen(&ctx->err, n, p, q, d, noise, dir);
    if (st == RRR_OK)
        st = check_sizes(&ctx->err, n, p, q, d, ctx->size);
    if (st != RRR_OK)
        return rrr_agree(ctx, st);
    /* every product below was checked by check_sizes */
    double *Ut = rrr_malloc(p * (size_t)d, sizeof(double)); /* row-major p x D */
    double *Vt = rrr_malloc(q * (size_t)d, sizeof(double)); /* row-major q x D */
    if (!Ut || !Vt)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "gen: out of memory for the factors");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        double sp = 1.0 / sqrt((double)p);
        for (size_t j = 0; j < p; j++)
            for (int k = 0; k < d; k++)
                Ut[j * (size_t)d + (size_t)k] = sp * rrr_rng_normal(seed, RRR_STREAM_U, j, (uint64_t)k);
        for (size_t j = 0; j < q; j++)
            for (int k = 0; k < d; k++)
                Vt[j * (size_t)d + (size_t)k] = rrr_rng_normal(seed, RRR_STREAM_V, j, (uint64_t)k);
        st = write_files(ctx, dir, n, p, q, d, noise, seed, Ut, Vt);
    }
    free(Ut);
    free(Vt);
    return st;
}
