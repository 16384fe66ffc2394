/* src/ctx.c: the context (private communicator, rank, the machine, timers) and rank-0
 * logging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "ctx.h"

const char *const rrr_timer_names[RRR_T_COUNT] = { "read", "compute", "allreduce", "solve",
                                                   "write" };

/* Collective. Ranks on my node, and the bytes one rank may use there: physical memory (or
 * a smaller cgroup v2 limit) over those ranks; the minimum over all ranks, so every rank
 * decides alike. */
static void measure_machine(rrr_ctx *ctx)
{
    double bytes = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f != NULL) {
        double lim;
        if (fscanf(f, "%lf", &lim) == 1 && lim > 0 && lim < bytes)
            bytes = lim;
        fclose(f);
    }
    MPI_Comm node;
    int local = 1;
    MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, ctx->rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    bytes /= local;
    MPI_Allreduce(MPI_IN_PLACE, &bytes, 1, MPI_DOUBLE, MPI_MIN, ctx->comm);
    MPI_Allreduce(&local, &ctx->node_ranks_max, 1, MPI_INT, MPI_MAX, ctx->comm);
    ctx->node_ranks = local;
    ctx->mem_per_rank = bytes;
}

rrr_status rrr_ctx_create(MPI_Comm comm, rrr_ctx **out)
{
    rrr_ctx *ctx = calloc(1, sizeof *ctx);
    int ok = ctx != NULL, all_ok = 0;
    /* Everyone learns whether everyone got memory before anyone uses ctx. */
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok) {
        free(ctx);
        *out = NULL;
        return RRR_EINTERNAL;
    }
    MPI_Comm_dup(comm, &ctx->comm);
    MPI_Comm_rank(ctx->comm, &ctx->rank);
    MPI_Comm_size(ctx->comm, &ctx->size);
    ctx->t_start = MPI_Wtime();
    measure_machine(ctx);
    /* Fault injection for the tests: RRR_FAIL_ALLOC=R:K makes the K-th rrr_malloc/rrr_calloc
     * on rank R fail, so every failure path can be reached from the command line. */
    const char *fa = getenv("RRR_FAIL_ALLOC");
    int fr = -1;
    long fk = 0;
    if (fa != NULL && sscanf(fa, "%d:%ld", &fr, &fk) == 2 && fr == ctx->rank)
        rrr_alloc_fail_after(fk);
    *out = ctx;
    return RRR_OK;
}

void rrr_ctx_destroy(rrr_ctx **ctx)
{
    if (ctx == NULL || *ctx == NULL)
        return;
    MPI_Comm_free(&(*ctx)->comm);
    free(*ctx);
    *ctx = NULL;
}

const char *rrr_ctx_errmsg(const rrr_ctx *ctx)
{
    return ctx->err.msg[0] ? ctx->err.msg : rrr_strerror(ctx->err.st);
}

int rrr_ctx_rank(const rrr_ctx *ctx) { return ctx->rank; }
int rrr_ctx_size(const rrr_ctx *ctx) { return ctx->size; }
void rrr_ctx_set_quiet(rrr_ctx *ctx, int quiet) { ctx->quiet = quiet; }
double rrr_elapsed(const rrr_ctx *ctx) { return MPI_Wtime() - ctx->t_start; }

double rrr_phase_begin(void) { return MPI_Wtime(); }
void rrr_phase_end(rrr_ctx *ctx, rrr_timer k, double t0) { ctx->t[k] += MPI_Wtime() - t0; }

void rrr_info(const rrr_ctx *ctx, const char *fmt, ...)
{
    if (ctx->rank != 0 || ctx->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("rrr: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void rrr_warn(const rrr_ctx *ctx, const char *fmt, ...)
{
    if (ctx->rank != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("rrr: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
