/* examples/fit.c: fit Y = X U V^T from rows each rank holds in memory, through the public API
 * only; the library refuses a bad rank and a bad lambda itself (RRR_EINVAL, one message).
 *   cc examples/fit.c $(pkg-config --cflags --libs rrr) -o fit && mpirun -np 2 ./fit */
#include <rrr.h>
#include <stdio.h>
#include <stdlib.h>

/* Local. One fit of rank d; prints its outcome on rank 0 and returns its status. */
static rrr_status try_fit(rrr_ctx *ctx, const rrr_block *X, const rrr_block *Y, int d, double lambda)
{
    rrr_fit_opts o;
    rrr_model *m = NULL;
    rrr_fit_info *info = NULL;
    rrr_fit_opts_default(&o);
    o.d = d;
    o.lambda = lambda;
    rrr_status st = rrr_fit(ctx, X, Y, &o, &m, &info); /* collective: same status everywhere */
    if (rrr_ctx_rank(ctx) == 0)
        printf("rank %d, lambda %g: %s%s%s\n", d, lambda, rrr_strerror(st), st ? ": " : "",
               st ? rrr_ctx_errmsg(ctx) : "");
    if (st == RRR_OK && rrr_ctx_rank(ctx) == 0)
        printf("objective %.6g, %s after %ld iterations\n", info->objective,
               rrr_solver_name(info->solver), info->iterations);
    rrr_fit_info_destroy(&info);
    rrr_model_destroy(&m);
    return st;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    rrr_ctx *ctx = NULL;
    rrr_block *X = NULL, *Y = NULL;
    size_t n = 200, p = 5, q = 3, r0, nloc;
    rrr_status st = rrr_ctx_create(MPI_COMM_WORLD, &ctx);
    if (st != RRR_OK)
        MPI_Abort(MPI_COMM_WORLD, 1);
    rrr_ctx_set_quiet(ctx, 1);
    rrr_partition(n, rrr_ctx_size(ctx), rrr_ctx_rank(ctx), &r0, &nloc); /* my rows */
    double *x = malloc((nloc * p + 1) * sizeof *x), *y = malloc((nloc * q + 1) * sizeof *y);
    for (size_t i = 0; i < nloc; i++) { /* X: a fixed pattern; Y = X B with B of rank 1 */
        for (size_t j = 0; j < p; j++)
            x[i * p + j] = (double)(((r0 + i) * (2 * j + 3) + j * j) % 17) - 8.0;
        for (size_t k = 0; k < q; k++)
            y[i * q + k] = (double)(k + 1) * (x[i * p] - 0.5 * x[i * p + 3]);
    }
    st = rrr_block_wrap(ctx, n, p, nloc, x, &X); /* borrowed: no copy */
    if (st == RRR_OK)
        st = rrr_block_wrap(ctx, n, q, nloc, y, &Y);
    st = rrr_ctx_agree(ctx, st);
    int ok = st == RRR_OK && try_fit(ctx, X, Y, 0, 0.1) == RRR_EINVAL /* rank < 1 */
             && try_fit(ctx, X, Y, 2, -1.0) == RRR_EINVAL              /* lambda < 0 */
             && try_fit(ctx, X, Y, 1, 1e-6) == RRR_OK;
    rrr_block_destroy(&X);
    rrr_block_destroy(&Y);
    free(x);
    free(y);
    rrr_ctx_destroy(&ctx);
    MPI_Finalize();
    return ok ? 0 : 1;
}
