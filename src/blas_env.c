/* src/blas_env.c: OpenBLAS kernel choice (re-exec before MPI_Init) and threads per rank. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_env.h"

/* OpenBLAS-specific entry points; weak so that rrr also links against MKL, BLIS or a Cray
 * libsci, where these calls are simply skipped. */
char *openblas_get_corename(void) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
void openblas_set_num_threads(int) __attribute__((weak));

const char *rrr_blas_corename(void)
{
    return openblas_get_corename ? openblas_get_corename() : "unknown";
}

int rrr_blas_threads(void) { return openblas_get_num_threads ? openblas_get_num_threads() : 1; }

static int generic_kernel(const char *core)
{
    return strcmp(core, "Prescott") == 0 || strcmp(core, "Core2") == 0 ||
           strcmp(core, "Nehalem") == 0 || strcmp(core, "Sandybridge") == 0;
}

static const char *better_kernel(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2"))
        return "Haswell";
    return NULL;
}

void rrr_blas_pick_kernel(char **argv)
{
    if (!openblas_get_corename || getenv("OPENBLAS_CORETYPE") || getenv("RRR_NO_COREFIX") ||
        getenv("RRR_REEXECED"))
        return;
    const char *want = better_kernel();
    if (want == NULL || !generic_kernel(openblas_get_corename()))
        return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("RRR_REEXECED", "1", 1); /* never loop */
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the generic kernel; rrr_blas_configure warns. */
}

void rrr_blas_configure(rrr_ctx *ctx)
{
    const int node_ranks = ctx->node_ranks;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    int user_set = getenv("OPENBLAS_NUM_THREADS") != NULL || getenv("OMP_NUM_THREADS") != NULL;
    if (!user_set && openblas_set_num_threads) {
        long t = cores / node_ranks;
        openblas_set_num_threads(t < 1 ? 1 : (int)t);
    }
    int threads = rrr_blas_threads();
    if (node_ranks > cores)
        rrr_warn(ctx, "%d ranks share the %ld cores of this node (oversubscribed): expect "
                      "slower runs", node_ranks, cores);
    else if ((long)node_ranks * threads > cores)
        rrr_warn(ctx, "%d ranks x %d BLAS threads exceed the %ld cores of this node: set "
                      "OPENBLAS_NUM_THREADS=%ld", node_ranks, threads, cores, cores / node_ranks);
    if (openblas_get_corename && generic_kernel(openblas_get_corename()) && better_kernel())
        rrr_warn(ctx, "OpenBLAS runs its generic '%s' kernel on a CPU that supports %s: set "
                      "OPENBLAS_CORETYPE=%s for ~4x faster BLAS",
                 openblas_get_corename(), better_kernel(), better_kernel());
}
