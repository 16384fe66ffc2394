/* src/cv_grid.c: `rrr cv` in the 2-D grid regime (p too large to replicate p x p).
 *
 * Statistics: for each fold, its rows move from where they are to the contract's row layout of
 * the fold alone (one MPI_Alltoallv of rows), and the grid regime's pass of `rrr fit`
 * (pdgemr2d panels, pdsyrk, pdgemm) sums G_k and C_k as block-cyclic matrices: n (p^2 +
 * 2pq) flops in all, as one pass; the column sums are replicated vectors. The totals are
 * the sums of the folds. Algebra: the replicated regime's (cv_solve.c), with ScaLAPACK on
 * all ranks, fold after fold: pdsyev of the training G (p x p), C~ = Q^T C, then per lambda
 * the order-m eigenproblem of the rescaled T (pdsyev), U, V and the products C_k V, G_k U
 * (p x D, q x D: small, gathered) that give the errors. No rank holds anything p x p. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cv.h"
#include "fortran.h"
#include "gram.h"
#include "linalg.h"

/* One fold's sums on the grid (G upper). */
typedef struct {
    rrr_dmat G, C;
    double *sx, *sy;
    double yy, n;
} gfold;

static void gfold_free(gfold *f)
{
    rrr_dmat_free(&f->G);
    rrr_dmat_free(&f->C);
    free(f->sx);
    free(f->sy);
}

/* Collective. My rows of fold k moved to the row layout of the fold alone: *Xk, *Yk (new,
 * row-major) hold its rows [r b, ...) for b = ceil(n_k / K_ranks); *mine their count. */
static rrr_status fold_rows(const rrr_cv_run *cv, int k, size_t nk, double **Xk, double **Yk,
                            size_t *mine)
{
    rrr_ctx *ctx = cv->ctx;
    const rrr_problem *pb = cv->pb;
    const int K = ctx->size;
    int m = 0, *cnt = rrr_calloc((size_t)K, sizeof(int)), *sc = rrr_calloc((size_t)K, sizeof(int));
    int *so = rrr_calloc((size_t)K, sizeof(int)), *rc = rrr_calloc((size_t)K, sizeof(int));
    int *ro = rrr_calloc((size_t)K, sizeof(int));
    for (size_t il = 0; il < pb->nloc; il++)
        m += cv->fold[il] == k;
    size_t r0 = 0, nloc = 0;
    rrr_partition(nk, K, ctx->rank, &r0, &nloc);
    double *xs = rrr_malloc((size_t)m * pb->p, sizeof(double));
    double *ys = rrr_malloc((size_t)m * pb->q, sizeof(double));
    *Xk = rrr_malloc(nloc * pb->p, sizeof(double));
    *Yk = rrr_malloc(nloc * pb->q, sizeof(double));
    *mine = nloc;
    rrr_status st = cnt && sc && so && rc && ro && xs && ys && *Xk && *Yk
                        ? RRR_OK
                        : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "cv: out of memory for fold %d's rows", k);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        MPI_Allgather(&m, 1, MPI_INT, cnt, 1, MPI_INT, ctx->comm);
        size_t off = 0, j = 0;
        for (int r = 0; r < ctx->rank; r++)
            off += (size_t)cnt[r];
        for (size_t il = 0; il < pb->nloc; il++)
            if (cv->fold[il] == k) { /* my j-th fold row is the fold's row off + j */
                memcpy(xs + j * pb->p, pb->Xt + il * pb->p, pb->p * sizeof(double));
                memcpy(ys + j * pb->q, pb->Yt + il * pb->q, pb->q * sizeof(double));
                size_t dr0, dn;
                int dest = 0;
                for (; dest < K - 1; dest++) {
                    rrr_partition(nk, K, dest, &dr0, &dn);
                    if (off + j < dr0 + dn)
                        break;
                }
                sc[dest]++;
                j++;
            }
        /* what I receive from rank s: its rows' overlap with [r0, r0 + nloc) */
        size_t soff = 0;
        for (int s = 0; s < K; s++) {
            size_t lo = soff > r0 ? soff : r0, hi = soff + (size_t)cnt[s];
            if (hi > r0 + nloc)
                hi = r0 + nloc;
            rc[s] = hi > lo ? (int)(hi - lo) : 0;
            soff += (size_t)cnt[s];
        }
        for (int s = 1; s < K; s++) {
            so[s] = so[s - 1] + sc[s - 1];
            ro[s] = ro[s - 1] + rc[s - 1];
        }
        MPI_Datatype xrow, yrow;
        MPI_Type_contiguous((int)pb->p, MPI_DOUBLE, &xrow);
        MPI_Type_contiguous((int)pb->q, MPI_DOUBLE, &yrow);
        MPI_Type_commit(&xrow);
        MPI_Type_commit(&yrow);
        double t0 = rrr_phase_begin();
        MPI_Alltoallv(xs, sc, so, xrow, *Xk, rc, ro, xrow, ctx->comm);
        MPI_Alltoallv(ys, sc, so, yrow, *Yk, rc, ro, yrow, ctx->comm);
        rrr_phase_end(ctx, RRR_T_ALLREDUCE, t0);
        MPI_Type_free(&xrow);
        MPI_Type_free(&yrow);
    }
    free(cnt);
    free(sc);
    free(so);
    free(rc);
    free(ro);
    free(xs);
    free(ys);
    return st;
}

/* Collective. Fold k's sums: G_k, C_k on the grid, yy_k, and the replicated column sums of
 * its rows centred at the global means. */
static rrr_status fold_stats(const rrr_cv_run *cv, const rrr_grid *g, int k, double nk,
                             gfold *f)
{
    rrr_ctx *ctx = cv->ctx;
    const rrr_problem *pb = cv->pb;
    double *Xk = NULL, *Yk = NULL;
    size_t mine = 0;
    f->n = nk;
    f->sx = rrr_calloc(pb->p, sizeof(double));
    f->sy = rrr_calloc(pb->q, sizeof(double));
    rrr_status st = f->sx && f->sy ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = fold_rows(cv, k, (size_t)nk, &Xk, &Yk, &mine);
    if (st == RRR_OK) {
        rrr_problem pk = *pb;
        pk.n = (size_t)nk;
        pk.nloc = mine;
        pk.Xt = Xk;
        pk.Yt = Yk;
        st = rrr_gram_pass_grid(ctx, &pk, g, &f->G, &f->C, &f->yy);
        for (size_t il = 0; il < mine; il++) {
            for (size_t j = 0; j < pb->p; j++)
                f->sx[j] += Xk[il * pb->p + j] - (pb->xm ? pb->xm[j] : 0.0);
            for (size_t j = 0; j < pb->q; j++)
                f->sy[j] += Yk[il * pb->q + j] - (pb->ym ? pb->ym[j] : 0.0);
        }
        rrr_allreduce_sum(ctx, f->sx, pb->p);
        rrr_allreduce_sum(ctx, f->sy, pb->q);
    }
    free(Xk);
    free(Yk);
    return st;
}

/* The buffers of one fold's algebra on the grid. */
typedef struct {
    rrr_dmat Gt, Q, Ct, T, Gv, Cv, S, Z, A, Bv, U, E, F;
    double *lam, *s, *zw, *dx, *dy, *Ur, *Er, *Fr, *Vr, *H, *Sd;
    double yyv;
} gws;

static void gws_free(gws *w)
{
    rrr_dmat *m[] = { &w->Gt, &w->Q, &w->Ct, &w->T, &w->Gv, &w->Cv, &w->S, &w->Z, &w->A, &w->Bv, &w->U,
                      &w->E, &w->F };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++)
        rrr_dmat_free(m[k]);
    double *v[] = { w->lam, w->s, w->zw, w->dx, w->dy, w->Ur, w->Er, w->Fr, w->Vr, w->H, w->Sd };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        free(v[k]);
}

static rrr_status gws_alloc(rrr_ctx *ctx, const rrr_grid *g, const rrr_cv_run *cv, gws *w)
{
    const int p = (int)cv->pb->p, q = (int)cv->pb->q, D = cv->D;
    const int m = cv->route == RRR_ROUTE_P ? p : q;
    rrr_err *e = &ctx->err;
    memset(w, 0, sizeof *w);
    struct { rrr_dmat *A; int r, c; } mats[] = {
        { &w->Gt, p, p }, { &w->Q, p, p }, { &w->Ct, p, q }, { &w->T, p, q }, { &w->Gv, p, p }, { &w->Cv, p, q },
        { &w->S, m, m }, { &w->Z, m, m }, { &w->A, p, D }, { &w->Bv, q, D }, { &w->U, p, D },
        { &w->E, p, D }, { &w->F, p, D },
    };
    rrr_status st = RRR_OK;
    for (size_t k = 0; k < sizeof mats / sizeof mats[0] && st == RRR_OK; k++)
        st = rrr_dmat_init(g, mats[k].r, mats[k].c, mats[k].A, e);
    w->lam = rrr_malloc((size_t)p, sizeof(double));
    w->s = rrr_malloc((size_t)p, sizeof(double));
    w->zw = rrr_malloc((size_t)m, sizeof(double));
    w->dx = rrr_calloc((size_t)p, sizeof(double));
    w->dy = rrr_calloc((size_t)q, sizeof(double));
    w->Ur = rrr_malloc((size_t)p * D, sizeof(double));
    w->Er = rrr_malloc((size_t)p * D, sizeof(double));
    w->Fr = rrr_malloc((size_t)p * D, sizeof(double));
    w->Vr = rrr_malloc((size_t)q * D, sizeof(double));
    w->H = rrr_malloc((size_t)D * D, sizeof(double));
    w->Sd = rrr_malloc((size_t)D * D, sizeof(double));
    if (st == RRR_OK && !(w->lam && w->s && w->zw && w->dx && w->dy && w->Ur && w->Er && w->Fr &&
                          w->Vr && w->H && w->Sd))
        st = RRR_FAIL(e, RRR_EINTERNAL, "cv: out of memory for a fold's algebra");
    return rrr_agree(ctx, st);
}

/* Local. Training and validation statistics of fold f (as cv_solve.c, on the grid). */
static void shifts(const rrr_cv_run *cv, const rrr_grid *g, const gfold *f, const gfold *tot,
                   gws *w)
{
    const size_t p = cv->pb->p, q = cv->pb->q;
    const double nk = f->n, nt = tot->n - nk;
    for (size_t i = 0; i < rrr_dmat_len(&w->Gt); i++)
        w->Gt.a[i] = tot->G.a[i] - f->G.a[i];
    for (size_t i = 0; i < rrr_dmat_len(&w->Ct); i++)
        w->Ct.a[i] = tot->C.a[i] - f->C.a[i];
    memcpy(w->Gv.a, f->G.a, rrr_dmat_len(&w->Gv) * sizeof(double));
    memcpy(w->Cv.a, f->C.a, rrr_dmat_len(&w->Cv) * sizeof(double));
    w->yyv = f->yy;
    if (cv->pb->xm == NULL)
        return;
    rrr_cv_shift(p, q, tot->sx, f->sx, tot->sy, f->sy, nt, w->dx, w->dy);
    rrr_dmat_rank1(g, &w->Gt, -nt, w->dx, w->dx);
    rrr_dmat_rank1(g, &w->Ct, -nt, w->dx, w->dy);
    rrr_dmat_rank1(g, &w->Gv, -1.0, f->sx, w->dx);
    rrr_dmat_rank1(g, &w->Gv, -1.0, w->dx, f->sx);
    rrr_dmat_rank1(g, &w->Gv, nk, w->dx, w->dx);
    rrr_dmat_rank1(g, &w->Cv, -1.0, f->sx, w->dy);
    rrr_dmat_rank1(g, &w->Cv, -1.0, w->dx, f->sy);
    rrr_dmat_rank1(g, &w->Cv, nk, w->dx, w->dy);
    w->yyv += rrr_cv_yy_shift(q, w->dy, f->sy, nk);
}

/* Collective. One lambda on the grid; out[r * stride] the errors at the candidate ranks. */
static rrr_status one_lambda(const rrr_cv_run *cv, const rrr_grid *g, gws *w, double lambda,
                             double *out, int stride)
{
    rrr_ctx *ctx = cv->ctx;
    const int p = (int)cv->pb->p, q = (int)cv->pb->q, D = cv->D, one = 1;
    const int m = cv->route == RRR_ROUTE_P ? p : q, jw = m - D + 1;
    const double a1 = 1.0, b0 = 0.0;
    for (int i = 0; i < p; i++)
        w->s[i] = 1.0 / sqrt(w->lam[i] + lambda);
    memcpy(w->T.a, w->Ct.a, rrr_dmat_len(&w->T) * sizeof(double));
    rrr_dmat_scale_rows(g, &w->T, w->s); /* T = diag(s) C~ */
    pdsyrk_("U", cv->route == RRR_ROUTE_P ? "N" : "T", &m, cv->route == RRR_ROUTE_P ? &q : &p,
            &a1, w->T.a, &one, &one, w->T.desc, &b0, w->S.a, &one, &one, w->S.desc, 1, 1);
    rrr_status st = rrr_dmat_syev(ctx, m, &w->S, &w->Z, w->zw);
    if (st != RRR_OK)
        return st;
    if (cv->route == RRR_ROUTE_Q) { /* Bv = W = Z(:, jw:), A = T W */
        pdgemr2d_(&q, &D, w->Z.a, &one, &jw, w->Z.desc, w->Bv.a, &one, &one, w->Bv.desc, &g->ctxt);
        pdgemm_("N", "N", &p, &D, &q, &a1, w->T.a, &one, &one, w->T.desc, w->Bv.a, &one, &one,
                w->Bv.desc, &b0, w->A.a, &one, &one, w->A.desc, 1, 1);
    } else { /* A = u = Z(:, jw:), Bv = T^T u */
        pdgemr2d_(&p, &D, w->Z.a, &one, &jw, w->Z.desc, w->A.a, &one, &one, w->A.desc, &g->ctxt);
        pdgemm_("T", "N", &q, &D, &p, &a1, w->T.a, &one, &one, w->T.desc, w->A.a, &one, &one,
                w->A.desc, &b0, w->Bv.a, &one, &one, w->Bv.desc, 1, 1);
    }
    rrr_dmat_scale_rows(g, &w->A, w->s);
    pdgemm_("N", "N", &p, &D, &p, &a1, w->Q.a, &one, &one, w->Q.desc, w->A.a, &one, &one,
            w->A.desc, &b0, w->U.a, &one, &one, w->U.desc, 1, 1); /* U = Q diag(s) A */
    pdgemm_("N", "N", &p, &D, &q, &a1, w->Cv.a, &one, &one, w->Cv.desc, w->Bv.a, &one, &one,
            w->Bv.desc, &b0, w->E.a, &one, &one, w->E.desc, 1, 1); /* E = C_k V */
    pdsymm_("L", "U", &p, &D, &a1, w->Gv.a, &one, &one, w->Gv.desc, w->U.a, &one, &one,
            w->U.desc, &b0, w->F.a, &one, &one, w->F.desc, 1, 1); /* F = G_k U */
    rrr_dmat_gather(ctx, g, &w->U, 0, D, w->Ur, (size_t)p);
    rrr_dmat_gather(ctx, g, &w->E, 0, D, w->Er, (size_t)p);
    rrr_dmat_gather(ctx, g, &w->F, 0, D, w->Fr, (size_t)p);
    rrr_dmat_gather(ctx, g, &w->Bv, 0, D, w->Vr, (size_t)q);
    rrr_reverse_columns((size_t)p, D, w->Ur);
    rrr_reverse_columns((size_t)p, D, w->Er);
    rrr_reverse_columns((size_t)p, D, w->Fr);
    rrr_reverse_columns((size_t)q, D, w->Vr);
    rrr_cv_sse_ranks(cv, w->Ur, w->Er, w->Fr, w->Vr, w->yyv, w->H, w->Sd, out, stride);
    return RRR_OK;
}

/* Collective. Every (rank, lambda) error of fold k into sse[r * nl + l]. */
static rrr_status fold_sse(rrr_cv_run *cv, const rrr_grid *g, const gfold *f, const gfold *tot,
                           int k, gws *w, double *sse)
{
    rrr_ctx *ctx = cv->ctx;
    const int p = (int)cv->pb->p, q = (int)cv->pb->q, nl = cv->o->nlambdas, one = 1;
    const double nt = tot->n - f->n, a1 = 1.0, b0 = 0.0;
    if (cv->o->lambdas[0] == 0 && nt < (double)p)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "cv: lambda 0 with a training set of %.0f rows < "
                        "p = %d (fold %d held out): X^T X is singular there; use lambdas > 0",
                        nt, p, k);
    shifts(cv, g, f, tot, w);
    rrr_status st = rrr_dmat_syev(ctx, p, &w->Gt, &w->Q, w->lam); /* G_-k = Q Lambda Q^T */
    if (st != RRR_OK)
        return st;
    if (cv->o->lambdas[0] == 0 && !(w->lam[0] > rrr_cv_null_level((size_t)p, w->lam)))
        return RRR_FAIL(&ctx->err, RRR_ENUMERIC, "cv: X^T X of the training rows of fold %d is "
                        "singular to working precision (rank-deficient X): lambda 0 needs it "
                        "positive definite; use lambdas > 0", k);
    for (int i = 0; i < p; i++)
        if (w->lam[i] < 0)
            w->lam[i] = 0;
    pdgemm_("T", "N", &p, &q, &p, &a1, w->Q.a, &one, &one, w->Q.desc, w->Ct.a, &one, &one,
            w->Ct.desc, &b0, w->T.a, &one, &one, w->T.desc, 1, 1); /* C~ = Q^T C */
    memcpy(w->Ct.a, w->T.a, rrr_dmat_len(&w->T) * sizeof(double));
    for (int i = 0; i < p; i++) /* null directions: C~ is rounding there (cv_solve.c) */
        w->s[i] = w->lam[i] > rrr_cv_null_level((size_t)p, w->lam) ? 1.0 : 0.0;
    rrr_dmat_scale_rows(g, &w->Ct, w->s);
    for (int l = 0; l < nl && st == RRR_OK; l++)
        st = one_lambda(cv, g, w, cv->o->lambdas[l], sse + l, nl);
    cv->flops += rrr_cv_flops(cv->pb->p, cv->pb->q, cv->D, nl, 0) / ctx->size;
    return st;
}

/* Local. A += B entrywise (the same distribution). */
static void dmat_add(rrr_dmat *A, const rrr_dmat *B)
{
    for (size_t i = 0; i < rrr_dmat_len(A); i++)
        A->a[i] += B->a[i];
}

/* Collective. The totals as the sum of the folds. */
static rrr_status totals(const rrr_cv_run *cv, const rrr_grid *g, const gfold *folds, gfold *tot)
{
    rrr_ctx *ctx = cv->ctx;
    const size_t p = cv->pb->p, q = cv->pb->q;
    rrr_status st = rrr_dmat_init(g, (int)p, (int)p, &tot->G, &ctx->err);
    if (st == RRR_OK)
        st = rrr_dmat_init(g, (int)p, (int)q, &tot->C, &ctx->err);
    tot->sx = rrr_calloc(p, sizeof(double));
    tot->sy = rrr_calloc(q, sizeof(double));
    if (st == RRR_OK && (tot->sx == NULL || tot->sy == NULL))
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    for (int k = 0; k < cv->K && st == RRR_OK; k++) {
        dmat_add(&tot->G, &folds[k].G);
        dmat_add(&tot->C, &folds[k].C);
        cblas_daxpy((int)p, 1.0, folds[k].sx, 1, tot->sx, 1);
        cblas_daxpy((int)q, 1.0, folds[k].sy, 1, tot->sy, 1);
        tot->yy += folds[k].yy;
        tot->n += folds[k].n;
    }
    return st;
}

rrr_status rrr_cv_grid_search(rrr_cv_run *cv, rrr_cv_result *res)
{
    rrr_ctx *ctx = cv->ctx;
    rrr_grid *g = NULL;
    gfold *folds = calloc((size_t)cv->K, sizeof *folds), tot = { 0 };
    gws w = { 0 };
    const size_t cells = (size_t)res->nranks * (size_t)res->nlambdas;
    double t0 = rrr_elapsed(ctx);
    rrr_status st = folds ? RRR_OK : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK)
        st = rrr_gram_grid_new(ctx, cv->pb->p, &g);
    for (int k = 0; k < cv->K && st == RRR_OK; k++)
        st = fold_stats(cv, g, k, (double)res->fold_sizes[k], &folds[k]);
    if (st == RRR_OK)
        st = totals(cv, g, folds, &tot);
    if (st == RRR_OK)
        st = gws_alloc(ctx, g, cv, &w);
    res->passes = 1;
    for (int k = 0; k < cv->K && st == RRR_OK; k++) {
        st = rrr_agree(ctx, fold_sse(cv, g, &folds[k], &tot, k, &w, cv->sse + (size_t)k * cells));
        rrr_flags fl = rrr_flags_agree(ctx, RRR_OK);
        if (st == RRR_OK && fl.stop)
            st = RRR_FAIL(&ctx->err, RRR_ESTOPPED, "cv: stopped by a signal; nothing was written");
        if (st == RRR_OK)
            rrr_info(ctx, "cv: fold %d of %d done on the %d x %d grid (%d lambdas x %d ranks), "
                     "%.2f s", k + 1, cv->K, g->nprow, g->npcol, res->nlambdas, res->nranks,
                     rrr_elapsed(ctx) - t0);
    }
    res->flops = cv->flops;
    gws_free(&w);
    for (int k = 0; folds != NULL && k < cv->K; k++)
        gfold_free(&folds[k]);
    free(folds);
    gfold_free(&tot);
    rrr_grid_destroy(&g);
    return st;
}
