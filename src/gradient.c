/* src/gradient.c: the gradient, in both of gd's forms, and the direct evaluation.
 *
 * Residual form (the definition): one pass G over my rows gives X^T R V, Y^T A, A^T A and
 * ||R||^2 with A = Xc U, R = A V^T - Yc; one allreduce; then
 *   f = ||R||^2 + lambda tr(U^T U V^T V)
 *   grad_U = 2 (Xc^T R V + lambda U V^T V),  grad_V = 2 (V A^T A - Yc^T A + lambda V U^T U).
 * Cross-product form (X^T Y kept): with C = Xc^T Yc and W = Xc^T Xc U,
 *   X^T R V = W V^T V - C V,  Y^T A = C^T U,  A^T A = U^T W,
 * so the gradient needs no pass; W is carried by the recurrence W' = W + a H of the step
 * (H = Xc^T Xc D from the Gram pass along D) and recomputed by a Gram pass every
 * RRR_GD_W_REFRESH iterations and whenever fresh sums are asked for. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gd.h"
#include "gradient.h"
#include "kernels.h"
#include "linalg.h"

void rrr_gradients(const rrr_problem *pb, const double *U, const double *V, const double *sums,
                   double *UtU, double *VtV, double *f, double *gU, double *gV)
{
    const int p = (int)pb->p, q = (int)pb->q, d = pb->d;
    const double *XtRV = sums, *YtA = XtRV + (size_t)p * d, *AtA = YtA + (size_t)q * d;
    const double rss = AtA[(size_t)d * d];
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, U, p, U, p, 0.0, UtU, d);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, q, 1.0, V, q, V, q, 0.0, VtV, d);
    double pen = 0; /* ||U V^T||_F^2 = tr(U^T U V^T V) = sum of the elementwise product */
    for (size_t k = 0; k < (size_t)d * d; k++)
        pen += UtU[k] * VtV[k];
    *f = rss + pb->lambda * pen;
    if (gU != NULL) {
        memcpy(gU, XtRV, (size_t)p * d * sizeof *gU);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, d, d, 2.0 * pb->lambda, U, p,
                    VtV, d, 2.0, gU, p);
    }
    if (gV != NULL) { /* gV = 2 (V A^T A - Yc^T A) + 2 lambda V U^T U */
        memcpy(gV, YtA, (size_t)q * d * sizeof *gV);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, d, d, 2.0, V, q, AtA, d, -2.0,
                    gV, q);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, d, d, 2.0 * pb->lambda, V, q,
                    UtU, d, 1.0, gV, q);
    }
}

rrr_status rrr_evaluate(rrr_ctx *ctx, const rrr_problem *pb, const double *U, const double *V,
                        double *f, double *gU, double *gV)
{
    size_t d = (size_t)pb->d, len = rrr_pass_g_len(pb);
    double *At = rrr_malloc(pb->nloc * d, sizeof *At);
    double *work = rrr_malloc(rrr_pass_work(pb), sizeof *work);
    double *sums = rrr_malloc(len, sizeof *sums);
    double *UtU = rrr_malloc(d * d, sizeof *UtU), *VtV = rrr_malloc(d * d, sizeof *VtV);
    rrr_status st = RRR_OK;
    if (!At || !work || !sums || !UtU || !VtV)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "evaluate: out of memory for %zu rows", pb->nloc);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        double t0 = rrr_phase_begin();
        rrr_pass_g(pb, U, V, At, sums, work);
        rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
        rrr_allreduce_sum(ctx, sums, len);
        rrr_gradients(pb, U, V, sums, UtU, VtV, f, gU, gV);
    }
    free(At);
    free(work);
    free(sums);
    free(UtU);
    free(VtV);
    return st;
}

/* ---- gd's residual form ------------------------------------------------------------ */

static rrr_status residual_gradient(rrr_gd_ws *w, int fresh, rrr_status *lst, rrr_flags *fl,
                                    int *was_fresh)
{
    const rrr_problem *pb = w->pb;
    const size_t lg = rrr_pass_g_len(pb);
    (void)fresh;
    double t0 = rrr_phase_begin();
    rrr_pass_g(pb, w->U, w->V, w->At, w->sg, w->work);
    rrr_flags_put(w->sg + lg, *lst);
    rrr_phase_end(w->ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(w->ctx, w->sg, lg + RRR_FLAG_SLOTS);
    *fl = rrr_flags_get(w->sg + lg);
    *was_fresh = 1;
    if (fl->fail)
        return RRR_OK;
    w->w_valid = 0;
    t0 = rrr_phase_begin();
    rrr_gradients(pb, w->U, w->V, w->sg, w->UtU, w->VtV, &w->f, w->gU, w->gV);
    rrr_phase_end(w->ctx, RRR_T_SOLVE, t0);
    return RRR_OK;
}

static rrr_status residual_along(rrr_gd_ws *w, rrr_status *lst, rrr_flags *fl)
{
    const size_t lb = rrr_pass_b_len(w->pb);
    double t0 = rrr_phase_begin();
    rrr_pass_b(w->pb, w->D, w->At, w->sb, w->work);
    rrr_flags_put(w->sb + lb, *lst);
    rrr_phase_end(w->ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(w->ctx, w->sb, lb + RRR_FLAG_SLOTS);
    *fl = rrr_flags_get(w->sb + lb);
    w->ete = w->sb; /* pass B's sums begin with E^T E */
    return RRR_OK;
}

/* A'^T A' = A^T A + a (A^T E + E^T A) + a^2 E^T E and Y^T A' = Y^T A + a Y^T E, from the
 * sums of pass G (at U) and pass B (along D). */
static void residual_update(rrr_gd_ws *w, double a)
{
    const rrr_problem *pb = w->pb;
    const int d = pb->d;
    const size_t pd = pb->p * (size_t)d, qd = pb->q * (size_t)d, dd = (size_t)d * d;
    const double *AtA = w->sg + pd + qd, *EtE = w->sb, *AtE = EtE + dd;
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++)
            w->AtA[IDX(i, j, d)] = AtA[IDX(i, j, d)] +
                                   a * (AtE[IDX(i, j, d)] + AtE[IDX(j, i, d)]) +
                                   a * a * EtE[IDX(i, j, d)];
    memcpy(w->CtU, w->sg + pd, qd * sizeof *w->CtU);
    cblas_daxpy((int)qd, a, w->sb + 2 * dd, 1, w->CtU, 1);
}

const rrr_gd_form rrr_gd_residual = { "residual", residual_gradient, residual_along,
                                      residual_update };

/* ---- gd's cross-product form ------------------------------------------------------- */

/* Local. AtA = A^T A = U^T W, symmetrised (W = Xc^T Xc U up to rounding). */
static void gram_ata(int p, int d, const double *U, const double *W, double *AtA)
{
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, U, p, W, p, 0.0, AtA, d);
    for (int j = 0; j < d; j++)
        for (int i = j + 1; i < d; i++)
            AtA[IDX(i, j, d)] = AtA[IDX(j, i, d)] = 0.5 * (AtA[IDX(i, j, d)] + AtA[IDX(j, i, d)]);
}

/* Local. My share of the products with C (p x q, replicated) that every rank would
 * otherwise repeat, 4 p q d flops an iteration: the columns [j0, j1) of C give those rows
 * of C^T M (into ctu: q x d, zero elsewhere) and, with V, the part C[:, j0:j1] V[j0:j1, :]
 * of C V (into cv: p x d), for the allreduce that follows to sum. */
static void cross_share(rrr_gd_ws *w, const double *M, const double *V, double *ctu, double *cv)
{
    const size_t p = w->pb->p, q = w->pb->q;
    const int d = w->pb->d;
    memset(ctu, 0, q * (size_t)d * sizeof *ctu);
    rrr_cross_products(p, q, w->j0, w->j1, d, w->C, M, V, ctu, cv, w->work);
}

/* Local. The cross-product form of the gradients, from cv = C V and ctu = C^T U:
 *   grad_U = 2 (W V^T V - C V + lambda U V^T V),  grad_V = 2 (V A^T A - C^T U + lambda V U^T U)
 *   f = yy - 2 <C^T U, V> + <A^T A, V^T V> + lambda <U^T U, V^T V>
 * (f by this identity carries an absolute error of a few eps yy, which is why the
 * residual form takes over near an exact fit; the reported f comes from a direct pass
 * anyway). Also leaves AtA = U^T W and CtU = C^T U (q x d), the Y^T A of the residual form. */
static void gradients_cross(rrr_gd_ws *w, const double *cv, const double *ctu)
{
    const rrr_problem *pb = w->pb;
    const int p = (int)pb->p, q = (int)pb->q, d = pb->d;
    const double *U = w->U, *V = w->V, *W = w->W;
    double *gU = w->gU, *gV = w->gV, *UtU = w->UtU, *VtV = w->VtV, *CtU = w->CtU;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, U, p, U, p, 0.0, UtU, d);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, q, 1.0, V, q, V, q, 0.0, VtV, d);
    memcpy(CtU, ctu, (size_t)q * d * sizeof *CtU);
    gram_ata(p, d, U, W, w->AtA);
    /* gU = 2 W VtV - 2 C V + 2 lambda U VtV */
    for (size_t k = 0; k < (size_t)p * d; k++)
        gU[k] = -2.0 * cv[k];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, d, d, 2.0, W, p, VtV, d, 1.0, gU, p);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p, d, d, 2.0 * pb->lambda, U, p, VtV, d,
                1.0, gU, p);
    /* gV = 2 V A^T A - 2 C^T U + 2 lambda V UtU */
    memcpy(gV, CtU, (size_t)q * d * sizeof *gV);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, d, d, 2.0, V, q, w->AtA, d, -2.0,
                gV, q);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, d, d, 2.0 * pb->lambda, V, q, UtU, d,
                1.0, gV, q);
    w->f = pb->yy - 2.0 * rrr_dot((size_t)q * d, CtU, V) + rrr_dot((size_t)d * d, w->AtA, VtV) +
           pb->lambda * rrr_dot((size_t)d * d, UtU, VtV);
}

/* One allreduce sums W (a Gram pass, when fresh), C V and C^T U (the shares) and the flags. */
static rrr_status cross_gradient(rrr_gd_ws *w, int fresh, rrr_status *lst, rrr_flags *fl,
                                 int *was_fresh)
{
    const size_t pd = w->pb->p * (size_t)w->pb->d, qd = w->pb->q * (size_t)w->pb->d;
    /* a Gram pass refreshes W (p d sums), or W comes from the recurrence */
    fresh = fresh || !w->w_valid;
    const size_t lg = fresh ? pd : 0;
    double *cv = w->sg + lg, *ctu = cv + pd;
    double t0 = rrr_phase_begin();
    if (fresh)
        rrr_pass_gram_tuned(w->pb, w->U, w->sg, w->work, &w->tune);
    cross_share(w, w->U, w->V, ctu, cv);
    rrr_flags_put(ctu + qd, *lst);
    rrr_phase_end(w->ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(w->ctx, w->sg, lg + pd + qd + RRR_FLAG_SLOTS);
    *fl = rrr_flags_get(ctu + qd);
    *was_fresh = fresh;
    if (fl->fail)
        return RRR_OK;
    w->w_valid = 1;
    if (fresh)
        memcpy(w->W, w->sg, pd * sizeof *w->W);
    t0 = rrr_phase_begin();
    gradients_cross(w, cv, ctu);
    rrr_phase_end(w->ctx, RRR_T_SOLVE, t0);
    return RRR_OK;
}

/* The Gram pass along D: H = Xc^T Xc D (p d sums, in sb), with C^T D (the shares, after H)
 * for the update; then E^T E = D^T H. */
static rrr_status cross_along(rrr_gd_ws *w, rrr_status *lst, rrr_flags *fl)
{
    const int p = (int)w->pb->p, d = w->pb->d;
    const size_t pd = (size_t)p * d, qd = w->pb->q * (size_t)d;
    double t0 = rrr_phase_begin();
    rrr_pass_gram_tuned(w->pb, w->D, w->sb, w->work, &w->tune);
    cross_share(w, w->D, NULL, w->sb + pd, NULL);
    rrr_flags_put(w->sb + pd + qd, *lst);
    rrr_phase_end(w->ctx, RRR_T_COMPUTE, t0);
    rrr_allreduce_sum(w->ctx, w->sb, pd + qd + RRR_FLAG_SLOTS);
    *fl = rrr_flags_get(w->sb + pd + qd);
    if (fl->fail)
        return RRR_OK;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, p, 1.0, w->D, p, w->sb, p, 0.0,
                w->EtE, d);
    w->ete = w->EtE;
    return RRR_OK;
}

/* W' = W + a H and C^T U' = C^T U + a C^T D follow U' = U + a D; then A'^T A' = U'^T W'. */
static void cross_update(rrr_gd_ws *w, double a)
{
    const int p = (int)w->pb->p, q = (int)w->pb->q, d = w->pb->d;
    cblas_daxpy(p * d, a, w->sb, 1, w->W, 1);
    gram_ata(p, d, w->U, w->W, w->AtA);
    cblas_daxpy(q * d, a, w->sb + (size_t)p * d, 1, w->CtU, 1);
}

const rrr_gd_form rrr_gd_cross = { "cross-product", cross_gradient, cross_along, cross_update };
