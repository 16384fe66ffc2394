/* src/predict.c: predictions YHAT = X U V^T (+ intercept) for my rows, and their scores. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "comm.h"
#include "fnv.h"
#include "json.h"
#include "model.h"
#include "predict.h"
#include "scan.h"

/* Local. A checksum of what makes the model (a valid one: rrr_model_check). */
static uint64_t model_hash(const rrr_model *m)
{
    size_t head[4] = { m->p, m->q, (size_t)m->d, (size_t)m->intercept };
    uint64_t h = rrr_fnv1a(RRR_FNV_INIT, head, sizeof head);
    h = rrr_fnv1a(h, m->U, m->p * (size_t)m->d * sizeof *m->U);
    h = rrr_fnv1a(h, m->V, m->q * (size_t)m->d * sizeof *m->V);
    if (m->intercept) {
        h = rrr_fnv1a(h, m->x_mean, m->p * sizeof *m->x_mean);
        h = rrr_fnv1a(h, m->y_mean, m->q * sizeof *m->y_mean);
    }
    return h;
}

rrr_status rrr_predict(rrr_ctx *ctx, const rrr_model *m, const rrr_block *X, rrr_block **out)
{
    if (ctx == NULL || out == NULL)
        return RRR_EINVAL;
    *out = NULL;
    ctx->err = (rrr_err){ .st = RRR_OK }; /* a new call: rrr_ctx_errmsg reports its failure */
    rrr_status st0 = rrr_model_check(&ctx->err, m, "rrr_predict");
    if (st0 == RRR_OK && X == NULL)
        st0 = RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_predict: no X");
    st0 = rrr_agree(ctx, st0);
    /* one model on every rank: two would give rows of two different fits */
    if (st0 == RRR_OK)
        st0 = rrr_same_everywhere(ctx, model_hash(m), "models (U, V, the means, p, q, d)");
    if (st0 != RRR_OK)
        return st0;
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
    /* finite X and model, products beyond double's range: no file of Inf and NaN */
    double amax = 0;
    size_t bad = rrr_scan(Yh, X->nloc, m->q, NULL, NULL, &amax);
    if (bad < X->nloc * m->q)
        st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "predict: the prediction for row %zu (0-based), "
                      "output %zu is not finite: X U V^T leaves double's range there; rescale X "
                      "(the model's inputs were on another scale?)", X->r0 + bad / m->q,
                      bad % m->q);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto fail;
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

/* Collective. Per output j of q, with h_j = s[2q + j] the largest |y_ij - yhat_ij| and
 * |y_ij - mean_j| over all rows: s[j] = SSE_j / h_j^2 = sum_i ((y_ij - yhat_ij) / h_j)^2 and
 * s[q + j] = SST_j / h_j^2 (h_j = 0: both 0). Two passes: the column means first, then SST
 * about them (no sum-of-squares cancellation), with SSE in the same pass; the scaling keeps
 * the squares finite for any finite data (values of 1e155 overflowed them: mse inf, r2 nan,
 * exit 0). *out is new (3q doubles). */
static rrr_status score_sums(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat,
                             double **out)
{
    size_t q = Y->ncols;
    *out = NULL;
    if (Y->n != Yhat->n || Y->ncols != Yhat->ncols)
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "scores: Y is %zu x %zu but the "
                                       "predictions are %zu x %zu", Y->n, Y->ncols, Yhat->n,
                                       Yhat->ncols));
    if (Y->nloc != Yhat->nloc || Y->r0 != Yhat->r0)
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "scores: rank %d holds rows "
                                       "[%zu, %zu) of Y but [%zu, %zu) of the predictions: "
                                       "each rank must hold the same rows of both", ctx->rank,
                                       Y->r0, Y->r0 + Y->nloc, Yhat->r0, Yhat->r0 + Yhat->nloc));
    if (Y->n == 0 || q == 0) /* SSE / (n q) would be 0/0 */
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "scores: Y is %zu x %zu: no "
                                       "entries to score", Y->n, q));
    double *mean = rrr_calloc(q, sizeof *mean), *s = rrr_calloc(3 * q, sizeof *s);
    rrr_status st = mean && s ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto done;
    for (size_t i = 0; i < Y->nloc; i++)
        cblas_daxpy((int)q, 1.0, Y->a + i * q, 1, mean, 1);
    rrr_allreduce_sum(ctx, mean, q);
    for (size_t j = 0; j < q; j++)
        mean[j] /= (double)Y->n;
    double *h = s + 2 * q;
    for (size_t i = 0; i < Y->nloc; i++)
        for (size_t j = 0; j < q; j++) {
            double y = Y->a[i * q + j];
            h[j] = fmax(h[j], fmax(fabs(y - Yhat->a[i * q + j]), fabs(y - mean[j])));
        }
    MPI_Allreduce(MPI_IN_PLACE, h, (int)q, MPI_DOUBLE, MPI_MAX, ctx->comm);
    for (size_t i = 0; i < Y->nloc; i++)
        for (size_t j = 0; j < q; j++) {
            if (!(h[j] > 0))
                continue;
            double y = Y->a[i * q + j], r = (y - Yhat->a[i * q + j]) / h[j],
                   c = (y - mean[j]) / h[j];
            s[j] += r * r;
            s[q + j] += c * c;
        }
    rrr_allreduce_sum(ctx, s, 2 * q);
    *out = s;
    s = NULL;
done:
    free(mean);
    free(s);
    return st;
}

/* Local. The scores from the sums: overall and per output (rrr.h, rrr_score_outputs).
 * Returns the largest scale h_j. */
static double scores_from_sums(rrr_scores *sc, const double *s)
{
    size_t q = sc->q;
    const double *h = s + 2 * q;
    double sse = 0, sst = 0, r2sum = 0, g = 0; /* sse, sst: over g^2, g the largest h_j */
    for (size_t j = 0; j < q; j++)
        g = fmax(g, h[j]);
    for (size_t j = 0; j < q; j++) {
        /* scikit-learn's force_finite: a constant column scores 1 if predicted exactly */
        double r2 = s[q + j] > 0 ? 1.0 - s[j] / s[q + j] : s[j] == 0 ? 1.0 : 0.0;
        const double w = g > 0 ? (h[j] / g) * (h[j] / g) : 0.0;
        sc->mse_j[j] = h[j] * h[j] * (s[j] / (double)sc->n);
        sc->r2_j[j] = r2;
        r2sum += r2;
        sse += w * s[j];
        sst += w * s[q + j];
    }
    sc->mse = g * g * (sse / ((double)sc->n * (double)q));
    sc->r2 = sst > 0 ? 1.0 - sse / sst : sse == 0 ? 1.0 : 0.0; /* force_finite, as r2_j */
    sc->r2_mean = q > 0 ? r2sum / (double)q : (double)NAN;
    return g;
}

rrr_status rrr_scores_new(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat,
                          rrr_scores **out)
{
    double *s = NULL;
    *out = NULL;
    rrr_status st = score_sums(ctx, Y, Yhat, &s);
    if (st != RRR_OK)
        return st;
    rrr_scores *sc = calloc(1, sizeof *sc);
    if (sc != NULL) {
        sc->n = Y->n;
        sc->q = Y->ncols;
        sc->mse_j = rrr_malloc(sc->q, sizeof(double));
        sc->r2_j = rrr_malloc(sc->q, sizeof(double));
    }
    if (sc == NULL || sc->mse_j == NULL || sc->r2_j == NULL) {
        rrr_scores_destroy(&sc);
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    } else {
        const double g = scores_from_sums(sc, s);
        if (!isfinite(sc->mse)) /* replicated: the same verdict on every rank */
            st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "scores: the mean squared error overflows "
                          "double precision (the residuals or Y about its means reach %.3g): "
                          "scale Y to score it", g);
    }
    free(s);
    if (st != RRR_OK)
        rrr_scores_destroy(&sc);
    *out = sc;
    return rrr_agree(ctx, st);
}

void rrr_scores_destroy(rrr_scores **sc)
{
    if (sc == NULL || *sc == NULL)
        return;
    free((*sc)->mse_j);
    free((*sc)->r2_j);
    free(*sc);
    *sc = NULL;
}

rrr_status rrr_score(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat, double *mse,
                     double *r2)
{
    rrr_scores *sc = NULL;
    if (ctx == NULL || mse == NULL || r2 == NULL)
        return RRR_EINVAL;
    ctx->err = (rrr_err){ .st = RRR_OK };
    *mse = *r2 = NAN;
    if (Y == NULL || Yhat == NULL)
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_score: no Y or no Yhat"));
    rrr_status st = rrr_scores_new(ctx, Y, Yhat, &sc);
    if (st == RRR_OK) {
        *mse = sc->mse;
        *r2 = sc->r2;
    }
    rrr_scores_destroy(&sc);
    return st;
}

rrr_status rrr_score_outputs(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat,
                             double *mse_j, double *r2_j, double *r2_mean)
{
    rrr_scores *sc = NULL;
    if (ctx == NULL)
        return RRR_EINVAL;
    ctx->err = (rrr_err){ .st = RRR_OK };
    if (r2_mean != NULL)
        *r2_mean = NAN;
    if (Y == NULL || Yhat == NULL)
        return rrr_agree(ctx, RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_score_outputs: no Y or no "
                                       "Yhat"));
    rrr_status st = rrr_scores_new(ctx, Y, Yhat, &sc);
    if (st == RRR_OK) {
        if (mse_j != NULL)
            memcpy(mse_j, sc->mse_j, sc->q * sizeof *mse_j);
        if (r2_j != NULL)
            memcpy(r2_j, sc->r2_j, sc->q * sizeof *r2_j);
        if (r2_mean != NULL)
            *r2_mean = sc->r2_mean;
    }
    rrr_scores_destroy(&sc);
    return st;
}

/* Local (rank 0). The scores file's contents. */
static void scores_json(FILE *f, const rrr_scores *sc, const char *const src[3])
{
    static const char *const key[3] = { "model", "x", "y" };
    rrr_json j;
    rrr_json_begin(&j, f);
    rrr_json_str(&j, "format", "rrr-scores-1");
    for (int k = 0; k < 3; k++)
        rrr_json_str(&j, key[k], src[k]);
    rrr_json_int(&j, "n", (long long)sc->n);
    rrr_json_int(&j, "q", (long long)sc->q);
    rrr_json_num(&j, "mse", sc->mse);
    rrr_json_num(&j, "r2", sc->r2);
    rrr_json_num(&j, "r2_mean", sc->r2_mean);
    rrr_json_nums(&j, "mse_per_output", sc->mse_j, sc->q);
    rrr_json_nums(&j, "r2_per_output", sc->r2_j, sc->q);
    rrr_json_end(&j);
}

rrr_status rrr_scores_write(rrr_ctx *ctx, const rrr_scores *sc, const char *const src[3],
                            const char *path, rrr_outset *o)
{
    int slot = -1;
    rrr_status st = rrr_outset_add(ctx, o, path, &slot);
    if (st == RRR_OK && ctx->rank == 0) {
        FILE *f = rrr_outset_stream(ctx, o, slot);
        if (f != NULL)
            scores_json(f, sc, src);
        st = f == NULL ? RRR_EIO : rrr_outset_close_stream(ctx, o, slot, f);
    }
    return rrr_agree(ctx, st);
}
