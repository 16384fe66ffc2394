/* src/model.c: the model directory (U.npy, V.npy, model.json, means) and prediction. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_env.h"
#include "internal.h"

/* Local. Column-major rows x cols -> row-major (the C order of .npy). */
static double *to_row_major(const double *a, size_t rows, size_t cols)
{
    double *t = rrr_malloc(rows * cols, sizeof *t);
    if (t != NULL)
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                t[i * cols + j] = a[IDX(i, j, rows)];
    return t;
}

void rrr_model_json_fields(rrr_json *j, const rrr_model *m)
{
    rrr_json_int(j, "rank", m->d);
    rrr_json_num(j, "lambda", m->lambda);
    rrr_json_str(j, "solver", rrr_solver_name(m->solver));
    rrr_json_str(j, "solver_requested", rrr_solver_name(m->solver_requested));
    if (m->solver_why[0])
        rrr_json_str(j, "solver_why", m->solver_why);
    rrr_json_num(j, "objective", m->objective);
    rrr_json_num(j, "gradient_norm", m->gradient_norm);
    rrr_json_num(j, "gradient_norm_initial", m->gradient_norm_initial);
    rrr_json_int(j, "iterations", m->iterations);
    rrr_json_bool(j, "converged", m->converged);
    rrr_json_str(j, "stop_reason", m->stop_reason);
    rrr_json_num(j, "optimal_objective", m->fstar); /* null when not computed */
    rrr_json_num(j, "optimality_gap", rrr_model_gap(m));
    rrr_json_int(j, "n", (long long)m->n);
    rrr_json_int(j, "p", (long long)m->p);
    rrr_json_int(j, "q", (long long)m->q);
    rrr_json_bool(j, "intercept", m->intercept);
    rrr_json_int(j, "ranks", m->ranks);
    rrr_json_int(j, "threads_per_rank", rrr_blas_threads());
    rrr_json_str(j, "blas_core", rrr_blas_corename());
}

static void write_json(const rrr_model *m, FILE *f)
{
    rrr_json j;
    rrr_json_begin(&j, f);
    rrr_json_str(&j, "format", "rrr-model-1");
    rrr_model_json_fields(&j, m);
    rrr_json_end(&j);
}

/* Collective. Rank 0 writes model.json to path. */
static rrr_status write_json_file(rrr_ctx *ctx, const rrr_model *m, const char *path)
{
    rrr_status st = RRR_OK;
    if (ctx->rank == 0) {
        FILE *f = fopen(path, "w");
        if (f == NULL) {
            st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot create: %s", path, strerror(errno));
        } else {
            write_json(m, f);
            if (ferror(f) | (fclose(f) != 0))
                st = RRR_FAIL(&ctx->err, RRR_EIO, "%s: write failed", path);
        }
    }
    return rrr_agree(ctx, st);
}

rrr_status rrr_model_write(rrr_ctx *ctx, const rrr_model *m, const char *dir)
{
    static const char *names[5] = { "U.npy", "V.npy", "model.json", "x_mean.npy", "y_mean.npy" };
    int nfiles = m->intercept ? 5 : 3;
    const char *tmp[5] = { NULL };
    char path[PATH_MAX];
    rrr_outset o;
    double *Ur = to_row_major(m->U, m->p, (size_t)m->d);
    double *Vr = to_row_major(m->V, m->q, (size_t)m->d);
    rrr_status st = (Ur && Vr) ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    rrr_outset_init(ctx, &o);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_mkdir(ctx, dir, "--out");
    if (st != RRR_OK)
        goto done;
    for (int k = 0; k < nfiles; k++) {
        int len = snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        tmp[k] = (len > 0 && (size_t)len < sizeof path) ? rrr_outset_add(&o, path) : NULL;
        if (tmp[k] == NULL) {
            st = RRR_FAIL(&ctx->err, RRR_EIO, "--out %s: path too long", dir);
            goto done; /* depends only on dir: the same on every rank */
        }
    }
    st = rrr_npy_write_small(ctx, tmp[0], m->p, (size_t)m->d, Ur);
    if (st == RRR_OK)
        st = rrr_npy_write_small(ctx, tmp[1], m->q, (size_t)m->d, Vr);
    if (st == RRR_OK)
        st = write_json_file(ctx, m, tmp[2]);
    if (st == RRR_OK && m->intercept)
        st = rrr_npy_write_small(ctx, tmp[3], 1, m->p, m->x_mean);
    if (st == RRR_OK && m->intercept)
        st = rrr_npy_write_small(ctx, tmp[4], 1, m->q, m->y_mean);
done:
    st = rrr_outset_finish(ctx, &o, st);
    if (st == RRR_OK && !m->intercept && ctx->rank == 0) {
        /* means left by an earlier fit with --intercept must not be applied to this one */
        for (int k = 3; k < 5; k++) {
            snprintf(path, sizeof path, "%s/%s", dir, names[k]);
            unlink(path);
        }
    }
    free(Ur);
    free(Vr);
    return st;
}

/* Local (rank 0). Whether model.json says "intercept": true. */
static rrr_status json_intercept(rrr_ctx *ctx, const char *path, int *intercept)
{
    char buf[8192];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return RRR_FAIL(&ctx->err, RRR_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    if (strstr(buf, "\"rrr-model-1\"") == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: not an rrr model file", path);
    *intercept = strstr(buf, "\"intercept\": true") != NULL;
    return RRR_OK;
}

/* Local. Row-major rows x cols -> column-major, in a new array (frees a). */
static double *to_col_major(double *a, size_t rows, size_t cols)
{
    double *t = rrr_malloc(rows * cols, sizeof *t);
    if (t != NULL)
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                t[IDX(i, j, rows)] = a[i * cols + j];
    free(a);
    return t;
}

rrr_status rrr_model_read(rrr_ctx *ctx, const char *dir, rrr_model **out)
{
    char path[PATH_MAX];
    int intercept = 0;
    size_t r, c, r2, c2;
    rrr_status st = RRR_OK;
    rrr_model *m = calloc(1, sizeof *m);
    *out = NULL;
    if (m == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    if (st == RRR_OK && ctx->rank == 0) {
        snprintf(path, sizeof path, "%s/model.json", dir);
        st = json_intercept(ctx, path, &intercept);
    }
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto done;
    MPI_Bcast(&intercept, 1, MPI_INT, 0, ctx->comm);
    snprintf(path, sizeof path, "%s/U.npy", dir);
    st = rrr_npy_read_small(ctx, path, &m->p, &c, &m->U);
    if (st == RRR_OK) {
        snprintf(path, sizeof path, "%s/V.npy", dir);
        st = rrr_npy_read_small(ctx, path, &m->q, &c2, &m->V);
    }
    if (st == RRR_OK && (c != c2 || c == 0 || c > (size_t)INT_MAX))
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: U.npy has %zu columns, V.npy %zu", dir, c, c2);
    if (st != RRR_OK)
        goto done;
    m->d = (int)c;
    m->U = to_col_major(m->U, m->p, c);
    m->V = to_col_major(m->V, m->q, c);
    if (m->U == NULL || m->V == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    m->intercept = intercept;
    st = rrr_agree(ctx, st); /* the collective reads below must be entered by all or none */
    if (st == RRR_OK && intercept) {
        snprintf(path, sizeof path, "%s/x_mean.npy", dir);
        st = rrr_npy_read_small(ctx, path, &r, &c, &m->x_mean);
        if (st == RRR_OK && (r != 1 || c != m->p))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: shape %zu x %zu, expected 1 x %zu", path, r, c, m->p);
        if (st == RRR_OK) {
            snprintf(path, sizeof path, "%s/y_mean.npy", dir);
            st = rrr_npy_read_small(ctx, path, &r2, &c2, &m->y_mean);
        }
        if (st == RRR_OK && (r2 != 1 || c2 != m->q))
            st = RRR_FAIL(&ctx->err, RRR_EINVAL, "%s: shape %zu x %zu, expected 1 x %zu", path, r2, c2, m->q);
    }
done:
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        rrr_model_destroy(&m);
    *out = m;
    return st;
}

rrr_status rrr_predict(rrr_ctx *ctx, const rrr_model *m, const rrr_block *X, rrr_block **out)
{
    const int p = (int)m->p, q = (int)m->q, d = m->d, nloc = (int)X->nloc;
    rrr_block *B = calloc(1, sizeof *B);
    double *Tt = rrr_malloc(X->nloc * (size_t)d, sizeof *Tt);
    double *Yh = rrr_malloc(X->nloc * m->q, sizeof *Yh);
    double *c = rrr_malloc((size_t)q, sizeof *c);
    rrr_status st = RRR_OK;
    if (!B || !Tt || !Yh || !c || X->nloc > (size_t)INT_MAX)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "predict: out of memory for %zu rows", X->nloc);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto fail;
    double t0 = MPI_Wtime();
    /* YHAT^T = V (U^T X^T) + (ym - V U^T xm) 1^T */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, nloc, p, 1.0, m->U, p, X->a, p, 0.0,
                Tt, d);
    if (m->intercept) {
        double *u = rrr_malloc((size_t)d, sizeof *u);
        if (u == NULL) {
            st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
        } else {
            cblas_dgemv(CblasColMajor, CblasTrans, p, d, 1.0, m->U, p, m->x_mean, 1, 0.0, u, 1);
            memcpy(c, m->y_mean, (size_t)q * sizeof *c);
            cblas_dgemv(CblasColMajor, CblasNoTrans, q, d, -1.0, m->V, q, u, 1, 1.0, c, 1);
            free(u);
        }
    } else {
        memset(c, 0, (size_t)q * sizeof *c);
    }
    for (size_t j = 0; j < X->nloc; j++)
        memcpy(Yh + j * m->q, c, (size_t)q * sizeof *c);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, nloc, d, 1.0, m->V, q, Tt, d, 1.0,
                Yh, q);
    ctx->t[RRR_T_COMPUTE] += MPI_Wtime() - t0;
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        goto fail;
    *B = (rrr_block){ .n = X->n, .ncols = m->q, .r0 = X->r0, .nloc = X->nloc, .a = Yh };
    free(Tt);
    free(c);
    *out = B;
    return RRR_OK;
fail:
    free(B);
    free(Tt);
    free(Yh);
    free(c);
    *out = NULL;
    return st;
}

rrr_status rrr_score(rrr_ctx *ctx, const rrr_block *Y, const rrr_block *Yhat, double *mse,
                      double *r2)
{
    size_t q = Y->ncols;
    double *s = rrr_calloc(q + 2, sizeof *s); /* column sums | SSE | SST */
    rrr_status st = s ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    *mse = *r2 = NAN;
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
