/* src/cv_stats.c: the statistics of every fold from one streamed pass over my rows
 * (stream.c). In each panel the rows of fold k are gathered into blocks of up to RB rows,
 * which go through dsyrk and dgemm: n (p^2 + 2pq) / K_ranks flops in all, as one statistics
 * pass of `rrr fit`, and nothing n-sized in memory but the fold of each row.
 *
 * Centring (--intercept). The regions hold sums of X and Y centred at the global means, so
 * that shifting to a training set's own means later is a small rank-one correction with no
 * cancellation (cv_solve.c). The means are known only after the pass: the rows are shifted
 * by the first panels' means s on their way in (as stats.c does), and every region is moved
 * from s to the means m afterwards, with d = m - s and S = sum of (x - s) over its n_k rows:
 *   G_k <- G_k - S d^T - d S^T + n_k d d^T,   S <- S - n_k d   (and C_k, ||y||^2 alike),
 * which cancels only what s missed; when that is more than a digit of the totals' sums of
 * squares (rows ordered by a column), the pass is made again centred at m. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cv.h"
#include "gram.h"
#include "linalg.h"

size_t rrr_cv_flen(size_t p, size_t q) { return p * p + p * q + p + q + 2; }

rrr_cv_fold rrr_cv_fold_at(double *r, size_t p, size_t q)
{
    rrr_cv_fold f = { r, r + p * p, r + p * p + p * q, r + p * p + p * q + p,
                      r + p * p + p * q + p + q, r + p * p + p * q + p + q + 1 };
    return f;
}

/* Local. Add a block of nr gathered rows (xb: p x nr, yb: q x nr, shifted) to fold f. */
static void add_block(size_t p, size_t q, rrr_cv_fold *f, const double *xb, const double *yb,
                      int nr)
{
    const int pi = (int)p, qi = (int)q;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, pi, nr, 1.0, xb, pi, 1.0, f->G, pi);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pi, qi, nr, 1.0, xb, pi, yb, qi, 1.0,
                f->C, pi);
    for (int r = 0; r < nr; r++) {
        const double *x = xb + (size_t)r * p, *y = yb + (size_t)r * q;
        double t = 0.0;
        for (size_t j = 0; j < p; j++)
            f->sx[j] += x[j];
        for (size_t j = 0; j < q; j++) {
            f->sy[j] += y[j];
            t += y[j] * y[j];
        }
        *f->yy += t;
    }
    *f->n += nr;
}

/* Local. The rows of panel pn in fold k (k < 0: all of them), shifted by s (or not),
 * through blocks xb, yb of rb rows. */
static void add_fold(const rrr_cv_run *cv, const rrr_panel *pn, int k, const double *s,
                     rrr_cv_fold *f, double *xb, double *yb, size_t rb)
{
    const size_t p = cv->pb->p, q = cv->pb->q;
    size_t nr = 0;
    for (size_t r = 0; r < pn->m; r++) {
        if (k >= 0 && cv->fold[pn->i0 + r] != k)
            continue;
        const double *x = pn->X + r * p, *y = pn->Y + r * q;
        double *xd = xb + nr * p, *yd = yb + nr * q;
        for (size_t j = 0; j < p; j++)
            xd[j] = x[j] - (s ? s[j] : 0.0);
        for (size_t j = 0; j < q; j++)
            yd[j] = y[j] - (s ? s[p + j] : 0.0);
        if (++nr == rb) {
            add_block(p, q, f, xb, yb, (int)nr);
            nr = 0;
        }
    }
    if (nr > 0)
        add_block(p, q, f, xb, yb, (int)nr);
}

/* Local. Move a region's sums from about s to about s + d (d: p + q). */
static void recentre(size_t p, size_t q, rrr_cv_fold *f, const double *d)
{
    const int pi = (int)p, qi = (int)q;
    const double nk = *f->n;
    double dy2 = 0, sdy = 0;
    for (size_t j = 0; j < q; j++) {
        dy2 += d[p + j] * d[p + j];
        sdy += f->sy[j] * d[p + j];
    }
    cblas_dsyr2(CblasColMajor, CblasUpper, pi, -1.0, f->sx, 1, d, 1, f->G, pi);
    cblas_dsyr(CblasColMajor, CblasUpper, pi, nk, d, 1, f->G, pi);
    cblas_dger(CblasColMajor, pi, qi, -1.0, f->sx, 1, d + p, 1, f->C, pi);
    cblas_dger(CblasColMajor, pi, qi, -1.0, d, 1, f->sy, 1, f->C, pi);
    cblas_dger(CblasColMajor, pi, qi, nk, d, 1, d + p, 1, f->C, pi);
    *f->yy += -2.0 * sdy + nk * dy2;
    for (size_t j = 0; j < p; j++)
        f->sx[j] -= nk * d[j];
    for (size_t j = 0; j < q; j++)
        f->sy[j] -= nk * d[p + j];
}

/* Local. Would moving the totals t (about s) to their means cancel more than a digit of a
 * column's sum of squares (or of ||y||^2) that matters? */
static int shift_cancelled(size_t p, size_t q, const rrr_cv_fold *t)
{
    const double n = *t->n;
    double gmax = 0, ss = 0;
    for (size_t j = 0; j < p; j++)
        gmax = fmax(gmax, t->G[j * p + j]);
    for (size_t j = 0; j < p; j++) {
        double gs = t->G[j * p + j], gc = gs - t->sx[j] * t->sx[j] / n;
        if (gs > 16.0 * gc && gs > 64.0 * DBL_EPSILON * gmax)
            return 1;
    }
    for (size_t j = 0; j < q; j++)
        ss += t->sy[j] * t->sy[j];
    return *t->yy > 16.0 * (*t->yy - ss / n) && *t->yy > 0;
}

/* Collective. One pass: the sums of folds [k0, k1) (k0 == k1: of all rows, the totals) into
 * their regions, shifted by the means (known), or by the first rows' means (find_shift:
 * into cv->shift), or not at all (no intercept). */
static rrr_status pass(rrr_cv_run *cv, int k0, int k1, int find_shift)
{
    double *s = cv->shift;
    rrr_ctx *ctx = cv->ctx;
    const size_t p = cv->pb->p, q = cv->pb->q, flen = rrr_cv_flen(p, q);
    /* blocks of at most 16 MB (2^21 doubles), at least 16 rows: rank-16+ updates run near
     * the BLAS-3 rate */
    size_t rb = ((size_t)1 << 21) / (p + q);
    rb = rb < 16 ? 16 : rb > 512 ? 512 : rb;
    double *xb = rrr_malloc(rb * p, sizeof(double)), *yb = rrr_malloc(rb * q, sizeof(double));
    double *tot = cv->stats + (size_t)cv->group * flen;
    rrr_stream *sm = NULL;
    rrr_panel pn;
    rrr_status st = xb && yb ? RRR_OK
                             : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: out of memory for panels");
    st = rrr_agree(ctx, st);
    const int ka = k0, kb = k0 == k1 ? k0 + 1 : k1;
    for (int k = ka; k < kb; k++)
        memset(k0 == k1 ? tot : cv->stats + (size_t)(k - k0) * flen, 0, flen * sizeof(double));
    /* no intercept: the first pass also finds the columns far from zero (a warning) */
    const int moments = !cv->intercept && !cv->warned;
    double *mom = moments ? rrr_calloc(2 * (p + q), sizeof *mom) : NULL;
    rrr_stream_facts facts = { 0, 0, 0, mom };
    if (st == RRR_OK && moments && mom == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: out of memory");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_stream_open(ctx, cv->X, cv->Y, moments ? RRR_STREAM_MOMENTS : 0, &sm);
    for (size_t i = 0; st == RRR_OK && i < rrr_stream_count(sm); i++) {
        st = rrr_stream_next(sm, RRR_OK, &pn);
        if (st != RRR_OK)
            break;
        if (i == 0 && find_shift) { /* the first rows' means (collective) */
            size_t want = (4 * (p + 1) + (size_t)ctx->size - 1) / (size_t)ctx->size;
            size_t mp = pn.m < want ? pn.m : want;
            memset(s, 0, (p + q + 1) * sizeof *s);
            for (size_t r = 0; r < mp; r++) {
                for (size_t j = 0; j < p; j++)
                    s[j] += pn.X[r * p + j];
                for (size_t j = 0; j < q; j++)
                    s[p + j] += pn.Y[r * q + j];
            }
            s[p + q] = (double)mp;
            rrr_allreduce_sum(ctx, s, p + q + 1);
            for (size_t j = 0; j < p + q && s[p + q] > 0; j++)
                s[j] /= s[p + q];
        }
        double t0 = rrr_phase_begin();
        for (int k = ka; k < kb; k++) {
            rrr_cv_fold f = rrr_cv_fold_at(k0 == k1 ? tot : cv->stats + (size_t)(k - k0) * flen,
                                           p, q);
            add_fold(cv, &pn, k0 == k1 ? -1 : k, find_shift ? s : cv->pb->xm ? cv->mean : NULL,
                     &f, xb, yb, rb);
            rrr_stream_poll(sm);
        }
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    }
    st = rrr_stream_close(&sm, st, &facts);
    if (st == RRR_OK && moments) {
        rrr_warn_uncentred(ctx, cv->pb->n, p, q, cv->D, mom);
        cv->warned = 1;
    }
    free(mom);
    for (int k = ka; k < kb && st == RRR_OK; k++)
        rrr_allreduce_upper(ctx, k0 == k1 ? tot : cv->stats + (size_t)(k - k0) * flen, p, flen);
    free(xb);
    free(yb);
    return st;
}

rrr_status rrr_cv_stats(rrr_cv_run *cv, int k0, int k1)
{
    rrr_ctx *ctx = cv->ctx;
    const size_t p = cv->pb->p, q = cv->pb->q, flen = rrr_cv_flen(p, q);
    double *tot = cv->stats + (size_t)cv->group * flen;
    const int nreg = k0 == k1 ? 1 : k1 - k0;
    rrr_status st = RRR_OK;
    for (int attempt = 0; st == RRR_OK; attempt++) {
        /* with an intercept and no means yet: shift by the first rows' means into cv->shift,
         * then move every region to the means; once the means are known, shift by them */
        int find = cv->intercept && cv->pb->xm == NULL;
        st = pass(cv, k0, k1, find);
        if (st == RRR_OK && k1 - k0 == cv->K) { /* totals = the sum of the folds */
            memset(tot, 0, flen * sizeof(double));
            for (int k = 0; k < cv->K; k++)
                cblas_daxpy((int)flen, 1.0, cv->stats + (size_t)k * flen, 1, tot, 1);
        }
        if (st != RRR_OK || !find)
            break;
        rrr_cv_fold t = rrr_cv_fold_at(tot, p, q);
        double *d = cv->shift + p + q + 1; /* m - s, p + q */
        for (size_t j = 0; j < p; j++)
            d[j] = t.sx[j] / *t.n;
        for (size_t j = 0; j < q; j++)
            d[p + j] = t.sy[j] / *t.n;
        for (size_t j = 0; j < p + q; j++) /* the means: the shift of later passes */
            cv->mean[j] = cv->shift[j] + d[j];
        cv->pb->xm = cv->mean;
        cv->pb->ym = cv->mean + p;
        if (shift_cancelled(p, q, &t) && attempt == 0) {
            rrr_info(ctx, "cv: the shift by the first rows' means cancelled more than a digit: "
                     "a second pass, centred at the means");
            continue; /* pass() now shifts by the means */
        }
        for (int k = 0; k < nreg; k++) {
            rrr_cv_fold f = rrr_cv_fold_at(k0 == k1 ? tot : cv->stats + (size_t)k * flen, p, q);
            recentre(p, q, &f, d);
        }
        if (k1 - k0 == cv->K) {
            rrr_cv_fold f = rrr_cv_fold_at(tot, p, q);
            recentre(p, q, &f, d);
        }
        break;
    }
    return st;
}
