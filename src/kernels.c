/* src/kernels.c: the passes over my rows that gd iterations make (residual form: pass G and
 * pass B; cross-product form: the Gram pass) and the one-off X^T Y. Rows are taken in panels
 * of NB so each panel of X and Y is read from memory once and reused from cache by all the
 * skinny products on it (16-64 rows measured ~2x faster than whole-block calls or 128+
 * rows on a Zen 4 node with OpenBLAS 0.3.21). Everything is BLAS-3; nothing n-sized is formed except
 * the residual form's A = X U (nloc x d). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "linalg.h"

/* rows per panel: RRR_NB overrides the default 64 (for measurements) */
static int nb_rows(void)
{
    static int nb = 0;
    if (nb == 0) {
        const char *e = getenv("RRR_NB");
        nb = e ? atoi(e) : 64;
        if (nb < 1) nb = 64;
    }
    return nb;
}
#define NB ((size_t)nb_rows())
/* rows per panel of the one-off cross product X^T Y: a plain GEMM, so larger panels */
enum { CROSS_NB = 256 };

size_t rrr_pass_g_len(const rrr_problem *pb)
{
    size_t d = (size_t)pb->d;
    return pb->p * d + pb->q * d + d * d + 1;
}

size_t rrr_pass_b_len(const rrr_problem *pb)
{
    size_t d = (size_t)pb->d;
    return 2 * d * d + pb->q * d;
}

size_t rrr_pass_work(const rrr_problem *pb)
{
    size_t d = (size_t)pb->d;
    size_t cross = (pb->p + pb->q) * CROSS_NB;
    size_t pass = pb->q * NB + 2 * d * NB + 4 * d + pb->p * d;
    return cross > pass ? cross : pass;
}

/* Mt (d x m) = M^T for M (m x d): the skinny products below then run as NN GEMMs, which
 * OpenBLAS's small-matrix kernels do ~20% faster than TN at these shapes (measured). */
static void transpose(int m, int d, const double *M, double *Mt)
{
    for (int k = 0; k < d; k++)
        cblas_dcopy(m, M + (size_t)k * m, 1, Mt + k, d);
}

/* s[k] += sum over the nb columns of the k-th row of M (k x nb, ld k) */
static void row_sums(int k, int nb, const double *M, double *s)
{
    for (int j = 0; j < nb; j++)
        for (int i = 0; i < k; i++)
            s[i] += M[IDX(i, j, k)];
}

/* out (m x d, ld m) -= a b^T: the rank-one centring correction, applied once per pass */
static void minus_outer(int m, int d, const double *a, const double *b, double *out)
{
    cblas_dger(CblasColMajor, m, d, -1.0, a, 1, b, 1, out, m);
}

void rrr_pass_g(const rrr_problem *pb, const double *U, const double *V, double *At,
                double *out, double *work)
{
    const int p = (int)pb->p, q = (int)pb->q, d = pb->d;
    double *gU = out, *YtA = gU + (size_t)p * d, *AtA = YtA + (size_t)q * d;
    double *rss = AtA + (size_t)d * d;
    double *Rt = work, *Pt = Rt + (size_t)q * NB; /* R^T panel q x nb, (R V)^T panel d x nb */
    double *ux = Pt + (size_t)d * NB, *sP = ux + d, *sA = sP + d, *Ut = sA + d;
    memset(out, 0, rrr_pass_g_len(pb) * sizeof *out);
    transpose(p, d, U, Ut);
    memset(ux, 0, 3 * (size_t)d * sizeof *ux);
    if (pb->xm != NULL) /* ux = U^T xm: A_c = X U - 1 (U^T xm)^T */
        cblas_dgemv(CblasColMajor, CblasTrans, p, d, 1.0, U, p, pb->xm, 1, 0.0, ux, 1);

    for (size_t i0 = 0; i0 < pb->nloc; i0 += NB) {
        const int nb = (int)(pb->nloc - i0 < NB ? pb->nloc - i0 : NB);
        const double *Xb = pb->Xt + i0 * (size_t)p, *Yb = pb->Yt + i0 * (size_t)q;
        double *Ab = At + i0 * (size_t)d;
        /* A^T = U^T X^T - ux 1^T */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, nb, p, 1.0, Ut, d, Xb, p, 0.0,
                    Ab, d);
        if (pb->xm != NULL)
            for (int j = 0; j < nb; j++)
                cblas_daxpy(d, -1.0, ux, 1, Ab + (size_t)j * d, 1);
        /* R^T = V A^T - Yc^T, Yc^T = Y^T - ym 1^T */
        memcpy(Rt, Yb, (size_t)q * nb * sizeof *Rt);
        if (pb->ym != NULL)
            for (int j = 0; j < nb; j++)
                cblas_daxpy(q, -1.0, pb->ym, 1, Rt + (size_t)j * q, 1);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, nb, d, 1.0, V, q, Ab, d, -1.0,
                    Rt, q);
        *rss += cblas_ddot(q * nb, Rt, 1, Rt, 1);
        /* (R V)^T = V^T R^T;  X^T (R V) += X_b^T-panel times (R V)_b */
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, nb, q, 1.0, V, q, Rt, q, 0.0, Pt,
                    d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, d, nb, 1.0, Xb, p, Pt, d, 1.0, gU,
                    p);
        /* Y^T A and A^T A (upper) */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, q, d, nb, 1.0, Yb, q, Ab, d, 1.0, YtA,
                    q);
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, nb, 1.0, Ab, d, 1.0, AtA, d);
        if (pb->xm != NULL)
            row_sums(d, nb, Pt, sP);
        if (pb->ym != NULL)
            row_sums(d, nb, Ab, sA);
    }
    for (int j = 0; j < d; j++) /* mirror the upper triangle */
        for (int i = j + 1; i < d; i++)
            AtA[IDX(i, j, d)] = AtA[IDX(j, i, d)];
    if (pb->xm != NULL) /* Xc^T P = X^T P - xm (1^T P) */
        minus_outer(p, d, pb->xm, sP, gU);
    if (pb->ym != NULL) /* Yc^T A = Y^T A - ym (1^T A) */
        minus_outer(q, d, pb->ym, sA, YtA);
}

void rrr_pass_b(const rrr_problem *pb, const double *D, const double *At, double *out,
                double *work)
{
    const int p = (int)pb->p, q = (int)pb->q, d = pb->d;
    double *EtE = out, *AtE = EtE + (size_t)d * d, *YtE = AtE + (size_t)d * d;
    double *Et = work, *dx = Et + (size_t)d * NB, *sE = dx + d, *Dt = sE + d;
    memset(out, 0, rrr_pass_b_len(pb) * sizeof *out);
    transpose(p, d, D, Dt);
    memset(dx, 0, 2 * (size_t)d * sizeof *dx);
    if (pb->xm != NULL)
        cblas_dgemv(CblasColMajor, CblasTrans, p, d, 1.0, D, p, pb->xm, 1, 0.0, dx, 1);

    for (size_t i0 = 0; i0 < pb->nloc; i0 += NB) {
        const int nb = (int)(pb->nloc - i0 < NB ? pb->nloc - i0 : NB);
        const double *Xb = pb->Xt + i0 * (size_t)p;
        const double *Yb = pb->Yt + i0 * (size_t)q;
        const double *Ab = At + i0 * (size_t)d;
        /* E^T = D^T X^T - dx 1^T */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, nb, p, 1.0, Dt, d, Xb, p, 0.0, Et,
                    d);
        if (pb->xm != NULL)
            for (int j = 0; j < nb; j++)
                cblas_daxpy(d, -1.0, dx, 1, Et + (size_t)j * d, 1);
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, nb, 1.0, Et, d, 1.0, EtE, d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, d, d, nb, 1.0, Ab, d, Et, d, 1.0, AtE,
                    d);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, q, d, nb, 1.0, Yb, q, Et, d, 1.0, YtE,
                    q);
        if (pb->ym != NULL)
            row_sums(d, nb, Et, sE);
    }
    for (int j = 0; j < d; j++)
        for (int i = j + 1; i < d; i++)
            EtE[IDX(i, j, d)] = EtE[IDX(j, i, d)];
    if (pb->ym != NULL)
        minus_outer(q, d, pb->ym, sE, YtE);
}

void rrr_cross(const rrr_problem *pb, double *C, double *work)
{
    const int p = (int)pb->p, q = (int)pb->q;
    double *Xc = work, *Yc = work + pb->p * CROSS_NB;
    memset(C, 0, pb->p * pb->q * sizeof *C);
    for (size_t i0 = 0; i0 < pb->nloc; i0 += CROSS_NB) {
        const int nb = (int)(pb->nloc - i0 < CROSS_NB ? pb->nloc - i0 : CROSS_NB);
        const double *Xb = pb->Xt + i0 * (size_t)p, *Yb = pb->Yt + i0 * (size_t)q;
        if (pb->xm != NULL) { /* centre the panel: X^T Y - n xm ym^T would cancel */
            memcpy(Xc, Xb, (size_t)p * nb * sizeof *Xc);
            memcpy(Yc, Yb, (size_t)q * nb * sizeof *Yc);
            for (int j = 0; j < nb; j++) {
                cblas_daxpy(p, -1.0, pb->xm, 1, Xc + (size_t)j * p, 1);
                cblas_daxpy(q, -1.0, pb->ym, 1, Yc + (size_t)j * q, 1);
            }
            Xb = Xc;
            Yb = Yc;
        }
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, q, nb, 1.0, Xb, p, Yb, q, 1.0, C,
                    p);
    }
}

size_t rrr_pass_gram_work(const rrr_problem *pb, int k)
{
    return (size_t)k * NB + 2 * (size_t)k + pb->p * (size_t)k;
}

void rrr_pass_gram_k(const rrr_problem *pb, const double *M, int k, double *out, double *work)
{
    const int p = (int)pb->p;
    double *Et = work, *mx = Et + (size_t)k * NB, *sE = mx + k, *Mt = sE + k;
    memset(out, 0, (size_t)p * k * sizeof *out);
    memset(mx, 0, 2 * (size_t)k * sizeof *mx);
    transpose(p, k, M, Mt);
    if (pb->xm != NULL)
        cblas_dgemv(CblasColMajor, CblasTrans, p, k, 1.0, M, p, pb->xm, 1, 0.0, mx, 1);
    for (size_t i0 = 0; i0 < pb->nloc; i0 += NB) {
        const int nb = (int)(pb->nloc - i0 < NB ? pb->nloc - i0 : NB);
        const double *Xb = pb->Xt + i0 * (size_t)p;
        /* E^T = M^T X^T - mx 1^T on this panel, then Xc^T E += panel^T E while the panel
         * is still in cache: X is read from memory once */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, k, nb, p, 1.0, Mt, k, Xb, p, 0.0,
                    Et, k);
        if (pb->xm != NULL) {
            for (int j = 0; j < nb; j++)
                cblas_daxpy(k, -1.0, mx, 1, Et + (size_t)j * k, 1);
            row_sums(k, nb, Et, sE);
        }
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, k, nb, 1.0, Xb, p, Et, k, 1.0, out,
                    p);
    }
    if (pb->xm != NULL) /* Xc^T Ec = X^T Ec - xm (1^T Ec) */
        minus_outer(p, k, pb->xm, sE, out);
}

void rrr_pass_gram(const rrr_problem *pb, const double *M, double *out, double *work)
{
    rrr_pass_gram_k(pb, M, pb->d, out, work);
}
