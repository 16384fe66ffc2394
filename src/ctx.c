/* src/ctx.c: the context (private communicator, rank, timers), error agreement, the
 * allreduce every solver uses, and rank-0 logging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

rrr_status rrr_agree(rrr_ctx *ctx, rrr_status st)
{
    struct { int st, rank; } in = { (int)st, ctx->rank }, out;
    if (st != RRR_OK && ctx->err.st == RRR_OK) /* a failure nobody described */
        RRR_FAIL(&ctx->err, st, "%s", rrr_strerror(st));
    /* MAXLOC: the largest code wins, the lowest rank on ties. */
    MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MAXLOC, ctx->comm);
    if (out.st != RRR_OK) {
        MPI_Bcast(ctx->err.msg, (int)sizeof ctx->err.msg, MPI_CHAR, out.rank, ctx->comm);
        ctx->err.st = (rrr_status)out.st;
    }
    return (rrr_status)out.st;
}

void rrr_allreduce_sum(rrr_ctx *ctx, double *buf, size_t count)
{
    /* 1 Mi doubles (8 MB) per message: measured here, Open MPI's allreduce keeps ~4 GB/s up
     * to 8 MB and drops to ~1.6 GB/s at 128 MB (shared/notes/openblas.md). */
    const size_t chunk = (size_t)1 << 20;
    double t0 = MPI_Wtime();
    for (size_t off = 0; off < count; off += chunk) {
        size_t c = count - off < chunk ? count - off : chunk;
        MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)c, MPI_DOUBLE, MPI_SUM, ctx->comm);
    }
    ctx->t[RRR_T_ALLREDUCE] += MPI_Wtime() - t0;
}

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
