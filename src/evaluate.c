/* src/evaluate.c: f(U, V) and its gradients from one pass over the data and one allreduce:
 *   f = ||R||_F^2 + lambda tr(U^T U V^T V),  R = Xc U V^T - Yc
 *   grad_U = 2 (Xc^T R V + lambda U V^T V),  grad_V = 2 (V A^T A - Yc^T A + lambda V U^T U),
 * where A = Xc U and R^T A = V A^T A - Yc^T A. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
        double t0 = MPI_Wtime();
        rrr_pass_g(pb, U, V, At, sums, work);
        ctx->t[RRR_T_COMPUTE] += MPI_Wtime() - t0;
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
