/* src/comm.c: the allreduce every solver uses, agreement on errors, and the stop/failure
 * flags that ride along. */
#include <string.h>

#include "comm.h"
#include "signals.h"

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

rrr_status rrr_same_everywhere(rrr_ctx *ctx, uint64_t hash, const char *what)
{
    uint64_t h[2] = { hash, ~hash }; /* the max of h and of ~h: the largest and the smallest */
    MPI_Allreduce(MPI_IN_PLACE, h, 2, MPI_UINT64_T, MPI_MAX, ctx->comm);
    if (h[0] == ~h[1])
        return RRR_OK;
    return RRR_FAIL(&ctx->err, RRR_EINVAL, "the ranks passed different %s: every rank must "
                    "pass the same", what);
}

void rrr_allreduce_sum(rrr_ctx *ctx, double *buf, size_t count)
{
    /* 1 Mi doubles (8 MB) per message: measured here, Open MPI's allreduce keeps ~4 GB/s up
     * to 8 MB and drops to ~1.6 GB/s at 128 MB. */
    const size_t chunk = (size_t)1 << 20;
    double t0 = rrr_phase_begin();
    for (size_t off = 0; off < count; off += chunk) {
        size_t c = count - off < chunk ? count - off : chunk;
        MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)c, MPI_DOUBLE, MPI_SUM, ctx->comm);
    }
    rrr_phase_end(ctx, RRR_T_ALLREDUCE, t0);
}

void rrr_flags_put(double *slot, rrr_status local_st)
{
    slot[RRR_FLAG_STOP] = rrr_stop_requested ? 1.0 : 0.0;
    slot[RRR_FLAG_FAIL] = local_st != RRR_OK ? 1.0 : 0.0;
}

rrr_flags rrr_flags_get(const double *slot)
{
    return (rrr_flags){ slot[RRR_FLAG_STOP] > 0, slot[RRR_FLAG_FAIL] > 0 };
}

rrr_flags rrr_flags_agree(rrr_ctx *ctx, rrr_status local_st)
{
    double slot[RRR_FLAG_SLOTS];
    rrr_flags_put(slot, local_st);
    rrr_allreduce_sum(ctx, slot, RRR_FLAG_SLOTS);
    return rrr_flags_get(slot);
}

void rrr_allreduce_upper(rrr_ctx *ctx, double *buf, size_t p, size_t count)
{
    const size_t npk = p * (p + 1) / 2, rest = count - p * p;
    if (p * (p - 1) / 2 <= 2 * rest) {
        rrr_allreduce_sum(ctx, buf, count);
        return;
    }
    for (size_t j = 0; j < p; j++) /* destination never passes a source not yet moved */
        memmove(buf + j * (j + 1) / 2, buf + j * p, (j + 1) * sizeof(double));
    memmove(buf + npk, buf + p * p, rest * sizeof(double));
    rrr_allreduce_sum(ctx, buf, npk + rest);
    memmove(buf + p * p, buf + npk, rest * sizeof(double));
    for (size_t j = p; j-- > 0;)
        memmove(buf + j * p, buf + j * (j + 1) / 2, (j + 1) * sizeof(double));
}
