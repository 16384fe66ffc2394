/* src/stats.c: one streamed pass over the rows gives X^T X, X^T Y, ||Y||^2 (replicated, or
 * on a 2-D BLACS grid); G + lambda I is factored once; products with C, R and
 * (G + lambda I)^{-1}.
 *
 * The pass reads each rank's rows panel by panel (stream.c): nothing n-sized is held, the
 * next panel is read while this one goes through dsyrk / dgemm, and the readers' checks
 * (non-finite values, the largest magnitudes for rrr_check_scale, the checkpoints'
 * checksum) ride along.
 *
 * Centring (--intercept) in one pass. The statistics are of Xc = X - 1 xm^T, Yc = Y - 1 ym^T,
 * but the means are known only at the end. The rows are shifted by s, the means of the
 * first rows of every rank's first panel (one allreduce after the first panel), on their
 * way into dsyrk / dgemm (a copy of RB rows at a time), and the shift is removed afterwards:
 * with S = sum of (x - s) over all rows, Xc^T Xc = sum (x - s)(x - s)^T - S S^T / n. That
 * subtraction cancels only what the shift missed, n (xm - s)(xm - s)^T: the first rows'
 * mean is within about a standard deviation of the mean unless the rows are sorted, so
 * nothing is lost, where X^T X - n xm xm^T loses 8 digits of G for a column with mean 1e4
 * and unit variance. When the correction exceeds 15/16 of a column's sum of squares (more
 * than ~1.2 digits lost: rows ordered by that column), the pass is made a second time,
 * centred at the exact means it found.
 *
 * The pilot (replicated regime, exact and als). The reported objective and gradient at
 * the returned U, V must come from the residuals, not from f = yy - 2 <C, B> + <B, G B>,
 * which cancels down to an absolute error of eps yy. A second pass would read the data
 * again (twice the I/O when they are bigger than memory). Instead, after the first panel,
 * the rank-d closed form of the first PILOT_ROWS(p) rows gives B0 = U0 V0^T (replicated;
 * O(p^3) once), and the pass accumulates X^T R0 and ||R0||^2 of the residual R0 = Yc - Xc B0
 * (2(p + q)d more flops per row) in place of X^T Y and ||Y||^2. Then
 *   f(B) = f(B0) - 2 <C2, B - B0> + ||R (B - B0)||^2,  C2 = Xc^T R0 - lambda B0,
 * exactly (R^T R = G + lambda I), with no cancellation beyond f(B0) against f(B): B0 is fitted
 * on several times p rows, so f(B0) is within a small factor of f at the optimum, and of
 * f itself near it. C = Xc^T R0 + G B0 and yy = ||R0||^2 + 2 <Xc^T R0, B0> + <B0, G B0>
 * follow for the solvers. Where the first panels hold fewer than 2(p + 1) rows (wide X)
 * there is no pilot (make_pilot says why) and the final evaluation is a second pass. */
#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "comm.h"
#include "fortran.h"
#include "gram.h"
#include "linalg.h"
#include "plan.h"

/* Rows of the pilot over all ranks: its closed form is then within p / (rows - p) of the
 * optimum's residual (a quarter more at 4(p + 1)), and it costs 4(p + 1)(p^2 + 2pq) flops,
 * ~1 % of the pass on the tall bench problem. */
#define PILOT_ROWS(p) (4 * ((p) + 1))

/* Local. Rows per centring or residual block: at most 2^21 doubles (16 MB) of X and Y, at
 * least 16 rows (rank-16+ updates run near the BLAS-3 rate), at most 512. */
static size_t block_rows(size_t p, size_t q)
{
    size_t rb = ((size_t)1 << 21) / (p + q);
    return rb < 16 ? 16 : rb > 512 ? 512 : rb;
}

/* ---- the replicated pass ----------------------------------------------------------- */

/* One rank's sums, laid out for one allreduce: G (p x p, upper) | C (p x q) | yy | Sx (p)
 * | Sr (q) | Sy (q), with the rows shifted by s (or not) and, with a pilot, R0 in place of
 * Y; Sy sums the shifted y themselves (the mean of Y without the pilot's cancellation). */
typedef struct {
    size_t p, q, rb;
    int d;
    double *buf, *G, *C, *yy, *Sx, *Sr, *Sy;
    const double *s;           /* shift of x (p) and y (q), or NULL                     */
    const double *U0, *V0;     /* the pilot, or NULL                                    */
    double *xb, *yb, *ab;      /* one block of shifted rows, and U0^T x for it          */
    double *Ct;                /* q > p: C^T (q x p) accumulates here (see add_cross)   */
} sums_t;

static size_t sums_len(size_t p, size_t q) { return p * p + p * q + 1 + p + 2 * q; }

static void sums_free(sums_t *a)
{
    free(a->buf);
    free(a->xb);
    free(a->yb);
    free(a->ab);
    free(a->Ct);
    memset(a, 0, sizeof *a);
}

/* Local. Zeroed sums for an n x p, n x q pass. */
static rrr_status sums_new(rrr_ctx *ctx, size_t p, size_t q, int d, const double *s,
                           const double *U0, const double *V0, sums_t *a)
{
    memset(a, 0, sizeof *a);
    a->p = p;
    a->q = q;
    a->d = d;
    a->rb = block_rows(p, q);
    a->s = s;
    a->U0 = U0;
    a->V0 = V0;
    a->buf = rrr_calloc(sums_len(p, q), sizeof(double));
    a->xb = rrr_malloc(a->rb * p, sizeof(double));
    a->yb = rrr_malloc(a->rb * q, sizeof(double));
    a->ab = rrr_malloc(a->rb * (size_t)(d > 0 ? d : 1), sizeof(double));
    a->Ct = q > p ? rrr_calloc(p * q, sizeof(double)) : NULL;
    if (!a->buf || !a->xb || !a->yb || !a->ab || (q > p && !a->Ct)) {
        sums_free(a);
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory for X^T X and X^T Y "
                        "(%zu x %zu, %zu x %zu)", p, p, p, q);
    }
    a->G = a->buf;
    a->C = a->G + p * p;
    a->yy = a->C + p * q;
    a->Sx = a->yy + 1;
    a->Sr = a->Sx + p;
    a->Sy = a->Sr + q;
    return RRR_OK;
}

/* Local. s += y (n entries); restrict lets the compiler vectorise it. */
static void col_add(size_t n, const double *restrict y, double *restrict s)
{
    for (size_t j = 0; j < n; j++)
        s[j] += y[j];
}

/* Local. C += X^T Y for m rows (X: p x m, Y: q x m, column-major). The GEMM runs with the
 * longer of p and q as its M dimension: OpenBLAS packs the short side once and streams the
 * long one, where C = X^T Y with q >> p repacks all of Y for every panel (q = 20000,
 * p = 200, 99-row panels: 40 against 27 GFLOP/s per core, two ranks running; p > q is the
 * other way round: 54 against 49). */
static void add_cross(sums_t *a, const double *X, const double *Y, int m)
{
    const int pi = (int)a->p, qi = (int)a->q;
    if (a->Ct != NULL)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, qi, pi, m, 1.0, Y, qi, X, pi, 1.0,
                    a->Ct, qi);
    else
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pi, qi, m, 1.0, X, pi, Y, qi, 1.0,
                    a->C, pi);
}

/* Local. The pass is over: C^T, if that is where C accumulated, into C. */
static void sums_local_done(sums_t *a)
{
    if (a->Ct == NULL)
        return;
    rrr_transpose(a->q, a->p, a->Ct, a->C);
    free(a->Ct);
    a->Ct = NULL;
}

/* Local. Add m rows (X: p x m, Y: q x m, column-major) to the sums. Without a shift or a
 * pilot the rows go to dsyrk / dgemm as they are (no copy); otherwise RB rows at a time
 * are shifted into a buffer (and Y replaced by R0 = (y - s_y) - V0 U0^T (x - s_x)), or,
 * when Yw (= Y) may be overwritten and there is no shift, R0 takes Y's place there. */
static void add_rows(sums_t *a, const double *X, const double *Y, double *Yw, size_t m,
                     rrr_stream *s)
{
    const size_t p = a->p, q = a->q;
    const int pi = (int)p, qi = (int)q, d = a->d;
    if (m == 0)
        return;
    if (a->s == NULL) /* X as it is, all m rows at once */
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, pi, (int)m, 1.0, X, pi, 1.0, a->G,
                    pi);
    if (a->s == NULL && a->U0 == NULL) {
        add_cross(a, X, Y, (int)m);
        *a->yy += rrr_dot(m * q, Y, Y);
        return;
    }
    for (size_t i0 = 0; i0 < m; i0 += a->rb) {
        const size_t mb = m - i0 < a->rb ? m - i0 : a->rb;
        const int mi = (int)mb;
        const double *xb = X + i0 * p, *y0 = Y + i0 * q;
        if (a->s != NULL) {
            for (size_t r = 0; r < mb; r++) {
                const double *x = xb + r * p;
                double *xd = a->xb + r * p;
                for (size_t j = 0; j < p; j++) {
                    xd[j] = x[j] - a->s[j];
                    a->Sx[j] += xd[j];
                }
            }
            xb = a->xb;
        }
        double *yb = a->s == NULL && Yw != NULL ? Yw + i0 * q : a->yb;
        for (size_t r = 0; r < mb && yb == a->yb; r++) {
            const double *y = y0 + r * q;
            double *yd = a->yb + r * q;
            if (a->s != NULL)
                for (size_t j = 0; j < q; j++) {
                    yd[j] = y[j] - a->s[p + j];
                    a->Sy[j] += yd[j];
                }
            else
                memcpy(yd, y, q * sizeof *yd);
        }
        if (a->U0 != NULL) { /* R0^T = Y^T - V0 (U0^T X^T) */
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, mi, pi, 1.0, a->U0, pi, xb,
                        pi, 0.0, a->ab, d);
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, qi, mi, d, -1.0, a->V0, qi,
                        a->ab, d, 1.0, yb, qi);
        }
        *a->yy += rrr_dot(mb * q, yb, yb);
        if (a->s != NULL)
            for (size_t r = 0; r < mb; r++)
                col_add(q, yb + r * q, a->Sr);
        if (a->s != NULL)
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, pi, mi, 1.0, xb, pi, 1.0, a->G,
                        pi);
        add_cross(a, xb, yb, mi);
        if (s != NULL)
            rrr_stream_poll(s);
    }
}

/* Collective. The shift: the means of the first min(m, PILOT_ROWS(p) / K) rows of every
 * rank's first panel pn (p + q values into s). *rows: how many rows that was, in all. */
static void first_means(rrr_ctx *ctx, const rrr_panel *pn, size_t p, size_t q, size_t mp,
                        double *s, double *rows)
{
    memset(s, 0, (p + q + 1) * sizeof *s);
    for (size_t r = 0; r < mp; r++) {
        for (size_t j = 0; j < p; j++)
            s[j] += pn->X[r * p + j];
        for (size_t j = 0; j < q; j++)
            s[p + j] += pn->Y[r * q + j];
    }
    s[p + q] = (double)mp;
    rrr_allreduce_sum(ctx, s, p + q + 1);
    *rows = s[p + q];
    for (size_t j = 0; j < p + q && *rows > 0; j++)
        s[j] /= *rows;
}

/* Local. Rows of my first panel that the pilot and the shift take. */
static size_t pilot_rows(const rrr_ctx *ctx, size_t p, size_t m)
{
    size_t want = (PILOT_ROWS(p) + (size_t)ctx->size - 1) / (size_t)ctx->size;
    return m < want ? m : want;
}

static rrr_status factor(rrr_ctx *ctx, rrr_gram *gr);

/* Local (identical on every rank). The pilot's rank-d closed form by the p x p route
 * without T = R^{-T} C: N = R^{-T} (C C^T) R^{-1} (one dsyrk over q, two p x p solves),
 * U0 = R^{-1} u, V0 = C^T U0 for the top eigenvectors u of N. Forming C C^T costs up to a
 * factor cond(R) of N's accuracy against T T^T, which a pilot can spare (it only needs to
 * be near the optimum: f(B0) within a small factor of f*), and it saves the p x q
 * triangular solve, which OpenBLAS runs at ~9 GFLOP/s at p = 200 (a tenth of exact's time
 * on q = 20000 outputs). The fit itself keeps the solve. */
static rrr_status pilot_topd(size_t p, size_t q, int d, const double *R, const double *C,
                             double *U0, double *V0, double *w, rrr_err *e)
{
    const int pi = (int)p, qi = (int)q;
    double *S = rrr_malloc(p * p, sizeof *S);
    rrr_status st = S ? RRR_OK : RRR_FAIL(e, RRR_EINTERNAL, "stats: out of memory");
    if (st == RRR_OK) {
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, pi, qi, 1.0, C, pi, 0.0, S, pi);
        for (size_t j = 0; j < p; j++)
            for (size_t i = j + 1; i < p; i++)
                S[i + j * p] = S[j + i * p];
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, pi, pi, 1.0,
                    R, pi, S, pi);
        cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, pi, pi,
                    1.0, R, pi, S, pi);
        st = rrr_top_eig(pi, d, S, U0, w, e);
    }
    if (st == RRR_OK) {
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, pi, d, 1.0,
                    R, pi, U0, pi);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, qi, d, pi, 1.0, C, pi, U0, pi, 0.0,
                    V0, qi);
    }
    free(S);
    return st;
}

/* Collective. The pilot B0 = U0 V0^T: the rank-d closed form (the fit's lambda) of the
 * first rows of every rank's first panel pn, centred at the shift s. *ok = 0 (and the
 * error cleared, on every rank alike) when those rows give none: G + lambda I singular
 * there (lambda = 0 with fewer or dependent rows), or values that overflow; and, without
 * building it, when the first panels hold fewer than 2(p + 1) rows in all (wide X: p = 4000
 * with 16 MB panels of 419 rows). Such a pilot's residual is not bounded by f*'s (its
 * ridge fit interpolates its own rows and misses the rest: f(B0) ~ ||Y||^2), so its
 * quadratic cancels as much as the plain sums do, while its p x p factor and eigenproblem
 * cost as much as the fit's own solve; the final evaluation is then a streamed residual
 * pass instead. */
static rrr_status make_pilot(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_panel *pn,
                             const double *s, double *U0, double *V0, int *ok)
{
    const size_t p = rq->p, q = rq->q, mp = pilot_rows(ctx, p, pn->m);
    unsigned long rows = (unsigned long)mp;
    MPI_Allreduce(MPI_IN_PLACE, &rows, 1, MPI_UNSIGNED_LONG, MPI_SUM, ctx->comm);
    *ok = 0;
    if (rows < 2 * ((unsigned long)p + 1))
        return RRR_OK;
    sums_t a;
    double *w = rrr_malloc((size_t)rq->d, sizeof *w);
    rrr_status st = sums_new(ctx, p, q, rq->d, s, NULL, NULL, &a);
    if (st == RRR_OK && w == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        double t0 = rrr_phase_begin();
        add_rows(&a, pn->X, pn->Y, NULL, mp, NULL);
        sums_local_done(&a);
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
        rrr_allreduce_upper(ctx, a.buf, p, p * p + p * q + 1);
        rrr_gram pg = { .p = p, .q = q, .lambda = rq->lambda, .yy = *a.yy, .route = rq->route,
                        .R = a.G, .C = a.C };
        rrr_status fst = factor(ctx, &pg); /* agreed */
        if (fst == RRR_OK)
            fst = rrr_agree(ctx, rq->route == RRR_ROUTE_P
                                     ? pilot_topd(p, q, rq->d, pg.R, pg.C, U0, V0, w, &ctx->err)
                                     : rrr_gram_topd(ctx, &pg, rq->d, 0, U0, V0, w));
        *ok = fst == RRR_OK;
        for (size_t k = 0; *ok && k < (p + q) * (size_t)rq->d; k++) /* overflow: no pilot */
            if (!isfinite(k < p * (size_t)rq->d ? U0[k] : V0[k - p * (size_t)rq->d]))
                *ok = 0;
        if (fst != RRR_OK) { /* agreed, so every rank clears the same recorded failure */
            ctx->err.st = RRR_OK;
            ctx->err.msg[0] = '\0';
        }
    }
    sums_free(&a);
    free(w);
    return st;
}

/* Local. Digits lost to the shift's correction: a column whose shifted sum of squares gs
 * exceeds 16 times the centred gc (and matters: gs above 64 eps of the largest). */
static int shift_cancelled(double gs, double gc, double scale)
{
    return gs > 16.0 * gc && gs > 64.0 * DBL_EPSILON * scale;
}

/* Local (replicated). The pilot's sums into the solvers' and the evaluation's: from G, C'
 * (in C) and yy' = ||R0||^2 of the residual R0 = Yc - Xc B0,
 *   C2 = C' - lambda B0,  f0 = yy' + lambda ||B0||^2,
 *   C = C' + G B0,  yy = yy' + 2 <C', B0> + <B0, G B0>   (B0 = U0 V0^T, d columns). */
static rrr_status pilot_sums(rrr_ctx *ctx, const rrr_stats_req *rq, const double *U0,
                             const double *V0, const double *G, double *C, double *yy,
                             double *C2, double *f0)
{
    const size_t p = rq->p, q = rq->q, pd = p * (size_t)rq->d;
    const int pi = (int)p, qi = (int)q, d = rq->d;
    double *W = rrr_malloc(pd, sizeof *W), *CV = rrr_malloc(pd, sizeof *CV);
    double *dd = rrr_malloc(3 * (size_t)d * (size_t)d, sizeof *dd);
    if (W == NULL || CV == NULL || dd == NULL) {
        free(W);
        free(CV);
        free(dd);
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
    }
    double *UtU = dd, *VtV = UtU + d * d, *UtW = VtV + d * d;
    cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, pi, d, 1.0, G, pi, U0, pi, 0.0, W, pi);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, pi, d, qi, 1.0, C, pi, V0, qi, 0.0,
                CV, pi);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, pi, 1.0, U0, pi, U0, pi, 0.0,
                UtU, d);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, qi, 1.0, V0, qi, V0, qi, 0.0,
                VtV, d);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, pi, 1.0, U0, pi, W, pi, 0.0,
                UtW, d);
    memcpy(C2, C, p * q * sizeof *C2);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pi, qi, d, -rq->lambda, U0, pi, V0, qi,
                1.0, C2, pi);
    *f0 = *yy + rq->lambda * rrr_dot((size_t)d * d, UtU, VtV);
    *yy += 2.0 * rrr_dot(pd, U0, CV) + rrr_dot((size_t)d * d, UtW, VtV);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pi, qi, d, 1.0, W, pi, V0, qi, 1.0, C,
                pi);
    free(W);
    free(CV);
    free(dd);
    return RRR_OK;
}

/* Local (replicated sums). Remove the shift from the summed G, C and *yy: the sums about the
 * means (README "exact"), and the means into gr->xm, gr->ym (left NULL when out of memory:
 * the caller checks). Returns whether the correction cancelled in some column of X. */
static int remove_shift(const rrr_stats_req *rq, rrr_gram *gr, sums_t *a, const double *shift,
                        double *yy)
{
    const size_t p = rq->p, q = rq->q;
    const int pi = (int)p, qi = (int)q;
    const double nn = (double)rq->n;
    double *G = a->buf, gmax = 0, rr = 0;
    int lost = 0;
    for (size_t j = 0; j < p; j++)
        gmax = fmax(gmax, G[j * p + j]);
    for (size_t j = 0; j < p; j++) {
        double gs = G[j * p + j], gc = gs - a->Sx[j] * a->Sx[j] / nn;
        lost |= shift_cancelled(gs, gc, gmax);
    }
    for (size_t j = 0; j < q; j++)
        rr += a->Sr[j] * a->Sr[j];
    cblas_dsyr(CblasColMajor, CblasUpper, pi, -1.0 / nn, a->Sx, 1, G, pi);
    cblas_dger(CblasColMajor, pi, qi, -1.0 / nn, a->Sx, 1, a->Sr, 1, a->C, pi);
    *yy -= rr / nn;
    gr->xm = rrr_malloc(p, sizeof(double));
    gr->ym = rrr_malloc(q, sizeof(double));
    if (gr->xm == NULL || gr->ym == NULL)
        return lost;
    /* xm = s_x + Sx/n, ym = s_y + Sy/n: from the shifted rows themselves (ym from the
     * pilot's residuals, s_y + (Sr + B0^T Sx)/n, cancels when B0 is large) */
    for (size_t j = 0; j < p; j++)
        gr->xm[j] = shift[j] + a->Sx[j] / nn;
    for (size_t j = 0; j < q; j++)
        gr->ym[j] = shift[p + j] + a->Sy[j] / nn;
    return lost;
}

/* Collective. The replicated regime's pass: the sums of all rows into gr (G in gr->R, C,
 * yy, the means, the pilot, the checksum). known: exact means (p + q) to centre at, or
 * NULL: the first panels' means (then *redo = 1 if their correction cancelled). */
static rrr_status pass_replicated(rrr_ctx *ctx, const rrr_stats_req *rq, const double *known,
                                  rrr_gram *gr, int *redo)
{
    const size_t p = rq->p, q = rq->q, n = rq->n, pq = p * q;
    const int d = rq->d;
    rrr_stream *s = NULL;
    rrr_stream_facts facts = { 0, 0, 0, NULL };
    rrr_panel pn;
    sums_t a = { 0 };
    double *shift = rrr_calloc(p + q + 1, sizeof *shift);
    double *mom = rq->warn ? rrr_calloc(2 * (p + q), sizeof *mom) : NULL;
    rrr_status st = shift && (mom || !rq->warn)
                        ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
    facts.moments = mom;
    if (st == RRR_OK && rq->pilot && gr->U0 == NULL) {
        gr->U0 = rrr_malloc(p * (size_t)d, sizeof(double));
        gr->V0 = rrr_malloc(q * (size_t)d, sizeof(double));
        if (gr->U0 == NULL || gr->V0 == NULL)
            st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
    }
    *redo = 0;
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_stream_open(ctx, rq->X, rq->Y, (rq->hash ? RRR_STREAM_HASH : 0) |
                                                    (rq->warn ? RRR_STREAM_MOMENTS : 0), &s);
    rrr_status lst = RRR_OK;
    for (size_t k = 0; st == RRR_OK && k < rrr_stream_count(s); k++) {
        st = rrr_stream_next(s, lst, &pn);
        if (st != RRR_OK)
            break;
        if (k == 0) { /* collective: the shift, the pilot, then the sums */
            double rows = 0;
            if (known != NULL)
                memcpy(shift, known, (p + q) * sizeof *shift);
            else if (rq->intercept)
                first_means(ctx, &pn, p, q, pilot_rows(ctx, p, pn.m), shift, &rows);
            if (rq->pilot && !gr->have_pilot)
                st = make_pilot(ctx, rq, &pn, rq->intercept ? shift : NULL, gr->U0, gr->V0,
                                &gr->have_pilot);
            if (st == RRR_OK)
                st = rrr_agree(ctx, sums_new(ctx, p, q, d, rq->intercept ? shift : NULL,
                                             gr->have_pilot ? gr->U0 : NULL, gr->V0, &a));
            if (st != RRR_OK)
                break;
        }
        double t0 = rrr_phase_begin();
        add_rows(&a, pn.X, pn.Y, pn.Yw, pn.m, s);
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    }
    st = rrr_stream_close(&s, st, &facts);
    if (st == RRR_OK) /* replicated maxima: the same verdict on every rank */
        st = rrr_check_scale(&ctx->err, n, facts.xmax, facts.ymax);
    if (st == RRR_OK && mom != NULL)
        rrr_warn_uncentred(ctx, n, p, q, d, mom);
    free(mom);
    if (st != RRR_OK) {
        sums_free(&a);
        free(shift);
        return st;
    }
    gr->have_hash = rq->hash;
    gr->data_hash = facts.hash;
    sums_local_done(&a);
    rrr_allreduce_upper(ctx, a.buf, p, sums_len(p, q));
    /* G, C, yy and, with a pilot, C2 and f0: into one allocation R | C, and C2 */
    double *G = a.buf, *C = a.C, yy = *a.yy, yys = 0, yyc = 0;
    if (rq->intercept) {
        yys = yy;
        int lost = remove_shift(rq, gr, &a, shift, &yy);
        yyc = yy;
        *redo = known == NULL && lost;
    }
    if (gr->have_pilot)
        gr->C2 = rrr_malloc(pq, sizeof(double));
    st = (!gr->have_pilot || gr->C2) && (!rq->intercept || (gr->xm && gr->ym))
             ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
    if (st == RRR_OK && gr->have_pilot)
        st = pilot_sums(ctx, rq, gr->U0, gr->V0, G, C, &yy, gr->C2, &gr->f0);
    st = rrr_agree(ctx, st);
    /* Y's columns (or R0's): the shift's correction of ||.||^2 against ||Yc||^2 */
    if (rq->intercept && known == NULL && shift_cancelled(yys, yyc, yy))
        *redo = 1;
    /* the sums' buffer starts with G | C: it becomes R | C, the gram's one allocation */
    gr->R = a.buf;
    gr->C = C;
    gr->yy = yy;
    a.buf = NULL;
    sums_free(&a);
    free(shift);
    return st;
}

/* ---- the 2-D grid regime's pass -------------------------------------------------------- */

/* Collective. The grid regime's pass over a stream of rows: panel k of every rank, shifted
 * by the shift (or not) and padded with zeros to the panel height m, is column block r of a
 * p x (K m) (and q x (K m)) matrix on the 1 x K row grid; pdgemr2d moves it to the 2-D
 * grid, where pdsyrk / pdgemm accumulate G and C (any grouping of the rows sums to the same
 * statistics). S: the sums of the shifted rows (p + q), yy of the shifted Y; both summed
 * over ranks. No rank holds more than two panels of its rows, a copy of one, its share of
 * one 2-D panel, of G and of C. shift: in, the means to centre at (known), or out, the
 * first panels' means (intercept without known means), or unused. */
static rrr_status pass_grid(rrr_ctx *ctx, rrr_input *X, rrr_input *Y, int flags, size_t p,
                            size_t q, int intercept, int known, const rrr_grid *g,
                            rrr_dmat *G, rrr_dmat *C, double *yy, double *shift, double *S,
                            rrr_stream_facts *facts)
{
    const int pi = (int)p, qi = (int)q, K = ctx->size;
    static const int zero = 0, one = 1;
    rrr_stream *s = NULL;
    rrr_panel pn;
    rrr_dmat Xp = { 0 }, Yp = { 0 };
    double *xs = NULL, *ys = NULL, yl = 0.0;
    memset(S, 0, (p + q) * sizeof *S);
    rrr_status st = rrr_stream_open(ctx, X, Y, flags, &s);
    if (st != RRR_OK)
        return st;
    const size_t m = rrr_stream_rows(s);
    int mi = (int)m, kc = 0, ldx = pi > 1 ? pi : 1, ldy = qi > 1 ? qi : 1, info = 0, info2 = 0;
    int descX[9], descY[9];
    if (m > (size_t)INT_MAX / (size_t)K)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "stats: %d ranks x %zu rows per panel exceed the "
                      "BLACS int range", K, m);
    kc = st == RRR_OK ? K * mi : 0;
    if (st == RRR_OK) {
        descinit_(descX, &pi, &kc, &ldx, &mi, &zero, &zero, &g->ctxt_row, &ldx, &info);
        descinit_(descY, &qi, &kc, &ldy, &mi, &zero, &zero, &g->ctxt_row, &ldy, &info2);
        if (info != 0 || info2 != 0)
            st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "descinit for the row layout: info=%d, %d",
                          info, info2);
    }
    if (st == RRR_OK)
        st = rrr_dmat_init(g, pi, kc, &Xp, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, qi, kc, &Yp, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, pi, pi, G, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, pi, qi, C, &ctx->err);
    xs = rrr_calloc(m * p, sizeof *xs);
    ys = rrr_calloc(m * q, sizeof *ys);
    if (st == RRR_OK && (xs == NULL || ys == NULL))
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory for a panel");
    st = rrr_agree(ctx, st);
    rrr_status lst = RRR_OK;
    for (size_t k = 0; st == RRR_OK && k < rrr_stream_count(s); k++) {
        st = rrr_stream_next(s, lst, &pn);
        if (st != RRR_OK)
            break;
        if (k == 0 && intercept && !known) {
            double rows = 0;
            first_means(ctx, &pn, p, q, pilot_rows(ctx, p, pn.m), shift, &rows);
        }
        const double *sh = intercept ? shift : NULL;
        double t0 = rrr_phase_begin();
        for (size_t r = 0; r < pn.m; r++) {
            const double *x = pn.X + r * p, *y = pn.Y + r * q;
            double *xd = xs + r * p, *yd = ys + r * q, u = 0;
            for (size_t j = 0; j < p; j++) {
                xd[j] = x[j] - (sh ? sh[j] : 0.0);
                S[j] += xd[j];
            }
            for (size_t j = 0; j < q; j++) {
                yd[j] = y[j] - (sh ? sh[p + j] : 0.0);
                S[p + j] += yd[j];
                u += yd[j] * yd[j];
            }
            yl += u;
        }
        memset(xs + pn.m * p, 0, (m - pn.m) * p * sizeof *xs); /* zero columns add nothing */
        memset(ys + pn.m * q, 0, (m - pn.m) * q * sizeof *ys);
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
        t0 = rrr_phase_begin();
        pdgemr2d_(&pi, &kc, xs, &one, &one, descX, Xp.a, &one, &one, Xp.desc, &g->ctxt_row);
        pdgemr2d_(&qi, &kc, ys, &one, &one, descY, Yp.a, &one, &one, Yp.desc, &g->ctxt_row);
        rrr_phase_end(ctx, RRR_T_ALLREDUCE, t0); /* the redistribution is communication */
        t0 = rrr_phase_begin();
        const double alpha = 1.0, beta = 1.0;
        pdsyrk_("U", "N", &pi, &kc, &alpha, Xp.a, &one, &one, Xp.desc, &beta, G->a, &one, &one,
                G->desc, 1, 1);
        pdgemm_("N", "T", &pi, &qi, &kc, &alpha, Xp.a, &one, &one, Xp.desc, Yp.a, &one, &one,
                Yp.desc, &beta, C->a, &one, &one, C->desc, 1, 1);
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    }
    st = rrr_stream_close(&s, st, facts);
    if (st == RRR_OK) {
        rrr_allreduce_sum(ctx, S, p + q);
        rrr_allreduce_sum(ctx, &yl, 1);
        *yy = yl;
    }
    rrr_dmat_free(&Xp);
    rrr_dmat_free(&Yp);
    free(xs);
    free(ys);
    return st;
}

/* Collective. The grid regime's statistics into gr (Rd holds G until the factorisation),
 * centred as pass_replicated centres. */
static rrr_status stats_grid(rrr_ctx *ctx, const rrr_stats_req *rq, const double *known,
                             rrr_gram *gr, int *redo)
{
    const size_t p = rq->p, q = rq->q;
    const double nn = (double)rq->n;
    rrr_stream_facts facts = { 0, 0, 0, NULL };
    double *shift = rrr_calloc(p + q + 1, sizeof *shift), *S = rrr_calloc(p + q, sizeof *S);
    double *diag = rrr_calloc(p, sizeof *diag);
    double *mom = rq->warn ? rrr_calloc(2 * (p + q), sizeof *mom) : NULL;
    rrr_status st = shift && S && diag && (mom || !rq->warn)
                        ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
    facts.moments = mom;
    *redo = 0;
    if (st == RRR_OK && gr->g == NULL)
        st = rrr_gram_grid_new(ctx, p, &gr->g); /* agreed */
    st = rrr_agree(ctx, st);
    if (st == RRR_OK && known != NULL)
        memcpy(shift, known, (p + q) * sizeof *shift);
    if (st == RRR_OK)
        st = pass_grid(ctx, rq->X, rq->Y, (rq->hash ? RRR_STREAM_HASH : 0) |
                       (rq->warn ? RRR_STREAM_MOMENTS : 0), p, q, rq->intercept,
                       known != NULL, gr->g, &gr->Rd, &gr->Cd, &gr->yy, shift, S, &facts);
    if (st == RRR_OK)
        st = rrr_check_scale(&ctx->err, rq->n, facts.xmax, facts.ymax);
    if (st == RRR_OK && mom != NULL)
        rrr_warn_uncentred(ctx, rq->n, p, q, rq->d, mom);
    free(mom);
    if (st == RRR_OK && rq->intercept) { /* remove the shift (as pass_replicated does) */
        const rrr_grid *g = gr->g;
        rrr_dmat *A = &gr->Rd;
        int lld = A->desc[8];
        for (int jl = 0; jl < A->nloc; jl++) { /* the diagonal before: one owner per entry */
            int j = rrr_dmat_l2g(jl, g->nb, g->mycol, g->npcol);
            for (int il = 0; il < A->mloc; il++)
                if (rrr_dmat_l2g(il, g->nb, g->myrow, g->nprow) == j)
                    diag[j] = A->a[IDX(il, jl, lld)];
        }
        rrr_allreduce_sum(ctx, diag, p);
        double gmax = 0, rr = 0;
        int lost = 0;
        for (size_t j = 0; j < p; j++)
            gmax = fmax(gmax, diag[j]);
        for (size_t j = 0; j < p; j++)
            lost |= shift_cancelled(diag[j], diag[j] - S[j] * S[j] / nn, gmax);
        for (size_t j = 0; j < q; j++)
            rr += S[p + j] * S[p + j];
        lost |= shift_cancelled(gr->yy, gr->yy - rr / nn, gr->yy);
        rrr_dmat_rank1(g, &gr->Rd, -1.0 / nn, S, S);
        rrr_dmat_rank1(g, &gr->Cd, -1.0 / nn, S, S + p);
        gr->yy -= rr / nn;
        *redo = known == NULL && lost;
        gr->xm = rrr_malloc(p, sizeof(double));
        gr->ym = rrr_malloc(q, sizeof(double));
        st = gr->xm && gr->ym ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
        for (size_t j = 0; st == RRR_OK && j < p + q; j++)
            *(j < p ? gr->xm + j : gr->ym + j - p) = shift[j] + S[j] / nn;
        st = rrr_agree(ctx, st);
    }
    gr->have_hash = rq->hash;
    gr->data_hash = facts.hash;
    free(shift);
    free(S);
    free(diag);
    return st;
}

rrr_status rrr_gram_pass_grid(rrr_ctx *ctx, const rrr_problem *pb, const rrr_grid *g,
                              rrr_dmat *G, rrr_dmat *C, double *yy)
{
    rrr_block bx = { .n = pb->n, .ncols = pb->p, .r0 = pb->r0, .nloc = pb->nloc,
                     .a = (double *)pb->Xt };
    rrr_block by = { .n = pb->n, .ncols = pb->q, .r0 = pb->r0, .nloc = pb->nloc,
                     .a = (double *)pb->Yt };
    rrr_input *X = NULL, *Y = NULL;
    rrr_stream_facts facts = { 0, 0, 0, NULL };
    const size_t p = pb->p, q = pb->q;
    double *shift = rrr_calloc(p + q, sizeof *shift), *S = rrr_calloc(p + q, sizeof *S);
    rrr_status st = shift && S ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    if (st == RRR_OK)
        st = rrr_input_mem(ctx, &bx, &X);
    if (st == RRR_OK)
        st = rrr_input_mem(ctx, &by, &Y);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK && pb->xm != NULL) { /* centred at the given means: no correction */
        memcpy(shift, pb->xm, p * sizeof *shift);
        memcpy(shift + p, pb->ym, q * sizeof *shift);
    }
    if (st == RRR_OK)
        st = pass_grid(ctx, X, Y, 0, p, q, pb->xm != NULL, 1, g, G, C, yy, shift, S, &facts);
    rrr_input_close(&X);
    rrr_input_close(&Y);
    free(shift);
    free(S);
    return st;
}

rrr_status rrr_gram_grid_new(rrr_ctx *ctx, size_t p, rrr_grid **out)
{
    /* Square blocks of at most 64, and small enough that even a test-sized p spreads over
     * the whole grid. */
    int nb = (int)(p / (2 * (size_t)(ctx->size > 1 ? ctx->size : 1)));
    nb = nb < 2 ? 2 : nb > 64 ? 64 : nb;
    rrr_status st = rrr_grid_create(ctx, nb, out);
    if (st == RRR_OK)
        rrr_info(ctx, "stats: 2-D grid regime, %d x %d BLACS grid, %d x %d blocks", (*out)->nprow,
                 (*out)->npcol, nb, nb);
    return st;
}

rrr_status rrr_check_scale(rrr_err *e, size_t n, double xmax, double ymax)
{
    const double big = sqrt(DBL_MAX / (double)n), small = sqrt(DBL_MIN / DBL_EPSILON);
    if (xmax > big)
        return RRR_FAIL(e, RRR_ENUMERIC, "X^T X overflows: |X| reaches %.3g, and n = %zu squares "
                        "of that exceed double's range; rescale X (e.g. divide it by %.3g)",
                        xmax, n, xmax);
    if (ymax > big)
        return RRR_FAIL(e, RRR_ENUMERIC, "||Y||^2 overflows: |Y| reaches %.3g, and n = %zu "
                        "squares of that exceed double's range; rescale Y (e.g. divide it by "
                        "%.3g)", ymax, n, ymax);
    if (xmax > 0 && xmax < small)
        return RRR_FAIL(e, RRR_ENUMERIC, "X^T X underflows: |X| is at most %.3g, whose squares "
                        "are below double's normal range; rescale X (e.g. multiply it by %.3g)",
                        xmax, 1 / xmax);
    if (ymax > 0 && ymax < small)
        return RRR_FAIL(e, RRR_ENUMERIC, "||Y||^2 underflows: |Y| is at most %.3g, whose squares "
                        "are below double's normal range; rescale Y (e.g. multiply it by %.3g)",
                        ymax, 1 / ymax);
    return RRR_OK;
}

/* ---- factorisation ------------------------------------------------------------------ */

/* Local. Numerical singularity test on the Cholesky factor A = R^T R. R_ii^2 / A_ii is the
 * squared sine of the angle between column i of the (ridge-augmented) design and the span
 * of the previous ones; the backward error of Cholesky perturbs it by about p * eps
 * (Higham, ASNA 2nd ed., Thm 10.3), so below that column i is a linear combination of the
 * others to working precision (e.g. a duplicated column gives ~eps). */
static rrr_status check_pivots(rrr_err *e, size_t p, double lambda, const double *diagA,
                               const double *diagR, int info)
{
    size_t bad = p;
    if (info > 0)
        bad = (size_t)info - 1;
    for (size_t i = 0; i < p && bad == p; i++)
        if (!(diagR[i] * diagR[i] > (double)p * DBL_EPSILON * diagA[i]))
            bad = i;
    if (bad == p)
        return RRR_OK;
    double amax = 0;
    for (size_t i = 0; i < p; i++)
        amax = fmax(amax, diagA[i]);
    if (lambda == 0.0 && !(diagA[bad] > (double)p * DBL_EPSILON * amax))
        return RRR_FAIL(e, RRR_ENUMERIC,
                        "X^T X is singular: column %zu (0-based) of X is zero to working "
                        "precision (a constant column is zero once --intercept centres it): drop "
                        "it or use --lambda > 0", bad);
    if (lambda == 0.0)
        return RRR_FAIL(e, RRR_ENUMERIC,
                        "X^T X is singular to working precision (rank-deficient X: column %zu, 0-based, "
                        "is a linear combination of the previous ones): use --lambda > 0",
                        bad);
    return RRR_FAIL(e, RRR_ENUMERIC,
                    "X^T X + lambda I is singular to working precision at column %zu "
                    "(lambda = %g is tiny next to X^T X): use a larger --lambda",
                    bad, lambda);
}

/* Collective. R = chol(G + lambda I), upper, in place; both regimes. */
static rrr_status factor(rrr_ctx *ctx, rrr_gram *gr)
{
    rrr_status st = RRR_OK;
    const size_t p = gr->p;
    double *diag = rrr_calloc(2 * p, sizeof(double)); /* [A_ii | R_ii] */
    if (diag == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "factor: out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    double t0 = rrr_phase_begin();
    int info = 0, pi = (int)p;
    if (!gr->grid) {
        for (size_t i = 0; i < p; i++) {
            gr->R[IDX(i, i, p)] += gr->lambda;
            diag[i] = gr->R[IDX(i, i, p)];
        }
        dpotrf_("U", &pi, gr->R, &pi, &info, 1);
        for (size_t i = 0; i < p; i++)
            diag[p + i] = gr->R[IDX(i, i, p)];
    } else {
        const rrr_grid *g = gr->g;
        rrr_dmat *A = &gr->Rd;
        int lld = A->desc[8], one = 1;
        for (int jl = 0; jl < A->nloc; jl++) {
            int j = rrr_dmat_l2g(jl, g->nb, g->mycol, g->npcol);
            for (int il = 0; il < A->mloc; il++)
                if (rrr_dmat_l2g(il, g->nb, g->myrow, g->nprow) == j) {
                    A->a[IDX(il, jl, lld)] += gr->lambda;
                    diag[j] = A->a[IDX(il, jl, lld)];
                }
        }
        pdpotrf_("U", &pi, A->a, &one, &one, A->desc, &info, 1); /* info is global */
        for (int jl = 0; jl < A->nloc; jl++) {
            int j = rrr_dmat_l2g(jl, g->nb, g->mycol, g->npcol);
            for (int il = 0; il < A->mloc; il++)
                if (rrr_dmat_l2g(il, g->nb, g->myrow, g->nprow) == j)
                    diag[p + (size_t)j] = A->a[IDX(il, jl, lld)];
        }
        rrr_allreduce_sum(ctx, diag, 2 * p); /* one owner per diagonal entry: exact */
    }
    rrr_phase_end(ctx, RRR_T_SOLVE, t0);
    if (info < 0)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "%spotrf: illegal argument %d",
                      gr->grid ? "pd" : "d", -info);
    else
        st = check_pivots(&ctx->err, p, gr->lambda, diag, diag + p, info);
    free(diag);
    return rrr_agree(ctx, st);
}


/* ---- the statistics ----------------------------------------------------------------- */

/* Local. Free what one attempt of the pass left in gr (the pilot stays). */
static void drop_sums(rrr_gram *gr)
{
    free(gr->R);
    free(gr->T);
    free(gr->C2);
    free(gr->xm);
    free(gr->ym);
    gr->R = gr->C = gr->C2 = gr->T = gr->xm = gr->ym = NULL;
    rrr_dmat_free(&gr->Rd);
    rrr_dmat_free(&gr->Cd);
}

/* Collective. After the Cholesky factor (st its status): when X is too ill-conditioned
 * for the normal equations, or G + lambda I was singular to working precision, the QR of
 * X (applied to Y) instead (replicated regime, when it fits in memory; stats_qr.c). */
static rrr_status refactor_qr(rrr_ctx *ctx, const rrr_stats_req *rq, rrr_gram *gr,
                              rrr_status st)
{
    if (gr->grid || (st != RRR_OK && st != RRR_ENUMERIC))
        return st;
    if (!rrr_gram_qr_fits(ctx, rq->p, rq->q)) {
        if (st == RRR_OK && rrr_gram_ill(ctx, gr))
            rrr_warn(ctx, "stats: X^T X + lambda I has condition > %.0e after column scaling, "
                     "but the QR that would keep its digits needs %.3g GB per rank: the normal "
                     "equations stand (the certificate's tolerance says what they are worth)",
                     RRR_QR_COND, 8e-9 * (double)rrr_gram_qr_doubles(rq->p, rq->q));
        return st;
    }
    const rrr_err first = ctx->err; /* the Cholesky's verdict, the more specific one */
    if (st == RRR_ENUMERIC) {
        rrr_info(ctx, "stats: %s; a second pass factors [X Y] by QR, which keeps the digits "
                 "the normal equations lose", rrr_ctx_errmsg(ctx));
        ctx->err = (rrr_err){ .st = RRR_OK };
    } else if (rrr_gram_ill(ctx, gr)) {
        rrr_info(ctx, "stats: X^T X + lambda I has condition > %.0e after column scaling: a "
                 "second pass factors [X Y] by QR, which keeps the digits the normal equations "
                 "lose", RRR_QR_COND);
    } else {
        return RRR_OK;
    }
    rrr_status qst = rrr_gram_qr(ctx, rq, gr);
    if (qst == RRR_EINTERNAL && st == RRR_OK) { /* no memory for it: gr is as it was */
        rrr_warn(ctx, "stats: %s: the normal equations stand", rrr_ctx_errmsg(ctx));
        ctx->err = (rrr_err){ .st = RRR_OK };
        return RRR_OK;
    }
    if (qst != RRR_OK && first.st == RRR_ENUMERIC) { /* the Cholesky's verdict stands */
        ctx->err = first;
        return first.st;
    }
    return qst;
}

rrr_status rrr_gram_create(rrr_ctx *ctx, const rrr_stats_req *rq, int use_grid, rrr_gram **out)
{
    rrr_status st = RRR_OK;
    *out = NULL;
    if (rq->p > INT_MAX || rq->q > INT_MAX || rq->n > INT_MAX * (size_t)ctx->size)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "stats: dimensions exceed the BLAS int range");
    rrr_gram *gr = rrr_calloc(1, sizeof *gr);
    if (st == RRR_OK && gr == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(gr);
        return st;
    }
    *gr = (rrr_gram){ .p = rq->p, .q = rq->q, .n = rq->n, .lambda = rq->lambda, .grid = use_grid,
                      .route = rq->route, .d = rq->d };
    double t0 = rrr_phase_begin(), *known = NULL;
    for (int attempt = 0; st == RRR_OK; attempt++) {
        int redo = 0;
        st = use_grid ? stats_grid(ctx, rq, known, gr, &redo)
                      : pass_replicated(ctx, rq, known, gr, &redo);
        if (st != RRR_OK || !redo || attempt > 0)
            break;
        /* the first rows' means were far from the means (rows sorted by a column?): once
         * more, centred at the means this pass found (README "exact") */
        rrr_info(ctx, "stats: the shift by the first rows' means cancelled more than a digit of "
                 "X^T X or ||Y||^2: a second pass, centred at the means");
        known = rrr_malloc(rq->p + rq->q, sizeof *known);
        st = rrr_agree(ctx, known ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory"));
        if (st == RRR_OK) {
            memcpy(known, gr->xm, rq->p * sizeof *known);
            memcpy(known + rq->p, gr->ym, rq->q * sizeof *known);
        }
        drop_sums(gr);
    }
    free(known);
    if (st == RRR_OK) {
        /* flops per rank: dsyrk n p^2 / K (half of the p x p x n dgemm) + dgemm 2 n p q / K */
        double dt = rrr_phase_begin() - t0, n = (double)rq->n, p = (double)rq->p;
        double fl = n * p * (p + 2.0 * (double)rq->q) / ctx->size;
        rrr_info(ctx, "stats: one pass over %zu rows in %.3f s (%.1f GFLOP/s per rank)%s", rq->n,
                 dt, dt > 0 ? fl / dt * 1e-9 : 0.0,
                 gr->have_pilot ? "; with the pilot's residuals (the final evaluation)" : "");
        t0 = rrr_phase_begin();
        st = factor(ctx, gr);
        if (st == RRR_OK)
            rrr_info(ctx, "stats: Cholesky of X^T X + lambda I (p = %zu) in %.3f s", rq->p,
                     rrr_phase_begin() - t0);
        st = refactor_qr(ctx, rq, gr, st);
    }
    if (st != RRR_OK)
        rrr_gram_destroy(&gr);
    *out = gr;
    return st;
}

rrr_status rrr_gram_from_sums(rrr_ctx *ctx, const rrr_sums *sums, const rrr_stats_req *rq,
                              rrr_gram **out)
{
    const size_t p = rq->p, q = rq->q;
    rrr_gram *gr = rrr_calloc(1, sizeof *gr);
    double *buf = rrr_malloc(p * p + p * q + 1, sizeof(double));
    double *xm = sums->xm ? rrr_malloc(p, sizeof *xm) : NULL;
    double *ym = sums->ym ? rrr_malloc(q, sizeof *ym) : NULL;
    rrr_status st = gr && buf && (xm || !sums->xm) && (ym || !sums->ym)
                        ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory for X^T X");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(gr);
        free(buf);
        free(xm);
        free(ym);
        *out = NULL;
        return st;
    }
    memcpy(buf, sums->G, p * p * sizeof(double));
    memcpy(buf + p * p, sums->C, p * q * sizeof(double));
    if (xm != NULL)
        memcpy(xm, sums->xm, p * sizeof *xm);
    if (ym != NULL)
        memcpy(ym, sums->ym, q * sizeof *ym);
    *gr = (rrr_gram){ .p = p, .q = q, .n = rq->n, .lambda = rq->lambda, .yy = sums->yy,
                      .route = rq->route, .d = rq->d, .R = buf, .C = buf + p * p, .xm = xm,
                      .ym = ym };
    st = refactor_qr(ctx, rq, gr, factor(ctx, gr));
    if (st != RRR_OK)
        rrr_gram_destroy(&gr);
    *out = gr;
    return st;
}

void rrr_gram_destroy(rrr_gram **gr)
{
    if (gr == NULL || *gr == NULL)
        return;
    drop_sums(*gr);
    free((*gr)->U0);
    free((*gr)->V0);
    rrr_grid_destroy(&(*gr)->g);
    free(*gr);
    *gr = NULL;
}

/* Columns of q per block of the objective's p x q entries (about 2 MB of them). */
static size_t objective_block(size_t p, size_t q)
{
    size_t b = ((size_t)1 << 18) / (p > 0 ? p : 1);
    return b < 1 ? 1 : (b > q ? q : b);
}

/* Local. s += ||A - B C^T||_F^2 (A may be NULL: 0) for A p x q, B p x k, C q x k, a block
 * of columns at a time through W (p x objective_block(p, q)): the entries themselves,
 * whose squares cannot come from small Gram matrices without cancelling. */
static double sumsq_lowrank(size_t p, size_t q, int k, const double *A, const double *B,
                            const double *C, double *W)
{
    const size_t qb = objective_block(p, q);
    double s = 0.0;
    for (size_t j = 0; j < q; j += qb) {
        const size_t nb = q - j < qb ? q - j : qb;
        if (A != NULL)
            memcpy(W, A + j * p, p * nb * sizeof *W);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)p, (int)nb, k, -1.0, B,
                    (int)p, C + j, (int)q, A != NULL ? 1.0 : 0.0, W, (int)p);
        s += rrr_dot(p * nb, W, W);
    }
    return s;
}

/* D = U V^T - U0 V0^T = P Q^T with P = [U, -U0] (p x k), Q = [V, V0] (q x k), k = d + d0:
 *   f = f0 - 2 tr(P^T C2 Q) + ||(R P) Q^T||^2,
 * the entries of R D formed as (R P) Q^T (the same to rounding as R (P Q^T) at a rank-k
 * product, without the p x p x q triangular product). */
static rrr_status objective_pilot(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                                  const double *V, double *f)
{
    const size_t p = gr->p, q = gr->q, d1 = (size_t)d, d0 = (size_t)gr->d, k2 = d1 + d0;
    const int pi = (int)p, qi = (int)q, k = (int)k2;
    double *P = rrr_malloc((3 * p + q) * k2 + p * objective_block(p, q), sizeof *P);
    if (P == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "evaluate: out of memory (%zu x %zu)", p, q);
    double *RP = P + p * k2, *CQ = RP + p * k2, *Q = CQ + p * k2, *W = Q + q * k2;
    memcpy(P, U, p * d1 * sizeof *P);
    for (size_t i = 0; i < p * d0; i++)
        P[p * d1 + i] = -gr->U0[i];
    memcpy(Q, V, q * d1 * sizeof *Q);
    memcpy(Q + q * d1, gr->V0, q * d0 * sizeof *Q);
    memcpy(RP, P, p * k2 * sizeof *RP);
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, pi, k, 1.0,
                gr->R, pi, RP, pi);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, pi, k, qi, 1.0, gr->C2, pi, Q, qi,
                0.0, CQ, pi);
    *f = gr->f0 - 2.0 * rrr_dot(p * k2, P, CQ) + sumsq_lowrank(p, q, k, NULL, RP, Q, W);
    free(P);
    return RRR_OK;
}

/* f = rr + ||T - (R11 U) V^T||_F^2 (stats_qr.c). */
static rrr_status objective_qr(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                               const double *V, double *f)
{
    const size_t p = gr->p, q = gr->q, d1 = (size_t)d;
    double *RU = rrr_malloc(p * d1 + p * objective_block(p, q), sizeof *RU);
    if (RU == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "evaluate: out of memory (%zu x %zu)", p, q);
    memcpy(RU, U, p * d1 * sizeof *RU);
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, (int)p, d,
                1.0, gr->R, (int)p, RU, (int)p);
    *f = gr->rr + sumsq_lowrank(p, q, d, gr->T, RU, V, RU + p * d1);
    free(RU);
    return RRR_OK;
}

int rrr_gram_has_quadratic(const rrr_gram *gr)
{
    return !gr->grid && (gr->have_pilot || gr->T != NULL);
}

rrr_status rrr_gram_objective(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                              const double *V, double *f)
{
    double t0 = rrr_phase_begin();
    rrr_status st = gr->T != NULL ? objective_qr(ctx, gr, d, U, V, f)
                                  : objective_pilot(ctx, gr, d, U, V, f);
    rrr_phase_end(ctx, RRR_T_SOLVE, t0);
    return st;
}

/* f from rrr_gram_objective; grad_B f = 2 ((R^T R P) Q^T - C2) with P, Q as there. */
rrr_status rrr_gram_evaluate(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                             const double *V, double *f, double *gU, double *gV)
{
    if (gr->T != NULL)
        return rrr_gram_evaluate_qr(ctx, gr, d, U, V, f, gU, gV);
    rrr_status st = rrr_gram_objective(ctx, gr, d, U, V, f);
    if (st != RRR_OK || (gU == NULL && gV == NULL))
        return st;
    const size_t p = gr->p, q = gr->q, pq = p * q, d1 = (size_t)d, d0 = (size_t)gr->d;
    const size_t k2 = d1 + d0;
    const int pi = (int)p, qi = (int)q, k = (int)k2;
    double *W = rrr_malloc(pq, sizeof *W);
    double *RRP = rrr_malloc((p + q) * k2, sizeof *RRP); /* R^T R P, Q */
    if (W == NULL || RRP == NULL) {
        free(W);
        free(RRP);
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "evaluate: out of memory (%zu x %zu)", p, q);
    }
    double *Q = RRP + p * k2;
    double t0 = rrr_phase_begin();
    memcpy(RRP, U, p * d1 * sizeof *RRP);
    for (size_t i = 0; i < p * d0; i++)
        RRP[p * d1 + i] = -gr->U0[i];
    memcpy(Q, V, q * d1 * sizeof *Q);
    memcpy(Q + q * d1, gr->V0, q * d0 * sizeof *Q);
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, pi, k, 1.0,
                gr->R, pi, RRP, pi);
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, pi, k, 1.0,
                gr->R, pi, RRP, pi);
    memcpy(W, gr->C2, pq * sizeof *W); /* grad_B f / 2, into W */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pi, qi, k, 1.0, RRP, pi, Q, qi, -1.0, W,
                pi);
    if (gU != NULL)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, pi, d, qi, 2.0, W, pi, V, qi, 0.0,
                    gU, pi);
    if (gV != NULL)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, qi, d, pi, 2.0, W, pi, U, pi, 0.0,
                    gV, qi);
    rrr_phase_end(ctx, RRR_T_SOLVE, t0);
    free(W);
    free(RRP);
    return RRR_OK;
}

/* ---- products with the statistics ------------------------------------------------- */

/* Collective (grid regime). Scatter the k-column replicated input into a new dmat of
 * m_in rows, run op (in place, or into a new dmat of m_out rows), gather the output. */
typedef void (*grid_op)(rrr_gram *gr, int trans, int k, rrr_dmat *in, rrr_dmat *out);

static rrr_status grid_apply(rrr_ctx *ctx, rrr_gram *gr, grid_op op, int trans, int inplace,
                             int m_in, int m_out, int k, const double *in, double *out)
{
    rrr_status st = RRR_OK;
    rrr_dmat Di = { 0 }, Do = { 0 };
    st = rrr_dmat_init(gr->g, m_in, k, &Di, &ctx->err);
    if (st == RRR_OK && !inplace)
        st = rrr_dmat_init(gr->g, m_out, k, &Do, &ctx->err);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        double t0 = rrr_phase_begin();
        rrr_dmat_scatter(gr->g, &Di, k, in, (size_t)m_in);
        op(gr, trans, k, &Di, inplace ? &Di : &Do);
        rrr_phase_end(ctx, RRR_T_SOLVE, t0);
        rrr_dmat_gather(ctx, gr->g, inplace ? &Di : &Do, 0, k, out, (size_t)m_out);
    }
    rrr_dmat_free(&Di);
    rrr_dmat_free(&Do);
    return st;
}

static void op_mulC(rrr_gram *gr, int trans, int k, rrr_dmat *in, rrr_dmat *out)
{
    const int p = (int)gr->p, q = (int)gr->q, one = 1;
    const double alpha = 1.0, beta = 0.0;
    pdgemm_(trans ? "T" : "N", "N", trans ? &q : &p, &k, trans ? &p : &q, &alpha, gr->Cd.a,
            &one, &one, gr->Cd.desc, in->a, &one, &one, in->desc, &beta, out->a, &one, &one,
            out->desc, 1, 1);
}

static void op_mulR(rrr_gram *gr, int trans, int k, rrr_dmat *in, rrr_dmat *out)
{
    const int p = (int)gr->p, one = 1;
    const double alpha = 1.0;
    (void)out; /* in place */
    pdtrmm_("L", "U", trans ? "T" : "N", "N", &p, &k, &alpha, gr->Rd.a, &one, &one, gr->Rd.desc,
            in->a, &one, &one, in->desc, 1, 1, 1, 1);
}

static void op_solve(rrr_gram *gr, int trans, int k, rrr_dmat *in, rrr_dmat *out)
{
    const int p = (int)gr->p, one = 1;
    const double alpha = 1.0;
    (void)trans;
    (void)out; /* in place */
    pdtrsm_("L", "U", "T", "N", &p, &k, &alpha, gr->Rd.a, &one, &one, gr->Rd.desc, in->a, &one,
            &one, in->desc, 1, 1, 1, 1);
    pdtrsm_("L", "U", "N", "N", &p, &k, &alpha, gr->Rd.a, &one, &one, gr->Rd.desc, in->a, &one,
            &one, in->desc, 1, 1, 1, 1);
}

rrr_status rrr_gram_mulC(rrr_ctx *ctx, rrr_gram *gr, int trans, int k, const double *in,
                         double *out)
{
    const int p = (int)gr->p, q = (int)gr->q;
    if (gr->grid)
        return grid_apply(ctx, gr, op_mulC, trans, 0, trans ? p : q, trans ? q : p, k, in, out);
    double t0 = rrr_phase_begin();
    if (trans)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, q, k, p, 1.0, gr->C, p, in, p, 0.0,
                    out, q);
    else
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, k, q, 1.0, gr->C, p, in, q,
                    0.0, out, p);
    rrr_phase_end(ctx, RRR_T_SOLVE, t0);
    return RRR_OK;
}

rrr_status rrr_gram_mulR(rrr_ctx *ctx, rrr_gram *gr, int trans, int k, const double *in,
                         double *out)
{
    const int p = (int)gr->p;
    if (gr->grid)
        return grid_apply(ctx, gr, op_mulR, trans, 1, p, p, k, in, out);
    double t0 = rrr_phase_begin();
    memcpy(out, in, gr->p * (size_t)k * sizeof(double));
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, trans ? CblasTrans : CblasNoTrans,
                CblasNonUnit, p, k, 1.0, gr->R, p, out, p);
    rrr_phase_end(ctx, RRR_T_SOLVE, t0);
    return RRR_OK;
}

rrr_status rrr_gram_solve(rrr_ctx *ctx, rrr_gram *gr, int k, const double *in, double *out)
{
    const int p = (int)gr->p;
    if (gr->grid)
        return grid_apply(ctx, gr, op_solve, 0, 1, p, p, k, in, out);
    double t0 = rrr_phase_begin();
    memcpy(out, in, gr->p * (size_t)k * sizeof(double));
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, p, k, 1.0, gr->R,
                p, out, p);
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, p, k, 1.0,
                gr->R, p, out, p);
    rrr_phase_end(ctx, RRR_T_SOLVE, t0);
    return RRR_OK;
}

rrr_status rrr_gram_ridge(rrr_ctx *ctx, rrr_gram *gr, int k, const double *V, const double *CV,
                          double *out)
{
    if (gr->T == NULL)
        return rrr_gram_solve(ctx, gr, k, CV, out);
    const int p = (int)gr->p, q = (int)gr->q;
    double t0 = rrr_phase_begin();
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, k, q, 1.0, gr->T, p, V, q, 0.0,
                out, p);
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, p, k, 1.0,
                gr->R, p, out, p);
    rrr_phase_end(ctx, RRR_T_SOLVE, t0);
    return RRR_OK;
}

double rrr_local_yy(const rrr_problem *pb)
{
    double s = 0.0;
    for (size_t r = 0; r < pb->nloc; r++) {
        const double *y = pb->Yt + r * pb->q;
        double t = 0.0;
        for (size_t j = 0; j < pb->q; j++) {
            double v = y[j] - (pb->ym != NULL ? pb->ym[j] : 0.0);
            t += v * v;
        }
        s += t;
    }
    return s;
}

/* Local (replicated sums). How many of m columns have |mean| > standard deviation, i.e.
 * 2 mean^2 > mean of squares; *constant is set when one is constant and non-zero (a column
 * of ones: the user's own intercept), as far as the sums can tell: a variance at the
 * rounding level of the mean square (16 eps: sd < 6e-8 |mean|; a column of ones gives 0
 * exactly), so that a real variable on a large offset (times in epoch seconds: sd ~ 1e-6
 * |mean|) is not taken for one. A constant that is not a small integer (0.1) sums with
 * rounding of ~n eps and gets the advice all the same, which then still holds: the rank-d
 * term fits the means, the user's column or not. */
static size_t offset_columns(const double *sum, const double *sq, size_t m, double n,
                             int *constant)
{
    size_t count = 0;
    for (size_t j = 0; j < m; j++) {
        double mu = sum[j] / n, ms = sq[j] / n;
        if (2 * mu * mu > ms)
            count++;
        if (mu != 0 && ms - mu * mu <= 16 * DBL_EPSILON * ms)
            *constant = 1;
    }
    return count;
}

void rrr_warn_uncentred(rrr_ctx *ctx, size_t n, size_t p, size_t q, int d, const double *s)
{
    int xconst = 0, yconst = 0;
    size_t cx = offset_columns(s, s + p + q, p, (double)n, &xconst);
    size_t cy = offset_columns(s + p, s + 2 * p + q, q, (double)n, &yconst);
    if (xconst || cx + cy == 0)
        return; /* X carries its own intercept column, or nothing to say */
    rrr_warn(ctx, "--intercept is off, but %zu of %zu X columns and %zu of %zu Y columns have "
             "|mean| > standard deviation: the rank-%d term will fit the means; pass "
             "--intercept to centre X and Y (predict adds the means back)", cx, p, cy, q, d);
}
