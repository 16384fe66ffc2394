/* src/grid.h: a 2-D BLACS process grid over ctx->comm and block-cyclic matrices on it
 * (grid.c), for the p x p and p x q dense work when p is too large to replicate. */
#ifndef RRR_GRID_H
#define RRR_GRID_H

#include "comm.h"

/* A block-cyclic m x n matrix on the 2-D grid: mloc x nloc local piece, leading dimension
 * desc[8] (>= 1 even when mloc = 0), square nb x nb blocks, first block on process (0, 0). */
typedef struct {
    int m, n, mloc, nloc;
    int desc[9];
    double *a;
} rrr_dmat;

/* Two grids over the same ranks: the 1 x K "row" grid on which the contract's row blocks are a
 * block-cyclic matrix with no copy, and the near-square nprow x npcol = K grid. */
typedef struct {
    int sys;                        /* BLACS system handle of ctx->comm               */
    int ctxt_row;                   /* 1 x K grid, process (0, r) = rank r            */
    int ctxt;                       /* nprow x npcol grid, row-major rank order       */
    int nprow, npcol, myrow, mycol;
    int nb;                         /* square block size on the 2-D grid              */
} rrr_grid;

/* Local. Near-square factorisation nprow x npcol = K with nprow <= npcol. */
void rrr_grid_shape(int K, int *nprow, int *npcol);

/* Collective. Create both grids with block size nb; *out is new (rrr_grid_destroy). */
rrr_status rrr_grid_create(rrr_ctx *ctx, int nb, rrr_grid **out);
/* Collective (frees the BLACS communicators). NULL-safe; sets *g = NULL. */
void rrr_grid_destroy(rrr_grid **g);

/* Local. Describe and allocate (zeroed) an m x n block-cyclic matrix on g's 2-D grid.
 * RRR_EINTERNAL on allocation failure, RRR_ENUMERIC if descinit rejects it. */
rrr_status rrr_dmat_init(const rrr_grid *g, int m, int n, rrr_dmat *A, rrr_err *e);
/* Local. NULL-safe. */
void rrr_dmat_free(rrr_dmat *A);
/* Local. Global index of local index l (block size nb, my coordinate iproc of np). */
int rrr_dmat_l2g(int l, int nb, int iproc, int np);
/* Local. A's local piece of columns [0, ncols) from the replicated m x ncols matrix src
 * (leading dimension ld). No communication: every rank holds src. */
void rrr_dmat_scatter(const rrr_grid *g, rrr_dmat *A, int ncols, const double *src, size_t ld);
/* Collective. The replicated m x ncols matrix dst (leading dimension ld) from columns
 * [j0, j0 + ncols) of A: each rank fills its own entries, then one sum over ranks (exact:
 * every entry has a single non-zero contribution). */
void rrr_dmat_gather(rrr_ctx *ctx, const rrr_grid *g, const rrr_dmat *A, int j0, int ncols,
                     double *dst, size_t ld);

/* Collective. All eigenpairs of the symmetric n x n dmat S (upper; destroyed): vectors into
 * Z (n x n), values into wall (n, ascending, on every rank). pdsyev: see grid.c for why. */
rrr_status rrr_dmat_syev(rrr_ctx *ctx, int n, rrr_dmat *S, rrr_dmat *Z, double *wall);

/* Local. Doubles in A's local piece (lld x nloc, at least one column). */
size_t rrr_dmat_len(const rrr_dmat *A);
/* Local. A += alpha x y^T for replicated x (A's rows) and y (A's columns): my entries only. */
void rrr_dmat_rank1(const rrr_grid *g, rrr_dmat *A, double alpha, const double *x,
                    const double *y);
/* Local. A_ij *= s_i for replicated s (A's rows). */
void rrr_dmat_scale_rows(const rrr_grid *g, rrr_dmat *A, const double *s);

#endif
