/* src/block.c: row blocks: the ones rrr allocates and the ones that wrap a caller's memory. */
#include <stdint.h>
#include <stdlib.h>

#include "comm.h"
#include "input.h"

rrr_status rrr_block_wrap(rrr_ctx *ctx, size_t n, size_t ncols, size_t nloc, double *a,
                          rrr_block **out)
{
    size_t r0 = 0, mine = 0;
    if (ctx == NULL || out == NULL)
        return RRR_EINVAL;
    *out = NULL;
    rrr_partition(n, ctx->size, ctx->rank, &r0, &mine);
    if (nloc != mine)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_block_wrap: rank %d owns %zu of the %zu rows "
                        "(rows [%zu, %zu), rrr_partition), not %zu", ctx->rank, mine, n, r0,
                        r0 + mine, nloc);
    return rrr_block_wrap_at(ctx, n, ncols, r0, nloc, a, out);
}

rrr_status rrr_block_wrap_at(rrr_ctx *ctx, size_t n, size_t ncols, size_t r0, size_t nloc,
                             double *a, rrr_block **out)
{
    if (ctx == NULL || out == NULL)
        return RRR_EINVAL;
    *out = NULL;
    if (r0 > n || nloc > n - r0)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_block_wrap_at: rows [%zu, %zu + %zu) are not "
                        "within the %zu rows", r0, r0, nloc, n);
    if (nloc > 0 && (a == NULL || ncols == 0))
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_block_wrap: no data for %zu rows", nloc);
    if (ncols > 0 && nloc > SIZE_MAX / sizeof(double) / ncols)
        return RRR_FAIL(&ctx->err, RRR_EINVAL, "rrr_block_wrap: %zu x %zu values do not fit in "
                        "memory's address range", nloc, ncols);
    /* what every file reader checks (input.c): the solvers assume finite data */
    rrr_status st = rrr_check_finite(&ctx->err, "rrr_block_wrap", a, nloc, ncols, r0);
    if (st != RRR_OK)
        return st;
    rrr_block *B = malloc(sizeof *B);
    if (B == NULL)
        return RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory");
    *B = (rrr_block){ .n = n, .ncols = ncols, .r0 = r0, .nloc = nloc, .a = a, .owns = 0 };
    *out = B;
    return RRR_OK;
}

void rrr_block_destroy(rrr_block **B)
{
    if (B == NULL || *B == NULL)
        return;
    if ((*B)->owns)
        free((*B)->a);
    free(*B);
    *B = NULL;
}
