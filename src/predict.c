/* src/predict.c: predictions YHAT = X U V^T (+ intercept) for my rows, and their scores. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "comm.h"

rrr_status rrr_predict(rrr_ctx *ctx, const rrr_model *m, const rrr_block *X, rrr_block **out)
{
    *out = NULL;
    if (X->ncols != m->p)
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "X has %zu columns but the model "
                                       "has p = %zu", X->ncols, m->p));
    size_t cells;
    /* sizes from files: int counts for the BLAS, and my rows times q or d must not wrap */
    int fits = m->p <= (size_t)INT_MAX && m->q <= (size_t)INT_MAX && X->nloc <= (size_t)INT_MAX &&
               rrr_size_mul(X->nloc, m->q, &cells) && rrr_size_mul(X->nloc, (size_t)m->d, &cells);
    rrr_status st = fits ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINVAL, "predict: %zu rows, p = %zu, "
                                             "q = %zu: too large for 32-bit BLAS counts",
                                             X->nloc, m->p, m->q);
    st = rrr_agree(ctx, st); /* my rows: a local finding */
    if (st != RRR_OK)
        return st;
    const int p = (int)m->p, q = (int)m->q, d = m->d, nloc = (int)X->nloc;
    rrr_block *B = calloc(1, sizeof *B);
    double *Tt = rrr_malloc(X->nloc * (size_t)d, sizeof *Tt);
    double *Yh = rrr_malloc(X->nloc * m->q, sizeof *Yh);
    double *c = rrr_malloc((size_t)q, sizeof *c);
    double *u = rrr_malloc((size_t)d, sizeof *u);
    if (!B || !Tt || !Yh || !c || !u)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "predict: out of memory for %zu rows", X->nloc);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto fail;
    double t0 = rrr_phase_begin();
    /* YHAT^T = V (U^T X^T) + (ym - V U^T xm) 1^T */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, nloc, p, 1.0, m->U, p, X->a, p, 0.0,
                Tt, d);
    if (m->intercept) {
        cblas_dgemv(CblasColMajor, CblasTrans, p, d, 1.0, m->U, p, m->x_mean, 1, 0.0, u, 1);
        memcpy(c, m->y_mean, (size_t)q * sizeof *c);
        cblas_dgemv(CblasColMajor, CblasNoTrans, q, d, -1.0, m->V, q, u, 1, 1.0, c, 1);
    } else {
        memset(c, 0, (size_t)q * sizeof *c);
    }
    for (size_t j = 0; j < X->nloc; j++)
        memcpy(Yh + j * m->q, c, (size_t)q * sizeof *c);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, nloc, d, 1.0, m->V, q, Tt, d, 1.0,
                Yh, q);
    rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    *B = (rrr_block){ .n = X->n, .ncols = m->q, .r0 = X->r0, .nloc = X->nloc, .a = Yh,
                      .owns = 1 };
    free(Tt);
    free(c);
    free(u);
    *out = B;
    return RRR_OK;
fail:
    free(B);
    free(Tt);
    free(Yh);
    free(c);
    free(u);
    return st;
}

rrr_status rrr_score(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat, double *mse,
                     double *r2)
{
    size_t q = Y->ncols;
    *mse = *r2 = NAN;
    if (Y->n != Yhat->n || Y->ncols != Yhat->ncols || Y->nloc != Yhat->nloc)
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "scores: Y is %zu x %zu but the "
                                       "predictions are %zu x %zu", Y->n, Y->ncols, Yhat->n,
                                       Yhat->ncols));
    if (Y->n == 0 || q == 0) /* SSE / (n q) would be 0/0 */
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "scores: Y is %zu x %zu: no "
                                       "entries to score", Y->n, q));
    double *s = rrr_calloc(q + 2, sizeof *s); /* column sums | SSE | SST */
    rrr_status st = s ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        return st;
    /* Two passes: the column means first, then SST about them (no sum-of-squares
     * cancellation), with SSE in the same pass. */
    for (size_t i = 0; i < Y->nloc; i++)
        cblas_daxpy((int)q, 1.0, Y->a + i * q, 1, s, 1);
    rrr_allreduce_sum(ctx, s, q);
    double n = (double)Y->n;
    for (size_t j = 0; j < q; j++)
        s[j] /= n;
    for (size_t i = 0; i < Y->nloc; i++)
        for (size_t j = 0; j < q; j++) {
            double y = Y->a[i * q + j], r = y - Yhat->a[i * q + j], c = y - s[j];
            s[q] += r * r;
            s[q + 1] += c * c;
        }
    rrr_allreduce_sum(ctx, s + q, 2);
    *mse = s[q] / (n * (double)q);
    *r2 = s[q + 1] > 0 ? 1.0 - s[q] / s[q + 1] : (double)NAN;
    free(s);
    return RRR_OK;
}
