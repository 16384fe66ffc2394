/* src/grid.c: BLACS grids over ctx->comm and block-cyclic matrices on the 2-D grid. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fortran.h"
#include "grid.h"
#include "linalg.h"

void rrr_grid_shape(int K, int *nprow, int *npcol)
{
    int r = 1;
    for (int i = 1; (long)i * i <= K; i++)
        if (K % i == 0)
            r = i;                       /* largest divisor <= sqrt(K) */
    *nprow = r;
    *npcol = K / r;
}

rrr_status rrr_grid_create(rrr_ctx *ctx, int nb, rrr_grid **out)
{
    rrr_status st = RRR_OK;
    rrr_grid *g = rrr_calloc(1, sizeof *g);
    if (g == NULL)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "grid: out of memory");
    st = rrr_agree(ctx, st);
    if (st != RRR_OK) {
        free(g);
        *out = NULL;
        return st;
    }
    int nprow, npcol;
    rrr_grid_shape(ctx->size, &nprow, &npcol);
    /* BLACS_GRIDINIT is collective over the system context: every rank builds both grids. */
    g->sys = Csys2blacs_handle(ctx->comm);
    g->ctxt_row = g->sys;
    Cblacs_gridinit(&g->ctxt_row, "R", 1, ctx->size);
    g->ctxt = g->sys;
    Cblacs_gridinit(&g->ctxt, "R", nprow, npcol);
    Cblacs_gridinfo(g->ctxt, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
    int r1, c1, myr1, myc1;
    Cblacs_gridinfo(g->ctxt_row, &r1, &c1, &myr1, &myc1);
    g->nb = nb;
    /* Both grids hold every rank, and the row grid's column is the MPI rank (the contract's row
     * blocks): anything else is a BLACS set-up bug. */
    if (g->nprow != nprow || g->npcol != npcol || g->myrow < 0 || myc1 != ctx->rank)
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL,
                      "BLACS grid set-up failed (%d x %d grid, rank %d at (%d, %d))", nprow,
                      npcol, ctx->rank, myr1, myc1);
    st = rrr_agree(ctx, st);
    if (st != RRR_OK)
        rrr_grid_destroy(&g);
    *out = g;
    return st;
}

void rrr_grid_destroy(rrr_grid **g)
{
    if (g == NULL || *g == NULL)
        return;
    Cblacs_gridexit((*g)->ctxt);
    Cblacs_gridexit((*g)->ctxt_row);
    Cfree_blacs_system_handle((*g)->sys);
    free(*g);
    *g = NULL;
}

rrr_status rrr_dmat_init(const rrr_grid *g, int m, int n, rrr_dmat *A, rrr_err *e)
{
    static const int zero = 0;
    memset(A, 0, sizeof *A);
    A->m = m;
    A->n = n;
    A->mloc = numroc_(&m, &g->nb, &g->myrow, &zero, &g->nprow);
    A->nloc = numroc_(&n, &g->nb, &g->mycol, &zero, &g->npcol);
    int lld = A->mloc > 1 ? A->mloc : 1, info = 0;
    descinit_(A->desc, &m, &n, &g->nb, &g->nb, &zero, &zero, &g->ctxt, &lld, &info);
    if (info != 0)
        return RRR_FAIL(e, RRR_ENUMERIC, "descinit (%d x %d, nb %d): info=%d", m, n, g->nb, info);
    A->a = rrr_calloc((size_t)lld * (size_t)(A->nloc > 0 ? A->nloc : 1), sizeof(double));
    if (A->a == NULL)
        return RRR_FAIL(e, RRR_EINTERNAL, "out of memory for a %d x %d block-cyclic matrix",
                        m, n);
    return RRR_OK;
}

void rrr_dmat_free(rrr_dmat *A)
{
    if (A == NULL)
        return;
    free(A->a);
    A->a = NULL;
}

int rrr_dmat_l2g(int l, int nb, int iproc, int np)
{
    return (l / nb) * nb * np + iproc * nb + l % nb;
}

void rrr_dmat_scatter(const rrr_grid *g, rrr_dmat *A, int ncols, const double *src, size_t ld)
{
    int lld = A->desc[8];
    for (int jl = 0; jl < A->nloc; jl++) {
        int j = rrr_dmat_l2g(jl, g->nb, g->mycol, g->npcol);
        if (j >= ncols)
            continue;
        for (int il = 0; il < A->mloc; il++) {
            int i = rrr_dmat_l2g(il, g->nb, g->myrow, g->nprow);
            A->a[IDX(il, jl, lld)] = src[IDX(i, j, ld)];
        }
    }
}

void rrr_dmat_gather(rrr_ctx *ctx, const rrr_grid *g, const rrr_dmat *A, int j0, int ncols,
                     double *dst, size_t ld)
{
    int lld = A->desc[8];
    for (int j = 0; j < ncols; j++)
        memset(dst + IDX(0, j, ld), 0, (size_t)A->m * sizeof(double));
    for (int jl = 0; jl < A->nloc; jl++) {
        int j = rrr_dmat_l2g(jl, g->nb, g->mycol, g->npcol) - j0;
        if (j < 0 || j >= ncols)
            continue;
        for (int il = 0; il < A->mloc; il++) {
            int i = rrr_dmat_l2g(il, g->nb, g->myrow, g->nprow);
            dst[IDX(i, j, ld)] = A->a[IDX(il, jl, lld)];
        }
    }
    if (ld == (size_t)A->m) {
        rrr_allreduce_sum(ctx, dst, (size_t)A->m * (size_t)ncols);
    } else {
        for (int j = 0; j < ncols; j++)
            rrr_allreduce_sum(ctx, dst + IDX(0, j, ld), (size_t)A->m);
    }
}

/* Collective. All eigenpairs of the symmetric n x n dmat S (upper; destroyed) into Z and
 * wall (ascending) with pdsyev. With Debian 12's ScaLAPACK 2.2.1, pdsyevr (RANGE='I')
 * returned the right eigenvalues but wrong eigenvectors once n > nb (e.g. n = 100, nb = 20
 * on a 1 x 1 grid) and pdsyevd hung on a 1 x 2 grid (n = 100, nb = 64);
 * tests/mpi/test_exact.sh has such shapes. pdsyev's O(n^3) is of the order of the
 * reduction to tridiagonal form that every variant pays. */
rrr_status rrr_dmat_syev(rrr_ctx *ctx, int n, rrr_dmat *S, rrr_dmat *Z, double *wall)
{
    const int one = 1;
    int lwork = -1, info = 0;
    double wq = 0;
    pdsyev_("V", "U", &n, S->a, &one, &one, S->desc, wall, Z->a, &one, &one, Z->desc, &wq,
            &lwork, &info, 1, 1); /* workspace query: global input, the same everywhere */
    lwork = (int)wq + 1;
    double *work = rrr_malloc((size_t)lwork, sizeof(double));
    rrr_status st = work ? RRR_OK
                         : RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory (pdsyev workspace)");
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        pdsyev_("V", "U", &n, S->a, &one, &one, S->desc, wall, Z->a, &one, &one, Z->desc, work,
                &lwork, &info, 1, 1);
        if (info != 0)
            st = RRR_FAIL(&ctx->err, RRR_ENUMERIC, "pdsyev failed (info=%d)", info);
        st = rrr_agree(ctx, st);
    }
    free(work);
    return st;
}

size_t rrr_dmat_len(const rrr_dmat *A)
{
    return (size_t)A->desc[8] * (size_t)(A->nloc > 0 ? A->nloc : 1);
}

void rrr_dmat_rank1(const rrr_grid *g, rrr_dmat *A, double alpha, const double *x,
                    const double *y)
{
    int lld = A->desc[8];
    for (int jl = 0; jl < A->nloc; jl++) {
        double yj = alpha * y[rrr_dmat_l2g(jl, g->nb, g->mycol, g->npcol)];
        for (int il = 0; il < A->mloc; il++)
            A->a[IDX(il, jl, lld)] += x[rrr_dmat_l2g(il, g->nb, g->myrow, g->nprow)] * yj;
    }
}

void rrr_dmat_scale_rows(const rrr_grid *g, rrr_dmat *A, const double *s)
{
    int lld = A->desc[8];
    for (int jl = 0; jl < A->nloc; jl++)
        for (int il = 0; il < A->mloc; il++)
            A->a[IDX(il, jl, lld)] *= s[rrr_dmat_l2g(il, g->nb, g->myrow, g->nprow)];
}
