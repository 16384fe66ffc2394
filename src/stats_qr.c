/* src/stats_qr.c: the statistics of an ill-conditioned X by QR instead of the normal
 * equations (replicated regime; README "exact").
 *
 * Forming G = Xc^T Xc squares X's condition number: with columns on raw scales and nearly
 * collinear (cond(X) 1e7 after column scaling, cond(G) 1e14), the Cholesky factor, the
 * whitened T = R^{-T} C, the closed form, f* and the pilot's quadratic all lose most of
 * their digits. When the column-scaled Cholesky factor says so (rrr_gram_ill), a second
 * streamed pass over the rows factors the augmented matrix instead,
 *
 *     A = [ Xc         Yc ]  = Q [ R11  T   ]      R11: p x p, T: p x q, R22: q x q,
 *         [ sqrt(l) I   0 ]      [  0   R22 ]      all upper triangular but T,
 *
 * one panel at a time (LAPACK dtpqrt: the QR of a triangle stacked on a panel), then the
 * ranks' triangles pairwise (MPI_Reduce with the same kernel as its operation). Then, with
 * no product of X with itself anywhere, R11^T R11 = Xc^T Xc + lambda I, T = the whitened
 * X^T Y (R11^{-T} C), and for every B
 *
 *     f(B) = ||R22||_F^2 + ||T - R11 B||_F^2,      grad_B f = -2 R11^T (T - R11 B),
 *
 * exactly: the closed form, f*, the objective and the gradient at the returned U, V keep
 * the digits that the data carry. Costs 2 n (p + q)^2 flops (about twice the first pass)
 * and (p + q)^2 doubles twice per rank; not taken beyond RRR_QR_MAX_COLS columns. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gram.h"
#include "lapack.h"

/* Rows of each dtpqrt call (a transposed, centred copy of that many rows) and its block. */
enum { QR_ROWS = 256, QR_NB = 32 };

void dtpqrt_(const int *m, const int *n, const int *l, const int *nb, double *a, const int *lda,
             double *b, const int *ldb, double *t, const int *ldt, double *work, int *info);
void dtrcon_(const char *norm, const char *uplo, const char *diag, const int *n, const double *a,
             const int *lda, double *rcond, double *work, int *iwork, int *info, fstrlen,
             fstrlen, fstrlen);

int rrr_gram_ill(const rrr_gram *gr)
{
    const size_t p = gr->p;
    const int pi = (int)p;
    double *Rs = rrr_malloc(p * p + 3 * p, sizeof *Rs), rcond = 0;
    int *iw = rrr_malloc(p, sizeof *iw), info = 0;
    if (Rs == NULL || iw == NULL) {
        free(Rs);
        free(iw);
        return 0; /* no estimate: keep the normal equations */
    }
    /* columns of R scaled to unit norm: the condition that scaling X's columns cannot hide */
    for (size_t j = 0; j < p; j++) {
        double s = 0;
        for (size_t i = 0; i <= j; i++)
            s += gr->R[i + j * p] * gr->R[i + j * p];
        s = s > 0 ? 1 / sqrt(s) : 0;
        for (size_t i = 0; i < p; i++)
            Rs[i + j * p] = i <= j ? gr->R[i + j * p] * s : 0;
    }
    dtrcon_("1", "U", "N", &pi, Rs, &pi, &rcond, Rs + p * p, iw, &info, 1, 1, 1);
    free(Rs);
    free(iw);
    return info == 0 && !(rcond * RRR_QR_COND > 1);
}

/* Local. [A; B] -> its R in A: A (m x m upper triangle, ld m), B (rows x m, ld ldb, l of
 * them the trapezoid of a triangle: dtpqrt's L); w: 2 QR_NB m doubles. */
static int qr_stack(int m, int rows, int l, double *A, double *B, int ldb, double *w)
{
    int nb = QR_NB < m ? QR_NB : m, info = 0;
    if (rows > 0)
        dtpqrt_(&rows, &m, &l, &nb, A, &m, B, &ldb, w, &nb, w + (size_t)nb * (size_t)m, &info);
    return info;
}

/* The reduction's operation: inout = the R of [in; inout] (both m x m upper triangles,
 * packed as one datatype of m^2 doubles). The order of the ranks' triangles changes R only
 * in the signs of its rows (made positive at the end). */
static int qr_m; /* the order of the triangles being reduced (set around MPI_Reduce) */

static void qr_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const int m = qr_m;
    double *w = rrr_malloc(2 * (size_t)QR_NB * (size_t)m, sizeof *w);
    for (int k = 0; k < *len && w != NULL; k++) {
        double *a = (double *)inout + (size_t)k * m * m, *b = (double *)in + (size_t)k * m * m;
        qr_stack(m, m, m, a, b, m, w);
    }
    free(w);
}

/* Local. Rows [i0, i0 + rows) of the panel into B (rows x m, column-major), centred. */
static void panel_rows(const rrr_panel *pn, size_t i0, int rows, size_t p, size_t q,
                       const double *xm, const double *ym, double *B)
{
    for (int r = 0; r < rows; r++) {
        const double *x = pn->X + (i0 + (size_t)r) * p, *y = pn->Y + (i0 + (size_t)r) * q;
        for (size_t j = 0; j < p; j++)
            B[(size_t)r + j * (size_t)rows] = x[j] - (xm ? xm[j] : 0.0);
        for (size_t j = 0; j < q; j++)
            B[(size_t)r + (p + j) * (size_t)rows] = y[j] - (ym ? ym[j] : 0.0);
    }
}

/* Collective. My rows' triangle Rl (m x m, zeroed by the caller): a pass over the stream,
 * QR_ROWS rows at a time; rank 0 adds the sqrt(lambda) I rows. */
static rrr_status local_triangle(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_gram *gr,
                                 double *Rl, double *B, double *w)
{
    const size_t p = rq->p, q = rq->q;
    const int m = (int)(p + q);
    rrr_stream *s = NULL;
    rrr_stream_facts facts = { 0, 0, 0, NULL };
    rrr_panel pn;
    int info = 0;
    rrr_status st = rrr_stream_open(ctx, rq->X, rq->Y, 0, &s);
    for (size_t k = 0; st == RRR_OK && k < rrr_stream_count(s); k++) {
        st = rrr_stream_next(s, info == 0 ? RRR_OK : RRR_EINTERNAL, &pn);
        double t0 = rrr_phase_begin();
        for (size_t i0 = 0; st == RRR_OK && i0 < pn.m && info == 0; i0 += QR_ROWS) {
            int rows = (int)(pn.m - i0 < QR_ROWS ? pn.m - i0 : QR_ROWS);
            panel_rows(&pn, i0, rows, p, q, gr->xm, gr->ym, B);
            info = qr_stack(m, rows, 0, Rl, B, rows, w);
            rrr_stream_poll(s);
        }
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    }
    st = rrr_stream_close(&s, st == RRR_OK && info != 0 ? RRR_EINTERNAL : st, &facts);
    if (st == RRR_OK && ctx->rank == 0 && gr->lambda > 0) { /* [sqrt(lambda) I, 0] */
        memset(B, 0, p * (size_t)m * sizeof *B);
        for (size_t j = 0; j < p; j++)
            B[j + j * p] = sqrt(gr->lambda);
        info = qr_stack(m, (int)p, 0, Rl, B, (int)p, w);
        st = info == 0 ? RRR_OK : RRR_EINTERNAL;
    }
    if (st == RRR_EINTERNAL && info != 0)
        RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: dtpqrt: illegal argument %d", -info);
    return rrr_agree(ctx, st);
}

/* Collective. The ranks' triangles into one, on every rank (reduced to rank 0, which
 * broadcasts it: every rank then holds the same bits). */
static rrr_status reduce_triangles(rrr_ctx *ctx, size_t m, double *Rl, double *Rt)
{
    MPI_Datatype tri;
    MPI_Op op;
    MPI_Type_contiguous((int)(m * m), MPI_DOUBLE, &tri);
    MPI_Type_commit(&tri);
    MPI_Op_create(qr_op, 0, &op);
    qr_m = (int)m;
    int rc = MPI_Reduce(Rl, Rt, 1, tri, op, 0, ctx->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Bcast(Rt, 1, tri, 0, ctx->comm);
    MPI_Op_free(&op);
    MPI_Type_free(&tri);
    return rc == MPI_SUCCESS ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: MPI_Reduce failed");
}

/* Local. Rows of Rt with positive diagonals (R is unique up to their signs), then R11, T,
 * ||R22||^2 into gr: R11 over gr->R, C = R11^T T over gr->C, T new. */
static rrr_status take_triangle(rrr_gram *gr, double *Rt, size_t m, rrr_err *e)
{
    const size_t p = gr->p, q = gr->q;
    for (size_t i = 0; i < m; i++)
        if (Rt[i + i * m] < 0)
            for (size_t j = i; j < m; j++)
                Rt[i + j * m] = -Rt[i + j * m];
    /* pivots at rounding level: a column X cannot carry (lambda = 0; with lambda > 0 the
     * sqrt(lambda) rows keep R11 nonsingular, and the QR is backward stable however small
     * lambda is next to X^T X) */
    for (size_t j = 0; j < p; j++) {
        double c = 0;
        for (size_t i = 0; i <= j; i++)
            c += Rt[i + j * m] * Rt[i + j * m];
        const double tiny = gr->lambda > 0 ? 0 : (double)p * DBL_EPSILON * c;
        if (!(Rt[j + j * m] * Rt[j + j * m] > tiny) || !isfinite(c))
            return RRR_FAIL(e, RRR_ENUMERIC, "X^T X%s is singular to working precision (QR of "
                            "X: column %zu, 0-based, is a combination of the previous ones)%s",
                            gr->lambda > 0 ? " + lambda I" : "", j,
                            gr->lambda > 0 ? "" : ": use --lambda > 0");
    }
    double *T = rrr_malloc(p * q, sizeof *T);
    if (T == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "stats: out of memory (%zu x %zu)", p, q);
    double rr = 0, tt = 0;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            gr->R[i + j * p] = i <= j ? Rt[i + j * m] : 0;
    for (size_t j = 0; j < q; j++) {
        for (size_t i = 0; i < p; i++) {
            T[i + j * p] = Rt[i + (p + j) * m];
            tt += T[i + j * p] * T[i + j * p];
        }
        for (size_t i = p; i <= p + j; i++)
            rr += Rt[i + (p + j) * m] * Rt[i + (p + j) * m];
    }
    memcpy(gr->C, T, p * q * sizeof *T); /* C = R11^T T = Xc^T Yc */
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, (int)p, (int)q,
                1.0, gr->R, (int)p, gr->C, (int)p);
    free(gr->T);
    gr->T = T;
    gr->rr = rr;
    gr->yy = rr + tt;
    return RRR_OK;
}

rrr_status rrr_gram_qr(rrr_ctx *ctx, const rrr_stats_req *rq, rrr_gram *gr)
{
    const size_t p = rq->p, q = rq->q, m = p + q;
    const size_t rows = QR_ROWS > p ? QR_ROWS : p;
    double *Rl = rrr_calloc(m * m, sizeof *Rl), *Rt = rrr_calloc(m * m, sizeof *Rt);
    double *B = rrr_malloc(rows * m + 2 * (size_t)QR_NB * m, sizeof *B);
    rrr_status st = Rl && Rt && B ? RRR_OK
                                  : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory for "
                                             "the QR of [X Y] (%zu x %zu triangles)", m, m);
    st = rrr_agree(ctx, st);
    double t0 = rrr_phase_begin();
    if (st == RRR_OK)
        st = local_triangle(ctx, rq, gr, Rl, B, B + rows * m);
    if (st == RRR_OK)
        st = reduce_triangles(ctx, m, Rl, Rt);
    if (st == RRR_OK)
        st = rrr_agree(ctx, take_triangle(gr, Rt, m, &ctx->err));
    if (st == RRR_OK) {
        /* the pilot's quadratic is replaced by the exact one above */
        gr->have_pilot = 0;
        double n = (double)rq->n, dm = (double)m;
        double dt = rrr_phase_begin() - t0;
        rrr_info(ctx, "stats: QR of [X Y] over %zu rows in %.3f s (%.1f GFLOP/s per rank): "
                 "R, the whitened X^T Y and the residual without X^T X", rq->n, dt,
                 dt > 0 ? 2 * n * dm * dm / ctx->size / dt * 1e-9 : 0.0);
    }
    free(Rl);
    free(Rt);
    free(B);
    return st;
}

rrr_status rrr_gram_evaluate_qr(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                                const double *V, double *f, double *gU, double *gV)
{
    const size_t p = gr->p, q = gr->q, d1 = (size_t)d;
    const int pi = (int)p, qi = (int)q;
    double *E = rrr_malloc(p * q + p * d1, sizeof *E);
    if (E == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "evaluate: out of memory (%zu x %zu)", p, q);
    double *RU = E + p * q, s = 0;
    memcpy(RU, U, p * d1 * sizeof *RU); /* E = T - (R11 U) V^T */
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, pi, d, 1.0,
                gr->R, pi, RU, pi);
    memcpy(E, gr->T, p * q * sizeof *E);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pi, qi, d, -1.0, RU, pi, V, qi, 1.0, E,
                pi);
    for (size_t k = 0; k < p * q; k++)
        s += E[k] * E[k];
    *f = gr->rr + s;
    /* grad_B = -2 R11^T E: E <- R11^T E, then gU = -2 E V, gV = -2 E^T U */
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, pi, qi, 1.0,
                gr->R, pi, E, pi);
    if (gU != NULL)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, pi, d, qi, -2.0, E, pi, V, qi, 0.0,
                    gU, pi);
    if (gV != NULL)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, qi, d, pi, -2.0, E, pi, U, pi, 0.0,
                    gV, qi);
    free(E);
    return RRR_OK;
}
