/* src/stats.c: one pass over my rows gives X^T X, X^T Y, ||Y||^2 (replicated, or on a 2-D
 * BLACS grid); G + lambda I is factored once; products with C, R and (G + lambda I)^{-1}.
 *
 * Centring (--intercept). The statistics are of Xc = X - 1 xm^T and Yc = Y - 1 ym^T. We
 * centre a block of rows at a time into a small buffer (replicated regime: RB rows;
 * grid regime: the panel just redistributed) and run dsyrk/dgemm on the buffer. The
 * alternative XᵀX - n xm xmᵀ cancels catastrophically when |mean| >> spread (a column with
 * mean 1e4 and unit variance loses 8 digits of G), while the copy costs O(n (p + q)) next
 * to the O(n p^2) product, so centring the data is both exact and nearly free. */
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

/* ---- the statistics pass ------------------------------------------------------------ */

double rrr_local_yy(const rrr_problem *pb)
{
    double s = 0.0;
    for (size_t r = 0; r < pb->nloc; r++) {
        const double *y = pb->Yt + IDX(0, r, pb->q);
        double t = 0.0;
        for (size_t j = 0; j < pb->q; j++) {
            double v = y[j] - (pb->ym != NULL ? pb->ym[j] : 0.0);
            t += v * v;
        }
        s += t;
    }
    return s;
}

/* Local. G (upper, ld p) += Xc^T Xc, C (ld p) += Xc^T Yc over my rows; G, C zeroed first. */
static rrr_status local_products(rrr_ctx *ctx, const rrr_problem *pb, double *G, double *C)
{
    const int p = (int)pb->p, q = (int)pb->q;
    for (size_t j = 0; j < pb->p; j++)
        memset(G + IDX(0, j, pb->p), 0, pb->p * sizeof(double));
    memset(C, 0, pb->p * pb->q * sizeof(double));
    if (pb->nloc == 0)
        return RRR_OK;
    if (pb->xm == NULL) {
        /* one BLAS-3 call each over all my rows: Xt is p x nloc, ld p (no copy) */
        int k = (int)pb->nloc;
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, p, k, 1.0, pb->Xt, p, 0.0, G, p);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, q, k, 1.0, pb->Xt, p, pb->Yt,
                    q, 0.0, C, p);
        return RRR_OK;
    }
    /* RB rows at a time, centred into buffers of (p + q) RB doubles (<= 16 MB; >= 16 rows
     * so each call is still a rank-16+ update running near the BLAS-3 rate). */
    size_t rb = ((size_t)1 << 21) / (pb->p + pb->q);
    rb = rb < 16 ? 16 : rb > 512 ? 512 : rb;
    double *xb = rrr_malloc(rb * pb->p, sizeof(double));
    double *yb = rrr_malloc(rb * pb->q, sizeof(double));
    if (xb == NULL || yb == NULL) {
        free(xb);
        free(yb);
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory for centring buffers");
    }
    for (size_t r0 = 0; r0 < pb->nloc; r0 += rb) {
        size_t nr = pb->nloc - r0 < rb ? pb->nloc - r0 : rb;
        for (size_t r = 0; r < nr; r++) {
            const double *x = pb->Xt + IDX(0, r0 + r, pb->p);
            const double *y = pb->Yt + IDX(0, r0 + r, pb->q);
            for (size_t i = 0; i < pb->p; i++)
                xb[IDX(i, r, pb->p)] = x[i] - pb->xm[i];
            for (size_t j = 0; j < pb->q; j++)
                yb[IDX(j, r, pb->q)] = y[j] - pb->ym[j];
        }
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, p, (int)nr, 1.0, xb, p, 1.0, G, p);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, q, (int)nr, 1.0, xb, p, yb, q,
                    1.0, C, p);
    }
    free(xb);
    free(yb);
    return RRR_OK;
}

/* Collective. Replicated regime: buf = [G (p x p) | C (p x q) | yy]. The upper triangle of
 * G is packed in place to the front and C, yy moved behind it, so one allreduce of
 * p(p+1)/2 + pq + 1 doubles combines everything; then unpacked in place. */
static rrr_status stats_replicated(rrr_ctx *ctx, const rrr_problem *pb, rrr_gram *gr)
{
    rrr_status st = RRR_OK;
    const size_t p = pb->p, q = pb->q, npk = p * (p + 1) / 2;
    double *buf = rrr_malloc(p * p + p * q + 1, sizeof(double));
    if (buf == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL,
                      "stats: out of memory for X^T X and X^T Y (%zu x %zu, %zu x %zu)", p, p,
                      p, q);
    double t0 = rrr_phase_begin();
    if (st == RRR_OK)
        st = local_products(ctx, pb, buf, buf + p * p);
    if (st == RRR_OK)
        buf[p * p + p * q] = rrr_local_yy(pb);
    rrr_phase_end(ctx, RRR_T_COMPUTE, t0);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(buf);
        return st;
    }
    for (size_t j = 0; j < p; j++) /* destination never passes a source not yet moved */
        memmove(buf + j * (j + 1) / 2, buf + j * p, (j + 1) * sizeof(double));
    memmove(buf + npk, buf + p * p, (p * q + 1) * sizeof(double));
    rrr_allreduce_sum(ctx, buf, npk + p * q + 1);
    memmove(buf + p * p, buf + npk, (p * q + 1) * sizeof(double));
    for (size_t j = p; j-- > 0;)
        memmove(buf + j * p, buf + j * (j + 1) / 2, (j + 1) * sizeof(double));
    gr->R = buf;
    gr->C = buf + p * p;
    gr->yy = buf[p * p + p * q];
    return RRR_OK;
}

/* Local. Subtract mean[global row] from the local entries of columns [0, ncols) of A. */
static void centre_panel(const rrr_grid *g, rrr_dmat *A, int ncols, const double *mean)
{
    int lld = A->desc[8];
    for (int jl = 0; jl < A->nloc; jl++) {
        if (rrr_dmat_l2g(jl, g->nb, g->mycol, g->npcol) >= ncols)
            continue;
        for (int il = 0; il < A->mloc; il++)
            A->a[IDX(il, jl, lld)] -= mean[rrr_dmat_l2g(il, g->nb, g->myrow, g->nprow)];
    }
}

/* Collective. Grid regime: X^T and Y^T move from SPEC.md's row layout (a 1 x K grid, no
 * copy) to the 2-D grid one panel of nc rows of X at a time (pdgemr2d); each panel is
 * centred in place if needed and accumulated with pdsyrk / pdgemm into the block-cyclic G
 * and C. No rank ever holds more than its share of one panel, of G and of C. */
rrr_status rrr_gram_pass_grid(rrr_ctx *ctx, const rrr_problem *pb, const rrr_grid *g,
                              rrr_dmat *G, rrr_dmat *C, double *yy_out)
{
    rrr_status st = RRR_OK;
    const int p = (int)pb->p, q = (int)pb->q, n = (int)pb->n, K = ctx->size;
    const int b = (int)((pb->n + (size_t)K - 1) / (size_t)K); /* SPEC.md block rows */
    rrr_dmat Xp = { 0 }, Yp = { 0 };
    /* Panel width: a multiple of nb * npcol, about 32 MB of X and Y panel per rank. */
    int step = g->nb * g->npcol;
    double per = (double)((size_t)1 << 22) * K / (double)(pb->p + pb->q);
    int nc = per > (double)n ? n : (int)per;
    nc = nc / step * step;
    if (nc < step)
        nc = step;
    if (nc > n)
        nc = n;
    int descX[9], descY[9], info = 0, info2 = 0;
    static const int zero = 0, one = 1;
    int ldx = p > 1 ? p : 1, ldy = q > 1 ? q : 1;
    descinit_(descX, &p, &n, &ldx, &b, &zero, &zero, &g->ctxt_row, &ldx, &info);
    descinit_(descY, &q, &n, &ldy, &b, &zero, &zero, &g->ctxt_row, &ldy, &info2);
    if (info != 0 || info2 != 0)
        st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "descinit for the row layout: info=%d, %d", info,
                      info2);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, p, nc, &Xp, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, q, nc, &Yp, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, p, p, G, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, p, q, C, &ctx->err);
    double yy = rrr_local_yy(pb);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        /* ranks without rows still pass a valid address (lld >= 1 describes it) */
        static const double dummy[1] = { 0.0 };
        const double *Xt = pb->nloc > 0 ? pb->Xt : dummy, *Yt = pb->nloc > 0 ? pb->Yt : dummy;
        for (int j0 = 0; j0 < n; j0 += nc) {
            int ncur = n - j0 < nc ? n - j0 : nc, ja = j0 + 1;
            double beta = j0 == 0 ? 0.0 : 1.0, alpha = 1.0, t0 = rrr_phase_begin();
            pdgemr2d_(&p, &ncur, Xt, &one, &ja, descX, Xp.a, &one, &one, Xp.desc, &g->ctxt_row);
            pdgemr2d_(&q, &ncur, Yt, &one, &ja, descY, Yp.a, &one, &one, Yp.desc, &g->ctxt_row);
            rrr_phase_end(ctx, RRR_T_ALLREDUCE, t0); /* the redistribution is communication */
            double t1 = rrr_phase_begin();
            if (pb->xm != NULL) {
                centre_panel(g, &Xp, ncur, pb->xm);
                centre_panel(g, &Yp, ncur, pb->ym);
            }
            pdsyrk_("U", "N", &p, &ncur, &alpha, Xp.a, &one, &one, Xp.desc, &beta, G->a, &one,
                    &one, G->desc, 1, 1);
            pdgemm_("N", "T", &p, &q, &ncur, &alpha, Xp.a, &one, &one, Xp.desc, Yp.a, &one,
                    &one, Yp.desc, &beta, C->a, &one, &one, C->desc, 1, 1);
            rrr_phase_end(ctx, RRR_T_COMPUTE, t1);
        }
        rrr_allreduce_sum(ctx, &yy, 1);
        *yy_out = yy;
    }
    rrr_dmat_free(&Xp);
    rrr_dmat_free(&Yp);
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

rrr_status rrr_gram_create(rrr_ctx *ctx, const rrr_problem *pb, int use_grid, rrr_route route,
                           rrr_gram **out)
{
    rrr_status st = RRR_OK;
    *out = NULL;
    if (pb->p > INT_MAX || pb->q > INT_MAX || pb->n > INT_MAX)
        st = RRR_FAIL(&ctx->err, RRR_EINVAL, "stats: dimensions exceed the BLAS int range");
    rrr_gram *gr = rrr_calloc(1, sizeof *gr);
    if (st == RRR_OK && gr == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(gr);
        return st;
    }
    gr->p = pb->p;
    gr->q = pb->q;
    gr->lambda = pb->lambda;
    gr->grid = use_grid;
    gr->route = route;
    double t0 = rrr_phase_begin();
    if (!use_grid) {
        st = stats_replicated(ctx, pb, gr);
    } else {
        st = rrr_gram_grid_new(ctx, pb->p, &gr->g);
        if (st == RRR_OK)
            st = rrr_gram_pass_grid(ctx, pb, gr->g, &gr->Rd, &gr->Cd, &gr->yy);
    }
    if (st == RRR_OK) {
        /* flops per rank: dsyrk n p^2 / K (half of the p x p x n dgemm) + dgemm 2 n p q / K */
        double dt = rrr_phase_begin() - t0, n = (double)pb->n, p = (double)pb->p;
        double fl = n * p * (p + 2.0 * (double)pb->q) / ctx->size;
        rrr_info(ctx, "stats: one pass over %zu rows in %.3f s (%.1f GFLOP/s per rank)", pb->n,
                 dt, dt > 0 ? fl / dt * 1e-9 : 0.0);
        t0 = rrr_phase_begin();
        st = factor(ctx, gr);
        if (st == RRR_OK)
            rrr_info(ctx, "stats: Cholesky of X^T X + lambda I (p = %zu) in %.3f s", pb->p,
                     rrr_phase_begin() - t0);
    }
    if (st != RRR_OK)
        rrr_gram_destroy(&gr);
    *out = gr;
    return st;
}

rrr_status rrr_gram_from_sums(rrr_ctx *ctx, const rrr_sums *sums, size_t p, size_t q,
                              double lambda, rrr_route route, rrr_gram **out)
{
    rrr_gram *gr = rrr_calloc(1, sizeof *gr);
    double *buf = rrr_malloc(p * p + p * q + 1, sizeof(double));
    rrr_status st = gr && buf ? RRR_OK
                              : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "stats: out of memory for X^T X");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(gr);
        free(buf);
        *out = NULL;
        return st;
    }
    memcpy(buf, sums->G, p * p * sizeof(double));
    memcpy(buf + p * p, sums->C, p * q * sizeof(double));
    *gr = (rrr_gram){ .p = p, .q = q, .lambda = lambda, .yy = sums->yy, .route = route,
                      .R = buf, .C = buf + p * p };
    st = factor(ctx, gr);
    if (st != RRR_OK)
        rrr_gram_destroy(&gr);
    *out = gr;
    return st;
}

void rrr_gram_destroy(rrr_gram **gr)
{
    if (gr == NULL || *gr == NULL)
        return;
    free((*gr)->R); /* owns C too */
    rrr_dmat_free(&(*gr)->Rd);
    rrr_dmat_free(&(*gr)->Cd);
    rrr_grid_destroy(&(*gr)->g);
    free(*gr);
    *gr = NULL;
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
