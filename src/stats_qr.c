/* src/stats_qr.c: the statistics of an ill-conditioned X by QR instead of the normal
 * equations (replicated regime; README "exact").
 *
 * Forming G = Xc^T Xc squares X's condition number: with columns on raw scales and nearly
 * collinear (cond(X) 1e7 after column scaling, cond(G) 1e14), the Cholesky factor, the
 * whitened T = R^{-T} C, the closed form, f* and the pilot's quadratic all lose most of
 * their digits. When the column-scaled Cholesky factor says so (rrr_gram_ill), a second
 * streamed pass over the rows factors the augmented matrix instead,
 *
 *     [ Xc         Yc ]  = Q [ R11  T   ]      R11: p x p upper triangular, T: p x q,
 *     [ sqrt(l) I   0 ]      [  0   R22 ]      rr = ||R22||_F^2,
 *
 * as the QR of the X part alone, its reflectors carried through the Y part: per block of
 * rows, dtpqrt (the QR of the running triangle stacked on the block) and dtpmqrt (Q_b^T
 * applied to [T; Y block], whose part below T is orthogonal to everything that follows:
 * its squared norm goes into rr). The ranks' (R11, T, rr) are combined pairwise by the same
 * two kernels, as the operation of an MPI_Reduce. Then, with no product of X with itself
 * anywhere, R11^T R11 = Xc^T Xc + lambda I, T = the whitened X^T Y (R11^{-T} C), and for
 * every B
 *
 *     f(B) = rr + ||T - R11 B||_F^2,      grad_B f = -2 R11^T (T - R11 B),
 *
 * exactly: the closed form, f*, the objective and the gradient at the returned U, V keep
 * the digits that the data carry. Costs 2 n p^2 + 4 n p q flops (about twice the first
 * pass) and rrr_gram_qr_doubles(p, q) ~ 4 (p^2 + pq) doubles per rank. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gram.h"
#include "lapack.h"
#include "linalg.h"
#include "plan.h"

/* Local. rrr_gram_ill on this rank's copy of the (replicated) factor; 0 without memory. */
static int ill_local(const rrr_gram *gr)
{
    const size_t p = gr->p;
    double *Rs = rrr_malloc(p * p, sizeof *Rs);
    if (Rs == NULL)
        return 0; /* no estimate: keep the normal equations */
    memcpy(Rs, gr->R, p * p * sizeof *Rs);
    double cond = rrr_scaled_condition(p, Rs); /* 0: no estimate */
    free(Rs);
    return cond >= RRR_QR_COND;
}

/* Rows of each dtpqrt call (a transposed, centred copy of that many rows) and its block. */
enum { QR_ROWS = 256, QR_NB = 32 };

int rrr_gram_ill(rrr_ctx *ctx, const rrr_gram *gr)
{
    int ill = ill_local(gr);
    /* one verdict: a rank without memory for the estimate says 0, and so do all */
    MPI_Allreduce(MPI_IN_PLACE, &ill, 1, MPI_INT, MPI_MIN, ctx->comm);
    return ill;
}

/* The running factorization of one rank's rows: R (p x p upper), T = Q1^T [Yc; 0] (p x q)
 * and rr, the squared norm of what Q's other columns took of Y, packed as one buffer of
 * p^2 + pq + 1 doubles (the reduction's datatype). */
typedef struct {
    int p, q;
    double *R, *T, *rr;
} qr_state;

static qr_state qr_at(double *buf, size_t p, size_t q)
{
    return (qr_state){ (int)p, (int)q, buf, buf + p * p, buf + p * p + p * q };
}

/* Local. Stack rows of [X | Y] under the state: B (rows x p, ld rows) and Y part Yb (rows x
 * q, ld rows), l of B's rows the trapezoid of a triangle (dtpqrt's L); B and Yb are
 * overwritten; w: QR_NB (p + 1 + p + q) doubles. */
static int qr_stack(qr_state *s, int rows, int l, double *B, double *Yb, double *w)
{
    const int p = s->p, q = s->q, nb = QR_NB < p ? QR_NB : p;
    int info = 0;
    if (rows == 0)
        return 0;
    double *Tf = w, *work = w + (size_t)nb * (size_t)p;
    dtpqrt_(&rows, &p, &l, &nb, s->R, &p, B, &rows, Tf, &nb, work, &info);
    if (info == 0 && q > 0) /* [T; Yb] <- Q_b^T [T; Yb]: what falls below T is residual */
        dtpmqrt_("L", "T", &rows, &q, &p, &l, &nb, B, &rows, Tf, &nb, s->T, &p, Yb, &rows, work,
                 &info, 1, 1);
    for (size_t k = 0; info == 0 && k < (size_t)rows * (size_t)q; k++)
        *s->rr += Yb[k] * Yb[k];
    return info;
}

/* Local. Rows [i0, i0 + rows) of the panel into B (rows x p) and Yb (rows x q), centred. */
static void panel_rows(const rrr_panel *pn, size_t i0, int rows, size_t p, size_t q,
                       const double *xm, const double *ym, double *B, double *Yb)
{
    for (int r = 0; r < rows; r++) {
        const double *x = pn->X + (i0 + (size_t)r) * p, *y = pn->Y + (i0 + (size_t)r) * q;
        for (size_t j = 0; j < p; j++)
            B[(size_t)r + j * (size_t)rows] = x[j] - (xm ? xm[j] : 0.0);
        for (size_t j = 0; j < q; j++)
            Yb[(size_t)r + j * (size_t)rows] = y[j] - (ym ? ym[j] : 0.0);
    }
}

/* The reduction's operation: inout = the factorization of in's rows and inout's together.
 * MPI gives in as input only, so its triangle and T are copied into qr_ws first (set with
 * qr_p, qr_q around MPI_Reduce: an operation has no context argument). The order of the
 * ranks' rows changes R only in the signs of its rows (made positive at the end). */
static size_t qr_p, qr_q;
static double *qr_ws; /* p^2 + pq copies, then qr_stack's workspace */
static int qr_failed;

static void qr_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const size_t p = qr_p, q = qr_q, one = p * p + p * q + 1;
    for (int k = 0; k < *len; k++) {
        qr_state a = qr_at((double *)inout + k * one, p, q);
        const double *b = (const double *)in + k * one;
        double *Rb = qr_ws, *Tb = qr_ws + p * p;
        memcpy(Rb, b, (p * p + p * q) * sizeof *Rb);
        *a.rr += b[p * p + p * q];
        qr_failed |= qr_stack(&a, (int)p, (int)p, Rb, Tb, qr_ws + p * p + p * q) != 0;
    }
}

/* Collective. My rows' factorization into s (zeroed by the caller): a pass over the stream,
 * QR_ROWS rows at a time; rank 0 adds the sqrt(lambda) I rows. */
static rrr_status local_qr(rrr_ctx *ctx, const rrr_stats_req *rq, const rrr_gram *gr,
                           qr_state *s, double *B, double *Yb, double *w)
{
    const size_t p = rq->p, q = rq->q;
    rrr_stream *st_ = NULL;
    rrr_stream_facts facts = { 0, 0, 0, NULL };
    rrr_panel pn;
    int info = 0;
    rrr_status st = rrr_stream_open(ctx, rq->X, rq->Y, 0, &st_);
    for (size_t k = 0; st == RRR_OK && k < rrr_stream_count(st_); k++) {
        st = rrr_stream_next(st_, info == 0 ? RRR_OK : RRR_EINTERNAL, &pn);
        double t0 = rrr_phase_begin();
        for (size_t i0 = 0; st == RRR_OK && i0 < pn.m && info == 0; i0 += QR_ROWS) {
            int rows = (int)(pn.m - i0 < QR_ROWS ? pn.m - i0 : QR_ROWS);
            panel_rows(&pn, i0, rows, p, q, gr->xm, gr->ym, B, Yb);
            info = qr_stack(s, rows, 0, B, Yb, w);
            rrr_stream_poll(st_);
        }
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    }
    st = rrr_stream_close(&st_, st == RRR_OK && info != 0 ? RRR_EINTERNAL : st, &facts);
    if (st == RRR_OK && ctx->rank == 0 && gr->lambda > 0) { /* [sqrt(lambda) I, 0] */
        memset(B, 0, p * p * sizeof *B);
        memset(Yb, 0, p * q * sizeof *Yb);
        for (size_t j = 0; j < p; j++)
            B[j + j * p] = sqrt(gr->lambda);
        info = qr_stack(s, (int)p, 0, B, Yb, w);
        st = info == 0 ? RRR_OK : RRR_EINTERNAL;
    }
    if (st == RRR_EINTERNAL && info != 0)
        RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: dtpqrt/dtpmqrt: illegal argument %d", -info);
    return rrr_agree(ctx, st);
}

/* Collective. The ranks' factorizations into one, on every rank (reduced to rank 0, which
 * broadcasts it: every rank then holds the same bits). ws: p^2 + pq + QR_NB (2p + 1 + q). */
static rrr_status reduce_qr(rrr_ctx *ctx, size_t p, size_t q, double *mine, double *all,
                            double *ws)
{
    MPI_Datatype one;
    MPI_Op op;
    MPI_Type_contiguous((int)(p * p + p * q + 1), MPI_DOUBLE, &one);
    MPI_Type_commit(&one);
    MPI_Op_create(qr_op, 0, &op);
    qr_p = p;
    qr_q = q;
    qr_ws = ws;
    qr_failed = 0;
    int rc = MPI_Reduce(mine, all, 1, one, op, 0, ctx->comm);
    int bad = rc != MPI_SUCCESS || qr_failed;
    if (rc == MPI_SUCCESS)
        rc = MPI_Bcast(all, 1, one, 0, ctx->comm);
    MPI_Bcast(&bad, 1, MPI_INT, 0, ctx->comm);
    MPI_Op_free(&op);
    MPI_Type_free(&one);
    qr_ws = NULL;
    return rc == MPI_SUCCESS && !bad ? RRR_OK
                                     : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: the reduction "
                                                "of the ranks' QR factors failed");
}

/* Local. Rows of R (and T) with positive diagonals (R is unique up to their signs), then
 * R11 over gr->R, C = R11^T T over gr->C, T and rr into gr. */
static rrr_status take_qr(rrr_gram *gr, qr_state *s, rrr_err *e)
{
    const size_t p = gr->p, q = gr->q;
    for (size_t i = 0; i < p; i++)
        if (s->R[i + i * p] < 0) {
            for (size_t j = i; j < p; j++)
                s->R[i + j * p] = -s->R[i + j * p];
            for (size_t j = 0; j < q; j++)
                s->T[i + j * p] = -s->T[i + j * p];
        }
    /* a pivot at rounding level next to its column: a column X cannot carry (lambda = 0;
     * with lambda > 0 the sqrt(lambda) rows keep R11 nonsingular, and the QR is backward
     * stable however small lambda is next to X^T X). Not squared, as the Cholesky's test
     * must be: QR resolves cond(X) up to ~1/eps. */
    for (size_t j = 0; j < p; j++) {
        double c = 0;
        for (size_t i = 0; i <= j; i++)
            c += s->R[i + j * p] * s->R[i + j * p];
        const double tiny = gr->lambda > 0 ? 0 : (double)p * DBL_EPSILON * sqrt(c);
        if (!(s->R[j + j * p] > tiny) || !isfinite(c))
            return RRR_FAIL(e, RRR_ENUMERIC, "X^T X%s is singular to working precision (QR of "
                            "X: column %zu, 0-based, is a combination of the previous ones)%s",
                            gr->lambda > 0 ? " + lambda I" : "", j,
                            gr->lambda > 0 ? "" : ": use --lambda > 0");
    }
    double *T = rrr_malloc(p * q, sizeof *T);
    if (T == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "stats: out of memory (%zu x %zu)", p, q);
    double tt = 0;
    for (size_t k = 0; k < p * q; k++)
        tt += s->T[k] * s->T[k];
    memcpy(T, s->T, p * q * sizeof *T);
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            gr->R[i + j * p] = i <= j ? s->R[i + j * p] : 0;
    memcpy(gr->C, T, p * q * sizeof *T); /* C = R11^T T = Xc^T Yc */
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, (int)p, (int)q,
                1.0, gr->R, (int)p, gr->C, (int)p);
    free(gr->T);
    gr->T = T;
    gr->rr = *s->rr;
    gr->yy = *s->rr + tt;
    return RRR_OK;
}

size_t rrr_gram_qr_doubles(size_t p, size_t q)
{
    const size_t rows = QR_ROWS > p ? QR_ROWS : p, nb = QR_NB;
    return 3 * (p * p + p * q + 1) + rows * (p + q) + nb * (2 * p + 1 + q) + p * q;
}

int rrr_gram_qr_fits(const rrr_ctx *ctx, size_t p, size_t q)
{
    return 8.0 * (double)rrr_gram_qr_doubles(p, q) <= RRR_PLAN_STATS_FRACTION * ctx->mem_per_rank;
}

rrr_status rrr_gram_qr(rrr_ctx *ctx, const rrr_stats_req *rq, rrr_gram *gr)
{
    const size_t p = rq->p, q = rq->q, one = p * p + p * q + 1;
    const size_t rows = QR_ROWS > p ? QR_ROWS : p;
    /* mine | all | the operation's copies and workspace | B | Yb */
    double *buf = rrr_calloc(rrr_gram_qr_doubles(p, q) - p * q, sizeof *buf);
    rrr_status st = buf ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory for "
                                            "the QR of X (%zu x %zu and %zu x %zu)", p, p, p, q);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    double *ws = buf + 2 * one, *B = ws + one + (size_t)QR_NB * (2 * p + 1 + q);
    double *Yb = B + rows * p, *w = ws + p * p + p * q;
    qr_state mine = qr_at(buf, p, q), all = qr_at(buf + one, p, q);
    double t0 = rrr_phase_begin();
    st = local_qr(ctx, rq, gr, &mine, B, Yb, w);
    if (st == RRR_OK)
        st = reduce_qr(ctx, p, q, buf, buf + one, ws);
    if (st == RRR_OK)
        st = rrr_agree(ctx, take_qr(gr, &all, &ctx->err));
    if (st == RRR_OK) {
        gr->have_pilot = 0; /* the pilot's quadratic is replaced by the exact one above */
        double n = (double)rq->n, dp = (double)p, dq = (double)q;
        double dt = rrr_phase_begin() - t0;
        rrr_info(ctx, "stats: QR of X (and Q^T Y) over %zu rows in %.3f s (%.1f GFLOP/s per "
                 "rank): R, the whitened X^T Y and the residual without X^T X", rq->n, dt,
                 dt > 0 ? n * (2 * dp * dp + 4 * dp * dq) / ctx->size / dt * 1e-9 : 0.0);
    }
    free(buf);
    return st;
}

rrr_status rrr_gram_evaluate_qr(rrr_ctx *ctx, const rrr_gram *gr, int d, const double *U,
                                const double *V, double *f, double *gU, double *gV)
{
    rrr_status st = rrr_gram_objective(ctx, gr, d, U, V, f);
    if (st != RRR_OK || (gU == NULL && gV == NULL))
        return st;
    const size_t p = gr->p, q = gr->q, d1 = (size_t)d;
    const int pi = (int)p, qi = (int)q;
    double *E = rrr_malloc(p * q + p * d1, sizeof *E);
    if (E == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "evaluate: out of memory (%zu x %zu)", p, q);
    double *RU = E + p * q;
    memcpy(RU, U, p * d1 * sizeof *RU); /* E = T - (R11 U) V^T */
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, pi, d, 1.0,
                gr->R, pi, RU, pi);
    memcpy(E, gr->T, p * q * sizeof *E);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pi, qi, d, -1.0, RU, pi, V, qi, 1.0, E,
                pi);
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
