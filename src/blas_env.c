/* src/blas_env.c: OpenBLAS kernel choice (re-exec before MPI_Init) and threads per rank. */
#define _GNU_SOURCE
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blas_env.h"
#include "comm.h"

/* OpenBLAS 0.3.21 (x86_64) keeps its level-3 work in buffers of BUFFER_SIZE = 128 MiB,
 * mapped at a thread's first call (seen in gdb: mmap of 134217728 bytes in
 * blas_memory_alloc), and when that mmap fails it retries forever: a rank out of address
 * space spins and ignores SIGTERM. So the buffer is mapped at start-up, before the data
 * takes the room, and only after checking that it fits (a margin of 1 MiB). */
#define BLAS_BUFFER_BYTES (((size_t)128 << 20) + ((size_t)1 << 20))
/* The warm-up product's order: above OpenBLAS's small-matrix path and its threading
 * threshold (m n k > 64^3), so it takes the buffers the big calls will take. */
#define WARM_N 192

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

/* Local. Could this process map one more BLAS buffer now (ulimit -v)? */
static int room_for_buffer(void)
{
    void *p = mmap(NULL, BLAS_BUFFER_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return 0;
    munmap(p, BLAS_BUFFER_BYTES);
    return 1;
}

/* Local. One level-3 call, so that the BLAS maps its buffers now. */
static void warm_up(void)
{
    const size_t n = WARM_N;
    double *a = calloc(3 * n * n, sizeof *a); /* not rrr_malloc: no fault to inject here */
    if (a == NULL)
        return;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, a,
                (int)n, a + n * n, (int)n, 0.0, a + 2 * n * n, (int)n);
    free(a);
}

/* Collective. The BLAS buffers, mapped before any data is read; RRR_EINTERNAL, agreed,
 * when ulimit -v leaves no room for them (else the first big call would hang). */
static rrr_status map_buffers(rrr_ctx *ctx)
{
    rrr_status st = RRR_OK;
    if (openblas_get_corename && !room_for_buffer())
        st = RRR_FAIL(&ctx->err, RRR_EINTERNAL, "out of memory: cannot map OpenBLAS's %zu MiB "
                      "work buffer (ulimit -v leaves %.0f MiB to this rank)",
                      BLAS_BUFFER_BYTES >> 20, ctx->mem_per_rank / 1048576.0);
    st = rrr_agree(ctx, st);
    if (st == RRR_OK) {
        warm_up();
        rrr_ctx_measure_memory(ctx); /* what is left once the buffers are mapped */
    }
    return st;
}

rrr_status rrr_blas_configure(rrr_ctx *ctx)
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
    return map_buffers(ctx);
}
